"""Wavecom `#FTPGET` / `#FTPPUT` (MT Chapter 4, GP §3): one automatic FTP session per command,
"similar to a GET operation (with an automatic connect/disconnect) issued by a standard FTP
client", driven by the FTP parameter registers, over `Net`.

The client logs in, sets the type, changes to the path, opens the data connection (passive
`PASV` for FTPMODE=1, active `PORT` on a loopback listener for FTPMODE=0), then RETR/STOR.
"""

import re

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.wavecom.dle import ETX_BYTE
from mktools.sim.wavecom.port import stack
from mktools.sim.wavecom.session import DataSession, resolve
from mktools.sim.wavecom.tables import GP, GP_BAD_FTPSERV

REPLY_MAX = 8192            # control-connection bytes kept while a reply is incomplete
AFTER_ETX_MAX = 4096        # host bytes held between the upload's ETX and its final result
PASV_RE = re.compile(r'(\d+),(\d+),(\d+),(\d+),(\d+),(\d+)')


class _DataEvents:
    """Routes the data connection's (or active-mode listener's) events to the session."""

    def __init__(self, session):
        self.session = session

    def on_connect(self, conn):
        self.session.data_connected(conn)

    def on_error(self, conn, why):
        self.session.abort(38016)

    def on_accept(self, listener, conn):
        listener.close()
        self.session.data_connected(conn)

    def on_data(self, conn, data):
        self.session.data_received(data)

    def on_close(self, conn, reset):
        self.session.data_closed(reset)


class FtpSession(DataSession):
    """One `#FTPGET` (download, DLE-encoded to the host) or `#FTPPUT` (upload, DLE-decoded)."""

    def __init__(self, modem, upload):
        super().__init__(modem)
        self.upload = upload
        self.name = 'ftpput' if upload else 'ftpget'
        p = modem.param
        self.user, self.password = p('FTPUN'), p('FTPPW')
        self.path, self.type = p('FTPPUTPATH' if upload else 'FTPGETPATH'), p('FTPTYPE')
        self.filename = p('FTPPUTFILENAME' if upload else 'FTPGETFILENAME')
        self.passive = p('FTPMODE') == 1
        self.ctrl = None
        self.data = None
        self.listener = None
        self.ready = False          # the data-mode banner went out
        self.etx_seen = False       # upload: the host's ETX (end of file) arrived
        self.data_eof = False
        self.transfer_done = False  # the 226 completion reply
        self._replies = bytearray()
        self._multiline = None
        self._after_etx = bytearray()
        self._expect = None

    # -- control connection -----------------------------------------------------------------

    def start(self, ip, port):
        self._expect = self._on_greeting
        self.ctrl = self.modem.net.tcp_connect(ip, port, self)

    def on_connect(self, conn):
        self.modem.log('ftp_connected', remote=conn.remote)

    def on_error(self, conn, why):
        self.abort(38016)

    def on_close(self, conn, reset):
        if not self.closed:
            self.modem.log('ftp_control_lost', reset=reset)
            self.abort(37966 if not reset else 37952)

    def on_data(self, conn, data):
        self._replies += data
        if len(self._replies) > REPLY_MAX:
            self.abort(38016)
            return
        while b'\n' in self._replies and not self.closed:
            raw, _, rest = bytes(self._replies).partition(b'\n')
            self._replies = bytearray(rest)
            self._reply_line(raw.decode('latin-1').rstrip('\r'))

    def _reply_line(self, text):
        code = text[:3]
        if self._multiline is not None:
            if text.startswith(self._multiline + ' '):
                self._multiline = None
                self._handle(int(code), text[4:])
            return
        if len(text) > 3 and text[3] == '-' and code.isdigit():
            self._multiline = code
            return
        if code.isdigit():
            self._handle(int(code), text[4:])

    def _handle(self, code, text):
        if 100 <= code < 200 and self._expect != self._on_transfer_start:
            return
        step, self._expect = self._expect, None
        if step is not None:
            step(code, text)

    def _command(self, line, expect):
        self._expect = expect
        self.ctrl.send(f'{line}\r\n'.encode('latin-1'))

    # -- the dialogue -----------------------------------------------------------------------

    def _on_greeting(self, code, text):
        if code != 220:
            return self.abort(38016)
        self._command(f'USER {self.user}', self._on_user)

    def _on_user(self, code, text):
        if code == 230:
            return self._set_type()
        if code != 331:
            return self.abort(38080)
        self._command(f'PASS {self.password}', self._on_pass)

    def _on_pass(self, code, text):
        if code not in (230, 202):
            return self.abort(38081)
        self._set_type()

    def _set_type(self):
        self._command(f'TYPE {self.type}', self._on_type)

    def _on_type(self, code, text):
        if code != 200:
            return self.abort(38016)
        if self.path:
            self._command(f'CWD {self.path}', self._on_cwd)
        else:
            self._open_data()

    def _on_cwd(self, code, text):
        if code // 100 != 2:
            return self.abort(38022)
        self._open_data()

    def _open_data(self):
        if self.passive:
            self._command('PASV', self._on_pasv)
            return
        try:
            self.listener = self.modem.net.tcp_listen(0, _DataEvents(self))
        except NetError:
            return self.abort(38016)
        port = self.listener.port
        # the emulated socket is on loopback whatever the GPRS address: PORT names 127.0.0.1
        self._command(f'PORT 127,0,0,1,{port >> 8},{port & 255}', self._on_port)

    def _on_pasv(self, code, text):
        match = PASV_RE.search(text)
        if code != 227 or not match:
            return self.abort(38016)
        numbers = [int(n) for n in match.groups()]
        ip = '.'.join(map(str, numbers[:4]))
        self.data = self.modem.net.tcp_connect(ip, numbers[4] * 256 + numbers[5],
                                               _DataEvents(self))
        self._transfer_command()

    def _on_port(self, code, text):
        if code != 200:
            return self.abort(38016)
        self._transfer_command()

    def _transfer_command(self):
        verb = 'STOR' if self.upload else 'RETR'
        self._command(f'{verb} {self.filename}', self._on_transfer_start)

    def _on_transfer_start(self, code, text):
        if code // 100 != 1:
            return self.abort(38017 if self.upload else 38024)
        self._expect = self._on_transfer_end
        self.ready = True
        banner = self.modem.variant.ftpput_banner if self.upload else 'DataBegin'
        self.modem.enter_data_mode(self, banner)

    def _on_transfer_end(self, code, text):
        if code // 100 != 2:
            return self.abort(38017 if self.upload else 38024)
        self.transfer_done = True
        self._maybe_done()

    # -- data connection --------------------------------------------------------------------

    def data_connected(self, conn):
        self.data = conn
        conn.events = _DataEvents(self)
        if self.upload:
            self.flush_tx()

    def data_received(self, data):
        if not self.upload:
            self.deliver(data)

    def data_closed(self, reset):
        if reset:
            return self.abort(38017 if self.upload else 38024)
        self.data_eof = True
        self.data = None
        self._maybe_done()

    def pause_source(self):
        if self.data is not None:
            self.data.pause()

    def resume_source(self):
        if self.data is not None:
            self.data.resume()

    def transmit(self, frame):
        if self.data is None or not self.data.connected:
            return 0
        if self.type == 'A':
            # MT #FTPTYPE: "all the data sent ... to the FTP server is made of 7 bits characters"
            frame = bytes(b & 0x7F for b in frame)
        return self.data.send(frame)

    def from_host(self, data):
        if not self.upload:
            # MT App. B FTPGET: "It's not possible for host to exit DATA mode"
            self.modem.log('ftpget_input_ignored', size=len(data))
            return None
        if self.etx_seen:
            self._hold_after_etx(data)
            return None
        payload, ended, rest = self.decode(data)
        self.queue_tx(payload, 0)
        if ended:
            # MT App. A: the end-of-data ETX "is echoed"
            self.etx_seen = True
            self.modem.send(ETX_BYTE)
            self._hold_after_etx(rest)
            self._finish_upload()
        return None

    def _hold_after_etx(self, data):
        room = AFTER_ETX_MAX - len(self._after_etx)
        self._after_etx += data[:room]
        if len(data) > room:
            self.modem.log('input_overflow', lost=len(data) - room)

    def _finish_upload(self):
        if self.closed:
            return
        if self.tx_pending() or self.data is None:
            self.flush_tx()
            self.modem.later(0.01, self._finish_upload)
            return
        self.data.close()
        self.data = None
        self.data_eof = True
        self._maybe_done()

    # -- ending -----------------------------------------------------------------------------

    def _maybe_done(self):
        if not (self.data_eof and self.transfer_done) or self.closed:
            return
        if self.upload and not self.etx_seen:
            return
        self.ctrl.send(b'QUIT\r\n')
        self.close_network()
        # download: the closing ETX then OK; upload: the ETX was the host's echo
        self._end('OK', b'' if self.upload else ETX_BYTE)

    def abort(self, code):
        """An error: before the banner it is the command's result; after it, the data mode
        ends with (ETX +) #CME ERROR (MT #FTPGET/#FTPPUT: "preceded by an ETX character")."""
        if self.closed:
            return
        self.modem.log('ftp_error', code=code, session=self.name)
        self.close_network()
        if not self.ready:
            self.closed = True
            self.modem.ftp = None
            self.modem.finish(self.modem.error(code))
            return
        self._end(self.modem.error(code), b'' if self.etx_seen else ETX_BYTE)

    def _end(self, final, lead):
        held, self._after_etx = bytes(self._after_etx), bytearray()
        self.leave(final, lead)
        if held:
            self.modem.receive(held)

    def close_network(self, reset=False):
        for item in (self.data, self.listener, self.ctrl):
            if item is not None:
                (item.abort if reset else item.close)()
        self.data = self.listener = None
        self.stop_timers()
        if self.modem.ftp is self:
            self.modem.ftp = None



class FtpCommands:
    """Mixin of `WavecomModem`: `#FTPGET` and `#FTPPUT`."""

    COMMANDS = {'#FTPGET': 'at_ftpget', '#FTPPUT': 'at_ftpput'}

    @stack()
    def at_ftpget(self, op, args):
        return self._ftp(op, upload=False)

    @stack()
    def at_ftpput(self, op, args):
        return self._ftp(op, upload=True)

    def _ftp(self, op, upload):
        if op != 'exec':
            return self.syntax_error()
        refusal = self.refuse_exclusive()
        if refusal:
            return refusal
        ip, code = resolve(self.net, self.param('FTPSERV'))
        if code == 38027 and self.variant.name == GP:
            # GP §8 "AT#FTPSERV": an invalid server name aborts with #CME ERROR: 0 and two
            # ErrorHandler_ip lines
            self._after_line(self._gp_error_handler_lines)
            return GP_BAD_FTPSERV[0]
        if code:
            return self.error(code)
        self.ftp = FtpSession(self, upload)
        self.ftp.start(ip, self.param('FTPPORT'))
        return PENDING

    def _gp_error_handler_lines(self):
        for text in GP_BAD_FTPSERV[1:]:
            self.value_line(text)
