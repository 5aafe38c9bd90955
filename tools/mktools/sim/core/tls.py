"""TLS on an emulated module's connection: what Telit's `<ssl_enable>` (#HTTPCFG, §10.1) and
`<sslEn>` (#MQCFG, §13.2.1) switch on, as real TLS to the local server.

`TlsConn` wraps a `Net` TcpConn with `ssl.SSLObject` over memory BIOs, which suits the
single-threaded loop (no blocking handshake), and offers the TcpConn calls the service clients
use (`send`, `close`, `abort`, `pause`, `resume`, `buffered`, `connected`, `closed`); events
reach the client as from a TcpConn, `on_connect` once the handshake is done.  The module's trust
store is config `tls_ca` (a PEM file of CA certificates; the system's CAs without it) and the
server's name is checked against its certificate.  A certificate that does not verify ends the
connection before any byte of the request leaves: `on_error(conn, 'tls')`.  The seed says
nothing of the TLS versions, ciphers or certificate storage commands of the modules [NOT IN SEED].
"""

import ssl

OUT_MAX = 64 * 1024             # plaintext accepted while ciphertext waits for the connection
RETRY_S = 0.005
READ = 16384


def context(config):
    """The module's client context for its config (`tls_ca`)."""
    ca = config.get('tls_ca')
    return ssl.create_default_context(cafile=ca) if ca else ssl.create_default_context()


def tcp_connect(net, host, port, events, ctx):
    """`Net.tcp_connect`, with TLS on top."""
    return TlsConn(net, host, port, events, ctx)


class TlsConn:
    def __init__(self, net, host, port, events, ctx):
        self.net = net
        self.events = events
        self.connected = False
        self.closed = False
        self._in = ssl.MemoryBIO()
        self._out = ssl.MemoryBIO()
        self._obj = ctx.wrap_bio(self._in, self._out, server_hostname=host)
        self._pending = bytearray()
        self._retry = None
        self.tcp = net.tcp_connect(host, port, self)
        self.remote = self.tcp.remote

    # -- the client's calls -----------------------------------------------------------------

    def send(self, data):
        if not self.connected or self.closed:
            return 0
        data = bytes(data[:max(0, OUT_MAX - self.buffered())])
        if data:
            self._obj.write(data)
            self._flush()
        return len(data)

    def buffered(self):
        return len(self._pending) + self._out.pending + self.tcp.buffered()

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self._obj.unwrap()
        except ssl.SSLError:
            pass                         # the peer's close_notify is not awaited
        self._flush()
        self.tcp.close()

    def abort(self):
        self.closed = True
        self._stop()
        self.tcp.abort()

    def pause(self):
        self.tcp.pause()

    def resume(self):
        self.tcp.resume()

    # -- TcpConn events ---------------------------------------------------------------------

    def on_connect(self, tcp):
        self._handshake()

    def on_error(self, tcp, why):
        self._emit('on_error', why)

    def on_close(self, tcp, reset):
        self._stop()
        if not self.closed:
            self.closed = True
            self._emit('on_close', reset)

    def on_data(self, tcp, data):
        self._in.write(bytes(data))
        if not self.connected:
            self._handshake()
        while self.connected and not self.closed:
            try:
                plain = self._obj.read(READ)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError as e:
                self.net.log('tls_error', why=str(e))
                break
            if not plain:
                break                    # close_notify: the TCP close follows
            self._emit('on_data', plain)
        self._flush()

    # -- internals --------------------------------------------------------------------------

    def _handshake(self):
        try:
            self._obj.do_handshake()
        except ssl.SSLWantReadError:
            self._flush()
            return
        except (ssl.SSLError, ssl.CertificateError) as e:
            self.net.log('tls_refused', remote=self.remote, why=str(e))
            self._flush()
            self.closed = True
            self._stop()
            self.tcp.abort()
            self._emit('on_error', 'tls')
            return
        self.connected = True
        self._flush()
        self._emit('on_connect')

    def _flush(self):
        self._retry = None
        self._pending += self._out.read()
        if self._pending and not self.tcp.closed:
            del self._pending[:self.tcp.send(self._pending)]
        if self._pending and not self.tcp.closed:
            self._retry = self.net.loop.call_later(RETRY_S, self._flush)

    def _stop(self):
        if self._retry is not None:
            self._retry.cancel()
            self._retry = None

    def _emit(self, name, *args):
        fn = getattr(self.events, name, None)
        if fn is not None:
            fn(self, *args)
