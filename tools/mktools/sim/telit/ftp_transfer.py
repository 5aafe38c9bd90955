"""The data connections of Telit native FTP (T-IPE §12.6-§12.11): the module's session
state, uploads with their flow control, downloads to the serial line at its pace, and the online
mode of `#FTPPUT`/`#FTPGET`.  A mixin of `TelitModem` under `FtpCommands`.
"""

from mktools.sim.core.modem import PENDING

PUMP_CHUNK = 4096
WIRE_AHEAD_S = 0.05
RETRY_S = 0.01
FAILED = 'generic undocumented error'   # a refusal the seed gives no text for (X.1 550)


class FtpSession:
    """The module's FTP session: control connection, transfer type, and the running transfer."""

    def __init__(self, control, cid):
        self.control = control
        self.cid = cid
        self.type = 0               # 0 binary, 1 ASCII (§12.5)
        self.rest = 0
        self.transfer = None        # 'put', 'get' or 'getpkt' while a data connection runs
        self.data = None            # the data TcpConn
        self.out = bytearray()      # upload bytes Net has not accepted yet
        self.rx = bytearray()       # downloaded bytes not yet given to the DTE
        self.eof = False
        self.closing = False        # close the data connection once `out` is flushed
        self.filename = ''
        self.view = 0
        self.owner = None
        self.online = False         # an #FTPPUT/#FTPGET holds its port in online mode
        self.on_final = None        # called with the transfer's final reply (#FTPAPPEXT eof)
        self.timer = None
        self.pump = None


class FtpTransfers:
    """Starting transfers and moving their bytes."""

    def _start(self, ftp, kind, command, online, view=0, filename=''):
        """Open the data connection for `command`; the final result comes when it is open."""
        ftp.transfer, ftp.owner, ftp.view, ftp.filename = kind, self, view, filename
        ftp.rx, ftp.out, ftp.eof, ftp.closing = bytearray(), bytearray(), False, False
        rest, ftp.rest = (ftp.rest, 0) if kind != 'put' else (0, 0)

        def opened(error, conn):
            if error is not None:
                self.log('ftp_transfer_failed', command=command, why=error)
                ftp.transfer = None
                return self.finish(self.cme('FTP communication timeout' if error == 'timeout'
                                            else FAILED))
            ftp.data = conn
            if not online:
                return self.finish('OK')
            ftp.online = True
            self.go_online(lambda data: self._upload(ftp, data) if kind == 'put' else None,
                           lambda: self._ftp_escape(ftp))
            self.finish('CONNECT')
            self.ftp_pump(ftp)

        ftp.control.transfer(command, rest, FtpSink(self, ftp), opened,
                             lambda reply: self._transfer_done(ftp, reply))
        return PENDING

    def _transfer_done(self, ftp, reply):
        """The final reply of a transfer (226...); downloads end with their data instead."""
        self.log('ftp_transfer_done', kind=ftp.transfer, reply=reply.text if reply else None)
        if ftp.transfer != 'put':
            return
        ftp.transfer = ftp.data = None
        on_final, ftp.on_final = ftp.on_final, None
        if on_final is not None:
            on_final(reply)

    # -- data movement ----------------------------------------------------------------------

    def _upload(self, ftp, data):
        if len(ftp.out) + len(data) > self.config['rx_buffer']:
            self.log('ftp_upload_overflow', lost=len(data))
            return
        ftp.out += data
        self._flush_upload(ftp)

    def _flush_upload(self, ftp):
        if ftp.timer is not None:
            ftp.timer.cancel()
            ftp.timer = None
        if ftp.data is None:
            return
        if ftp.out:
            del ftp.out[:ftp.data.send(ftp.out)]
        if ftp.out:
            ftp.timer = self.later(RETRY_S, self._flush_upload, ftp)
        elif ftp.closing:
            ftp.closing = False
            ftp.data.close()

    def _ftp_escape(self, ftp):
        """`+++` on #FTPPUT closes the data connection (§12.8.1, GT-19): NO CARRIER.  On
        #FTPGET it abandons the download the same way."""
        ftp.online = False
        if ftp.transfer == 'put':
            ftp.closing = True
            self._flush_upload(ftp)
        else:
            ftp.transfer = None
            if ftp.data is not None:
                ftp.data.close()
        return 'NO CARRIER'

    def ftp_end_online(self, ftp):
        if not ftp.online:
            return
        if ftp.owner.mode != 'online':          # CONNECT still on its way
            ftp.owner.later(RETRY_S, self.ftp_end_online, ftp)
            return
        ftp.online = False
        ftp.owner.go_command('NO CARRIER')

    def ftp_pump(self, ftp):
        """#FTPGET: file bytes to the DTE at the serial line's pace; NO CARRIER at the end."""
        if ftp.pump is not None:
            ftp.pump.cancel()
            ftp.pump = None
        owner = ftp.owner
        if ftp.transfer != 'get' or not ftp.online:
            return
        if owner.mode != 'online':
            ftp.pump = owner.later(RETRY_S, self.ftp_pump, ftp)
            return
        backlog = owner.wire.backlog_s if owner.wire is not None else (lambda: 0.0)
        while ftp.rx and backlog() < WIRE_AHEAD_S and not owner.dte_stopped():
            chunk = bytes(ftp.rx[:PUMP_CHUNK])
            del ftp.rx[:PUMP_CHUNK]
            owner.to_dte(chunk)
        if ftp.data is not None and ftp.data.paused and len(ftp.rx) < self.config['rx_buffer']:
            ftp.data.resume()
        if ftp.rx:
            ftp.pump = owner.later(max(RETRY_S, backlog() - WIRE_AHEAD_S), self.ftp_pump, ftp)
        elif ftp.eof:
            ftp.transfer = None
            self.ftp_end_online(ftp)           # §12.9.1: closed when the download ends


class FtpSink:
    """Receives the data connection's bytes and its end for a transfer."""

    def __init__(self, modem, ftp):
        self.modem = modem
        self.ftp = ftp

    def on_data(self, data):
        ftp = self.ftp
        if ftp.transfer not in ('get', 'getpkt'):
            return
        ftp.rx += data
        if len(ftp.rx) >= self.modem.config['rx_buffer'] and ftp.data is not None:
            ftp.data.pause()
        if ftp.transfer == 'get':
            self.modem.ftp_pump(ftp)

    def on_eof(self):
        ftp = self.ftp
        ftp.eof = True
        if ftp.transfer == 'get':
            self.modem.ftp_pump(ftp)
        elif ftp.transfer == 'put':
            self.modem.ftp_end_online(ftp)    # the server closed the upload
