"""Multi-Tech mail (MT Chapter 3, App. A "Sending/Retrieving Email", App. B "Command Mode / Data
Mode for Email"; digest C.3, C.4.6): `#PUTMAIL`, `#SENDMAIL1/2/3` (SMTP) and `#GETMAIL` (POP3),
driven by the mail parameter registers, over `core.mailnet`.  GenPro has none (digest C.1).

What the seed says, and what it leaves open (the emulator's choice is named each time):

- `#PUTMAIL`: the SMTP session is opened first ("An SMTP session has been successfully opened"),
  then `OK_Info_WaitingForData`; every host byte goes into the body, not echoed, until
  `<CR><LF>.<CR><LF>`, which is echoed; then `OK`, or `#CME ERROR: <value>` "not preceded by the
  [CR][LF].[CR][LF] sequence".  The module builds the header from SENDERNAME/SENDERADDR, REC1,
  CCREC1 and SUBJ1; the body bytes go into SMTP DATA as they come, and the host's terminator is
  SMTP's: so a body line that starts with '.' must come dot-stuffed from the host (RFC 5321
  s4.5.2) [INFERRED: the manual states only the terminator].  The start of the body counts as
  the start of a line.  The 50 s serial inactivity abort is not emulated.
- `#SENDMAILi`: REC/CCREC/SUBJ/BODY i; empty RECi, SENDERADDR or DOMAIN give "an associated
  error code": 38029, 38028, 38016 [INFERRED].
- `#GETMAIL`: `OK_Info_Mail`, the first message of the mailbox as the server's RETR answer
  carries it (still dot-stuffed, ending with its own `<CR><LF>.<CR><LF>`) [INFERRED: the manual
  shows "Data Data ." and the terminator], then `OK`; the message is then deleted (DELE).
  `OK_Info_NoMail` when the box is empty.  POP3HEADERMODE 0 leaves out the header (up to the
  first empty line).  An error during the transfer is "preceded by a (CR)(LF)(.)(CR)(LF)".
- Error codes (MT Chapter 9): DNS 38027; no connection 38016; login 38080 (user) / 38081;
  sender 38028, recipient 38029, CC 38030, body 38031; retrieve 38025; no SMTP answer for
  3 minutes 37964 (MT App. A).
- SMTP authentication: "If both this parameter and the SMTPUN parameter are not empty, the
  authentication mode is active": AUTH PLAIN [INFERRED: the method is not named].
"""

from mktools.sim.core import mailnet
from mktools.sim.core.modem import PENDING
from mktools.sim.wavecom.session import DataSession, resolve

TERM = b'\r\n.\r\n'
SMTP_TIMEOUT_S = 180            # MT App. A: "no answer from the SMTP server after 3 minutes"
POP3_TIMEOUT_S = 180
SMTP_CODES = {mailnet.DNS: 38027, mailnet.CONNECT: 38016, mailnet.LOST: 37966,
              mailnet.TIMEOUT: 37964, mailnet.AUTH: 38081, mailnet.SENDER: 38028,
              mailnet.RECIPIENT: 38029, mailnet.DATA: 38031, mailnet.BODY: 38031}
POP3_CODES = {mailnet.DNS: 38027, mailnet.CONNECT: 38016, mailnet.LOGIN: 38081,
              mailnet.RETRIEVE: 38025, mailnet.LOST: 38025, mailnet.TIMEOUT: 38025}


def _header(p, i):
    """The header the module writes (MT #SENDERNAME, #SENDERADDR, #RECi, #CCRECi, #SUBJi)."""
    name = p('SENDERNAME')
    sender = f'"{name}" <{p("SENDERADDR")}>' if name else f'<{p("SENDERADDR")}>'
    lines = [f'From: {sender}', f'To: {p(f"REC{i}")}']
    if p(f'CCREC{i}'):
        lines.append(f'Cc: {p(f"CCREC{i}")}')
    lines += [f'Subject: {p(f"SUBJ{i}")}', '', '']
    return '\r\n'.join(lines).encode('latin-1')


def _recipients(p, i):
    rcpts = [a.strip() for a in p(f'REC{i}').replace(';', ',').split(',') if a.strip()]
    cc = p(f'CCREC{i}').strip()
    return rcpts + ([cc] if cc else []), len(rcpts)


class PutMail(DataSession):
    """`#PUTMAIL` (data mode, body from the host) or `#SENDMAILi` (`body` given)."""

    escaped = False

    def __init__(self, modem, slot, body=None):
        super().__init__(modem)
        self.name = 'putmail' if body is None else f'sendmail{slot}'
        self.slot = slot
        self.body = body
        self.tail = b'\r\n'          # the body starts a line
        self.ended = False           # the host's terminator came
        self.rcpts = []
        self.n_to = 0
        self.smtp = mailnet.SmtpSend(modem.loop, modem.net, modem.log, SMTP_TIMEOUT_S,
                                     self._done)

    def start(self, ip):
        p = self.modem.param
        self.rcpts, self.n_to = _recipients(p, self.slot)
        user, password = p('SMTPUN'), p('SMTPPW')
        self.smtp.start(ip, p('SMTPPORT'), p('DOMAIN') or 'localhost', user, password,
                        p('SENDERADDR'), self.rcpts, self._ready)

    def _ready(self):
        head = _header(self.modem.param, self.slot)
        if self.body is not None:
            self.smtp.send_all(head + mailnet.dot_stuff(self.body.encode('latin-1')))
            return
        self.modem.enter_data_mode(self, 'WaitingForData')
        self.queue_tx(head, 0)

    def from_host(self, data):
        if self.ended:
            self.modem.log('putmail_input_ignored', size=len(data))
            return None
        seen = self.tail + bytes(data)
        end = seen.find(TERM)
        if end < 0:
            self.tail = seen[-4:]
            self.queue_tx(bytes(data), 0)
            return None
        cut = end + len(TERM) - len(self.tail)
        self.queue_tx(bytes(data[:cut]), 0)
        self.ended = True
        self.modem.send(TERM)        # MT App. A: "The <CR><LF>.<CR><LF> sequence ... is echoed"
        if len(data) > cut:
            self.modem.log('putmail_input_ignored', size=len(data) - cut)
        self._flush_end()
        return None

    def _flush_end(self):
        if self.closed:
            return
        if self.tx_pending():
            self.flush_tx()
            self.modem.later(0.01, self._flush_end)
            return
        self.smtp.end_data()

    def transmit(self, frame):
        return self.smtp.push(frame)

    def _done(self, why):
        if self.closed:
            return
        self.modem.mail = None
        if why is None:
            final = 'OK'
        else:
            code = SMTP_CODES.get(why, 38016)
            if why == mailnet.RECIPIENT and self.smtp.failed_rcpt >= self.n_to:
                code = 38030
            final = self.modem.error(code)
        if self.body is not None:
            self.closed = True
            self.modem.finish(final)
        elif not self.started and not self.banner_due:
            self.closed = True
            self.modem.finish(final)
        else:
            self.leave(final)

    def close_network(self, reset=False):
        self.stop_timers()
        if not self.smtp.finished:
            self.smtp.fail(mailnet.LOST)


class GetMail(DataSession):
    """`#GETMAIL`: the first message of the POP3 box to the host, then deleted."""

    name = 'getmail'
    escaped = False

    def __init__(self, modem):
        super().__init__(modem)
        self.skip_header = modem.param('POP3HEADERMODE') == 0
        self.tail = b''
        self.delivered_end = False
        self.pop = mailnet.Pop3Fetch(modem.loop, modem.net, modem.log, POP3_TIMEOUT_S,
                                     self._done)

    def start(self, ip):
        p = self.modem.param
        self.pop.start(ip, p('POP3PORT'), p('POP3UN'), p('POP3PW'), self._started, self._data)

    def _started(self):
        self.modem.enter_data_mode(self, 'Mail')

    def _data(self, data):
        if self.skip_header:
            seen = self.tail + data
            end = seen.find(b'\r\n\r\n')
            if end < 0:
                self.tail = seen[-3:]
                if not seen.endswith(b'\r\n.\r\n'):
                    return
                data = b'.\r\n'             # a message that is all header
            else:
                data = seen[end + 4:]
            self.skip_header = False
        if data.endswith(TERM) or data == b'.\r\n':
            self.delivered_end = True
        self.deliver(data)

    def pause_source(self):
        self.pop.pause()

    def resume_source(self):
        self.pop.resume()

    def from_host(self, data):
        # MT App. B: "It's not possible for host to exit DATA mode"
        self.modem.log('getmail_input_ignored', size=len(data))
        return None

    def transmit(self, frame):
        return 0

    def _done(self, why):
        if self.closed:
            return
        self.modem.mail = None
        if why == mailnet.Pop3Fetch.NOMAIL:
            self.closed = True
            return self.modem.finish(self.modem.info('NoMail'))
        final = 'OK' if why is None else self.modem.error(POP3_CODES.get(why, 38025))
        if not self.started and not self.banner_due:
            self.closed = True
            return self.modem.finish(final)
        self.leave(final, b'' if self.delivered_end else TERM)

    def close_network(self, reset=False):
        self.stop_timers()
        if not self.pop.finished:
            self.pop.fail(mailnet.LOST)


class MailCommands:
    """Mixin of `WavecomModem`: the mail commands (MT only, see `modem.MAIL_COMMANDS`)."""

    def mail_command(self, name):
        if self.mail is not None or self.exclusive_busy():
            return self.error(37122)
        if name == '#GETMAIL':
            server, port_key = self.param('POP3SERV'), 'POP3SERV'
        else:
            server, port_key = self.param('SMTPSERV'), 'SMTPSERV'
        ip, code = resolve(self.net, server)
        if code:
            return self.error(code)
        if name == '#GETMAIL':
            session = GetMail(self)
        elif name == '#PUTMAIL':
            session = PutMail(self, 1)
        else:
            slot = int(name[-1])
            for key, code in ((f'REC{slot}', 38029), ('SENDERADDR', 38028), ('DOMAIN', 38016)):
                if not self.param(key):
                    return self.error(code)
            session = PutMail(self, slot, self.param(f'BODY{slot}'))
        self.mail = session
        self.log('mail_start', command=name, server=port_key)
        session.start(ip)
        return PENDING

    def drop_mail(self):
        session, self.mail = getattr(self, 'mail', None), None
        if session is not None:
            session.closed = True
            session.close_network(reset=True)
