"""Telit native SMTP commands (T-IPE §11): `#SMTPCFG`, `#ESMTP`, `#EADDR`, `#EUSER`, `#EPASSW`,
`#EMAILD` and `#SMTPCL`.  A mixin of `TelitModem`; the network side is `core.mailnet.SmtpSend`.

What the seed says, and what it leaves open (the emulator's choice is named each time):

- `#SMTPCFG=<ssl_enable>[,<port>[,<mode>[,...]]]` (§11.1-§11.3; examples `AT#SMTPCFG=0,587`,
  `AT#SMTPCFG=1,587,1`).  The parameters are described in the AT reference guides, not here:
  `<port>` is the server's port, default 25, and `<mode>` (0 SMTP, 1 ESMTP) changes nothing the
  emulator shows [EXTERNAL: Telit AT reference guide].  On ID 30/37 the 6th is `<cid>`
  (A.1.1 #14); elsewhere SMTP runs on cid 1 (§11.1, §11.2) or the #PROTOCOLCFG cid (ID 20/25).
  `<ssl_enable>` 1: TLS from the connection's start (`core.tls`, the module's trust store config
  `tls_ca`; a certificate that does not verify: `connection failed`) [INFERRED: implicit TLS,
  the seed does not say which].  The settings are kept with the NVM
  [INFERRED: the seed does not say].
- `#ESMTP`, `#EADDR`, `#EUSER`, `#EPASSW` set the server, the sender's address, the user and the
  password (§11.6.1); with a user and a password the module authenticates (AUTH PLAIN)
  [INFERRED].  Their read forms print `#ESMTP: "<value>"` [INFERRED]; the password never reads
  back.
- `#EMAILD=<da>,<subj>` (§11.4): `>` prompt, the body (its size limit is not in the seed:
  config `smtp_body_max`, 64 KB), Ctrl-Z sends, ESC aborts ("exit without
  writing the message": OK [INFERRED]).  "OK" once the mail is sent, "otherwise an error code":
  `+CME ERROR:` with the texts below [INFERRED: the seed names none].  The module writes the
  header (From, To, Subject) and does the SMTP dot-stuffing itself: the host sends plain text.
- `#SMTPCL=<da>,<subj>,<att>[,<filename>,<encod>]` (§11.5, §11.6.2): the body as for `#EMAILD`,
  then `CONNECT`, the attachment in ONLINE mode, `+++`, `NO CARRIER`.  `<att>` 0 none, 1 text,
  2 binary; `<encod>` 0 7bit, 1 base64 (binary defaults to base64) [EXTERNAL: Telit AT reference
  guide].  The mail goes to the server after the `+++`; the seed reports nothing after the
  `NO CARRIER`, so a server refusing it then is only logged (`mail_failed`).  Not on ID 25/30/37
  (§11.5): ERROR.
- One SMTP session per module across every AT port (§11): another port's command gets
  `Already connected` (the seed's "error message" has no text; FTP's, GT-18).
"""

import base64

from mktools.sim.core import mailnet, tls
from mktools.sim.core.modem import PENDING

BUSY = 'Already connected'
ERRORS = {                      # mailnet failure -> +CME ERROR text (digest A.5 texts)
    mailnet.DNS: 'cannot resolve DN', mailnet.CONNECT: 'connection failed',
    mailnet.TIMEOUT: 'timeout in opening socket', mailnet.LOST: 'remote disconnected or time-out',
}
FAILED = 'generic undocumented error'
NO_SMTPCL = (25, 30, 37)        # §11.5


class SmtpSessionState:
    def __init__(self, owner):
        self.owner = owner
        self.client = None
        self.attachment = bytearray()


class SmtpCommands:
    """The #SMTPCFG / #E... / #EMAILD / #SMTPCL handlers."""

    COMMANDS = {'#SMTPCFG': 'at_smtpcfg', '#ESMTP': 'at_esetting', '#EADDR': 'at_esetting',
                '#EUSER': 'at_esetting', '#EPASSW': 'at_esetting', '#EMAILD': 'at_emaild',
                '#SMTPCL': 'at_smtpcl'}
    SMTP_DEFAULTS = {'smtp_timeout_s': 180, 'smtp_attach_max': 1 << 20, 'smtp_body_max': 64 << 10}
    _E_KEYS = {'#ESMTP': 'server', '#EADDR': 'sender', '#EUSER': 'user', '#EPASSW': 'password'}

    def reset_smtp(self):
        self.module.smtp = None
        self.__dict__.pop('PROMPT_LIMIT', None)

    def drop_smtp(self):
        session, self.module.smtp = getattr(self.module, 'smtp', None), None
        if session is not None and session.client is not None:
            session.client.fail(mailnet.LOST)

    def _smtp_cfg(self):
        if 'smtpcfg' not in self.nvm:
            self.nvm['smtpcfg'] = {'ssl': 0, 'port': 25, 'mode': 0, 'cid': None, 'server': '',
                                   'sender': '', 'user': '', 'password': ''}
        return self.nvm['smtpcfg']

    def at_smtpcfg(self, op, args):
        cfg = self._smtp_cfg()
        if op == 'test':
            self.line('#SMTPCFG: (0,1),(1-65535),(0,1),(0),(0),(0)')
            return 'OK'
        if op == 'read':
            self.line(f'#SMTPCFG: {cfg["ssl"]},{cfg["port"]},{cfg["mode"]},0,0,'
                      f'{cfg["cid"] or 0}')
            return 'OK'
        if op != 'set' or len(args) > 6:
            return 'ERROR'
        ssl = self.arg_int(args, 0, 0, 1)
        port = self.arg_int(args, 1, 1, 65535, default=cfg['port'])
        mode = self.arg_int(args, 2, 0, 1, default=cfg['mode'])
        cid = None
        if self.platform.service_cid_arg:
            cid = self.arg_int(args, 5, 1, self.platform.cids[1], default=None)
        cfg.update(ssl=ssl, port=port, mode=mode, cid=cid)
        return 'OK'

    def at_esetting(self, op, args):
        key = self._E_KEYS[self.command.name]
        cfg = self._smtp_cfg()
        if op == 'test':
            return 'OK'
        if op == 'read':
            if key != 'password':
                self.line(f'{self.command.name}: "{cfg[key]}"')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        cfg[key] = self.arg_str(args, 0, 100)
        return 'OK'

    # -- sending (§11.4, §11.5) -------------------------------------------------------------

    def _smtp_refused(self):
        session = getattr(self.module, 'smtp', None)
        if session is not None:
            return self.cme(BUSY)
        cfg = self._smtp_cfg()
        if not cfg['server']:
            return self.cme('cannot resolve DN')
        cid = self.service_cid('SMTP', cfg['cid'])
        if self.interface_ip(cid) is None:
            return self.context_error(cid)
        return None

    def at_emaild(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        rcpt = self.arg_str(args, 0, 100)
        subject = self.arg_str(args, 1, 100)
        refused = self._smtp_refused()
        if refused:
            return refused
        session = self.module.smtp = SmtpSessionState(self)

        def body(data):
            if data is None:
                self.module.smtp = None
                return 'OK'                  # ESC: no message written
            self._smtp_send(session, rcpt, subject, bytes(data), None)
            return PENDING

        return self._body_prompt(body)

    def _body_prompt(self, on_body):
        # the body's size limit is not in the seed: config 'smtp_body_max' (the prompt's own
        # limit serves the other prompt commands)
        self.PROMPT_LIMIT = self.config.get('smtp_body_max', self.SMTP_DEFAULTS['smtp_body_max'])

        def body(data):
            del self.PROMPT_LIMIT
            return on_body(data)
        return self.prompt(b'> ', body)

    def at_smtpcl(self, op, args):
        if self.platform.platform_id in NO_SMTPCL:
            return 'ERROR'
        if op == 'test':
            return 'OK'
        if op != 'set':
            return 'ERROR'
        rcpt = self.arg_str(args, 0, 100)
        subject = self.arg_str(args, 1, 100)
        att = self.arg_int(args, 2, 0, 2)
        filename = self.arg_str(args, 3, 100, default='attachment')
        encod = self.arg_int(args, 4, 0, 1, default=1 if att == 2 else 0)
        refused = self._smtp_refused()
        if refused:
            return refused
        session = self.module.smtp = SmtpSessionState(self)

        def body(data):
            if data is None:
                self.module.smtp = None
                return 'OK'
            attach = (att, filename, encod) if att else None
            self._smtp_send(session, rcpt, subject, bytes(data), attach)
            return PENDING

        return self._body_prompt(body)

    def _smtp_send(self, session, rcpt, subject, body, attach):
        cfg = self._smtp_cfg()
        timeout = self.config.get('smtp_timeout_s', self.SMTP_DEFAULTS['smtp_timeout_s'])
        client = session.client = mailnet.SmtpSend(self.loop, self.net, self.log, timeout,
                                                   lambda why: self._smtp_done(session, why))
        if cfg['ssl']:
            client.tls_ctx = tls.context(self.config)
        head = (f'From: <{cfg["sender"]}>\r\nTo: <{rcpt}>\r\nSubject: {subject}\r\n'
                'MIME-Version: 1.0\r\n').encode('latin-1')

        def ready():
            if attach is None:
                client.send_all(head + b'Content-Type: text/plain\r\n\r\n' +
                                mailnet.dot_stuff(body))
                return
            # §11.6.2: CONNECT, the attachment in ONLINE mode, +++ ends it
            self.go_online(lambda data: self._smtp_attachment(session, data),
                           lambda: self._smtp_escape(session, head, body, attach))
            self.finish('CONNECT')

        helo = cfg['sender'].rpartition('@')[2] or 'telit'
        client.start(cfg['server'], cfg['port'], helo, cfg['user'], cfg['password'],
                     cfg['sender'], [rcpt], ready)

    def _smtp_attachment(self, session, data):
        limit = self.config.get('smtp_attach_max', self.SMTP_DEFAULTS['smtp_attach_max'])
        if len(session.attachment) + len(data) > limit:
            self.log('smtp_attach_overflow', lost=len(data))
            return
        session.attachment += data

    def _smtp_escape(self, session, head, body, attach):
        att, filename, encod = attach
        data = bytes(session.attachment)
        session.attachment = bytearray()
        if encod:
            data = base64.encodebytes(data)
            cte = 'base64'
        else:
            cte = '7bit'
        ctype = 'application/octet-stream' if att == 2 else 'text/plain'
        message = (head + b'Content-Type: multipart/mixed; boundary="telit-part"\r\n\r\n'
                   b'--telit-part\r\nContent-Type: text/plain\r\n\r\n' + body +
                   f'\r\n--telit-part\r\nContent-Type: {ctype}; name="{filename}"\r\n'
                   f'Content-Disposition: attachment; filename="{filename}"\r\n'
                   f'Content-Transfer-Encoding: {cte}\r\n\r\n'.encode('latin-1') + data +
                   b'\r\n--telit-part--\r\n')
        session.client.send_all(mailnet.dot_stuff(message))
        session.online_done = True
        return 'NO CARRIER'

    def _smtp_done(self, session, why):
        if self.module.smtp is session:
            self.module.smtp = None
        if getattr(session, 'online_done', False):
            return                           # NO CARRIER went out at the +++
        if self.mode == 'online':
            # the server refused the mail before the attachment ended: the connection closes
            self.go_command('NO CARRIER')
            return
        if why is None:
            self.finish('OK')
        else:
            self.finish(self.cme(ERRORS.get(why, FAILED)))
