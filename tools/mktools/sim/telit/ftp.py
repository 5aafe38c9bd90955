"""Telit native FTP commands (T-IPE §12): `#FTPTO`, `#FTPOPEN`, `#FTPCLOSE`, `#FTPTYPE`,
`#FTPPWD`, `#FTPPUT`, `#FTPAPP`, `#FTPAPPEXT`, `#FTPGET`, `#FTPGETPKT`, `#FTPRECV`, `#FTPFSIZE`,
`#FTPREST`.  A mixin of `TelitModem`; the protocol is `ftp_client.FtpControl`.

One FTP session per module (§12: a second `#FTPOPEN`, even from another port, fails with
`Already connected`).  Data connections are always passive, also when `#FTPOPEN` asks for active
mode (the default): an emulator behind `Net` cannot be dialled back by the server.
"""

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.telit.ftp_client import FtpControl
from mktools.sim.telit.ftp_transfer import FAILED, FtpSession, FtpTransfers

FTPTO_DEFAULT = 100             # hundreds of ms [EXTERNAL: AT ref. guide; §12.4 gives none]
APPEXT_MAX = 1500
RECV_MAX = 3000


class FtpCommands(FtpTransfers):
    """The #FTP... command handlers."""

    COMMANDS = {
        '#FTPTO': 'at_ftpto', '#FTPOPEN': 'at_ftpopen', '#FTPCLOSE': 'at_ftpclose',
        '#FTPTYPE': 'at_ftptype', '#FTPPWD': 'at_ftppwd', '#FTPPUT': 'at_ftpput',
        '#FTPAPP': 'at_ftpapp', '#FTPAPPEXT': 'at_ftpappext', '#FTPGET': 'at_ftpget',
        '#FTPGETPKT': 'at_ftpgetpkt', '#FTPRECV': 'at_ftprecv', '#FTPFSIZE': 'at_ftpfsize',
        '#FTPREST': 'at_ftprest',
    }

    def reset_ftp(self):
        self.module.ftp = None
        self.module.ftp_timeout = FTPTO_DEFAULT

    def drop_ftp(self):
        ftp, self.module.ftp = self.module.ftp, None
        if ftp is not None:
            ftp.control.abort()

    def ftp_services_lost(self, cid):
        ftp = self.module.ftp
        if ftp is not None and ftp.cid == cid:
            self.drop_ftp()
            self.ftp_end_online(ftp)

    def _session(self):
        """The open session, or None (the caller answers 'FTP not connected')."""
        ftp = self.module.ftp
        return ftp if ftp is not None and ftp.control.connected else None

    # -- session ----------------------------------------------------------------------------

    def at_ftpto(self, op, args):
        if op == 'test':
            self.line('#FTPTO: (100-5000)')
        elif op == 'read' or (op in ('set', 'exec') and not args):
            self.line(f'#FTPTO: {self.module.ftp_timeout}')
        elif op == 'set':
            self.module.ftp_timeout = self.arg_int(args, 0, 100, 5000)
        else:
            return 'ERROR'
        return 'OK'

    def at_ftpopen(self, op, args):
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        server = self.arg_str(args, 0, 255)
        user = self.arg_str(args, 1, 100)
        password = self.arg_str(args, 2, 100)
        self.arg_int(args, 3, 0, 1, default=0)       # <mode> active/passive: always passive
        explicit = None
        if self.platform.service_cid_arg:
            explicit = self.arg_int(args, 4, 1, self.platform.cids[1], default=None)
        if self.module.ftp is not None:
            return self.cme('Already connected')      # GT-18
        cid = self.service_cid('FTP', explicit)
        if self.interface_ip(cid) is None:
            return self.cme('Cannot resolve name')    # GT-23: no Network Interface
        host, _, port_text = server.strip().partition(':')
        try:
            port = int(port_text) if port_text else 21
            self.net.resolve(host)
        except ValueError:
            return self.cme(50)
        except NetError:
            return self.cme('Cannot resolve name')
        if not self.route_ok(cid):
            return self.cme('Cannot connect control socket')    # GT-23: APN carries no data
        control = FtpControl(self.loop, self.net, self.module.ftp_timeout / 10,
                             on_lost=lambda: self._ftp_lost(control))
        self.module.ftp = FtpSession(control, cid)

        def opened(error):
            if error is None:
                # the session starts in binary (#FTPTYPE: 0); servers default to ASCII
                control.request('TYPE I', lambda reply: self.finish('OK'))
                return
            self.module.ftp = None
            control.abort()
            self.finish(self.cme({'connect': 'Cannot connect control socket',
                                  'timeout': 'FTP communication timeout'}.get(error, FAILED)))

        control.open(host, port, user, password, opened)
        return PENDING

    def _ftp_lost(self, control):
        ftp = self.module.ftp
        if ftp is not None and ftp.control is control:
            self.log('ftp_control_lost')
            self.module.ftp = None

    def at_ftpclose(self, op, args):
        if op != 'exec':
            return 'OK' if op == 'test' else 'ERROR'
        ftp, self.module.ftp = self.module.ftp, None
        if ftp is None:
            return 'OK'
        ftp.control.quit(lambda: self.finish('OK'))
        return PENDING

    def at_ftptype(self, op, args):
        if op == 'test':
            self.line('#FTPTYPE: (0,1)')
            return 'OK'
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')      # §12.5: only after #FTPOPEN
        if op == 'read' or not args or args[0] is None:
            self.line(f'#FTPTYPE: {ftp.type}')
            return 'OK'
        kind = self.arg_int(args, 0, 0, 1)

        def done(reply):
            if reply is None or reply.kind != 2:
                return self.finish(self.cme(FAILED))
            ftp.type = kind
            self.finish('OK')

        ftp.control.request('TYPE A' if kind else 'TYPE I', done)
        return PENDING

    def at_ftppwd(self, op, args):
        if op != 'exec':
            return 'OK' if op == 'test' else 'ERROR'
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')

        def done(reply):
            if reply is None or reply.code != 257:
                return self.finish(self.cme(FAILED))
            self.line(f'#FTPPWD: {reply.text}')        # GT-21: '#FTPPWD: 257 "/"'
            self.finish('OK')

        ftp.control.request('PWD', done)
        return PENDING

    def at_ftpfsize(self, op, args):
        return self._binary_only(op, args, self._fsize)

    def _fsize(self, ftp, args):
        name = self.arg_str(args, 0, 255)

        def done(reply):
            if reply is None or reply.code != 213:
                return self.finish(self.cme(FAILED))
            self.line(f'#FTPFSIZE: {reply.text[4:].strip()}')
            self.finish('OK')

        ftp.control.request('SIZE ' + name, done)
        return PENDING

    def at_ftprest(self, op, args):
        return self._binary_only(op, args, self._rest)

    def _rest(self, ftp, args):
        ftp.rest = self.arg_int(args, 0, 0, 2 ** 31 - 1)
        return 'OK'

    def _binary_only(self, op, args, action):
        # §12.7, §12.10: #FTPFSIZE and #FTPREST need #FTPTYPE=0 first
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')
        if ftp.type != 0:
            return self.cme('operation not allowed')
        return action(ftp, args)

    # -- transfers --------------------------------------------------------------------------

    def _open_for_put(self, op, args, verb):
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        name = self.arg_str(args, 0, 255, default='')
        command_mode = self.arg_int(args, 1, 0, 1, default=0)
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')
        if ftp.transfer is not None:
            return self.cme('wrong state')
        return self._start(ftp, 'put', f'{verb} {name}', online=not command_mode)

    def at_ftpput(self, op, args):
        return self._open_for_put(op, args, 'STOR')

    def at_ftpapp(self, op, args):
        return self._open_for_put(op, args, 'APPE')

    def at_ftpget(self, op, args):
        if op not in ('set', 'exec'):
            return 'OK' if op == 'test' else 'ERROR'
        name = self.arg_str(args, 0, 255, default='')
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')       # §12.9.1
        if ftp.transfer is not None:
            return self.cme('wrong state')
        return self._start(ftp, 'get', 'RETR ' + name, online=True)

    def at_ftpgetpkt(self, op, args):
        ftp = self.module.ftp
        if op == 'read':
            # GT-22: the file name is unquoted; the last read after EOF closes the data port
            if ftp is None or ftp.transfer != 'getpkt':
                self.line('#FTPGETPKT: ,0,0')
                return 'OK'
            self.line(f'#FTPGETPKT: {ftp.filename},{ftp.view},{int(ftp.eof)}')
            if ftp.eof and not ftp.rx:
                ftp.transfer = ftp.data = None
            return 'OK'
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        name = self.arg_str(args, 0, 255)
        view = self.arg_int(args, 1, 0, 1, default=0)
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')       # §12.9.2
        if ftp.transfer is not None:
            return self.cme('wrong state')
        return self._start(ftp, 'getpkt', 'RETR ' + name, online=False, view=view,
                           filename=name)

    def at_ftprecv(self, op, args):
        ftp = self.module.ftp
        if op == 'test':
            self.line(f'#FTPRECV: (1-{RECV_MAX})')
            return 'OK'
        if ftp is None or ftp.transfer != 'getpkt':
            return self.cme('wrong state')
        if op == 'read':
            self.line(f'#FTPRECV: {len(ftp.rx)}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        size = self.arg_int(args, 0, 1, RECV_MAX)
        data = bytes(ftp.rx[:size])
        del ftp.rx[:size]
        if ftp.data is not None and ftp.data.paused and len(ftp.rx) < self.config['rx_buffer']:
            ftp.data.resume()
        self.line(f'#FTPRECV: {len(data)}')
        # GT-22: the bytes follow the count line; #FTPRECV cuts by bytes, not by lines
        self.send(data.hex().upper().encode() if ftp.view else data)
        return 'OK'

    def at_ftpappext(self, op, args):
        if op == 'test':
            self.line(f'#FTPAPPEXT: (1-{APPEXT_MAX}),(0,1)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        size = self.arg_int(args, 0, 1, APPEXT_MAX)
        eof = self.arg_int(args, 1, 0, 1, default=0)
        ftp = self._session()
        if ftp is None:
            return self.cme('FTP not connected')
        if ftp.transfer != 'put' or ftp.data is None or ftp.data.closed:
            # §12.8.2 note: a data connection closed by the server makes #FTPAPPEXT fail
            return self.cme('FTP write data closed')

        def sent(data):
            if ftp.data is None or ftp.data.closed:
                return self.cme('FTP write data closed')
            self._upload(ftp, data)
            if not eof:
                self.line(f'#FTPAPPEXT: {len(data)}')
                return 'OK'
            # <eof>=1: the last chunk; the answer waits for the server's end of transfer
            ftp.on_final = lambda reply: self._appext_final(reply, len(data))
            ftp.closing = True
            self._flush_upload(ftp)
            return PENDING

        return self.prompt(b'> ', sent, size=size, ctrl_z=False, esc_cancels=False)

    def _appext_final(self, reply, count):
        if reply is None or reply.kind != 2:
            self.finish(self.cme('FTP write data closed'))
            return
        self.line(f'#FTPAPPEXT: {count}')
        self.finish('OK')
