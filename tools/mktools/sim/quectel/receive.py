"""Quectel receive path (QL §1.2, §2.2.1, §2.2.2): the bounded receive buffer with TCP
back-pressure, the buffer-mode "recv" URC, direct push, the transparent bridge towards the DTE,
and the "closed" URC / NO CARRIER that follow the data."""

from mktools.sim.quectel.common import BUFFER, CLOSING, PUSH, TRANSPARENT, UDP

PUSH_CHUNK = 1500           # bytes per direct-push URC, the same cap as one AT+QIRD
PUMP_RETRY_S = 0.01         # retry period for push/transparent data held while the port is busy
DATAGRAMS_MAX = 1024        # UDP datagrams queued per socket (besides the byte bound)


class ReceivePath:
    """Mixin of `QuectelModem`: everything a socket receives, on its way to the DTE."""

    def rx_capacity(self):
        return self.options['recv/buffersize'][0]

    def sock_data(self, sock, data):
        """TCP data, or a UDP client's datagram (read as a byte stream)."""
        sock.rx += data
        sock.rx_total += len(data)
        self.update_backpressure(sock)
        self._received(sock, len(data))

    def sock_datagram(self, sock, data, addr):
        if sock.stalled or sock.unread() + len(data) > self.rx_capacity() or \
                len(sock.datagrams) >= DATAGRAMS_MAX:
            # UDP has no back-pressure: a full buffer loses the datagram
            self.log('datagram_dropped', sock=sock.cid, size=len(data), stalled=sock.stalled)
            return
        if sock.service == UDP:
            if addr != (sock.remote_ip, sock.remote_port):
                self.log('datagram_ignored', sock=sock.cid, addr=addr)
                return
            self.sock_data(sock, data)
            return
        sock.datagrams.append((data, addr))
        sock.datagram_bytes += len(data)
        sock.rx_total += len(data)
        self._received(sock, len(data))

    def _received(self, sock, size):
        if sock.access_mode == BUFFER:
            self.notify_recv(sock, size)
        else:
            self.pump(sock)

    def notify_recv(self, sock, size):
        """QL §2.2.2: one `+QIURC: "recv",<id>` until AT+QIRD has drained the buffer; with
        AT+QICFG="recvind",1 it carries the length (QL §3.2.3)."""
        if sock.notified or not sock.unread():
            return
        sock.notified = True
        text = f'+QIURC: "recv",{sock.cid}'
        if self.options['recvind'][0]:
            text += f',{size}'
        self.urc(text)

    def consumed(self, sock, size):
        """`size` unread bytes left the buffer (read, pushed or bridged)."""
        sock.rx_read += size
        if not sock.unread():
            sock.notified = False
        self.update_backpressure(sock)

    def update_backpressure(self, sock):
        """Stop reading a TCP peer while the receive buffer is full or the socket is stalled."""
        conn = sock.conn
        if not sock.is_tcp() or conn is None or conn.closed:
            return
        hold = sock.stalled or sock.unread() >= self.rx_capacity()
        if hold and not conn.paused:
            self.log('rx_paused', sock=sock.cid, unread=sock.unread(), stalled=sock.stalled)
            conn.pause()
        elif not hold and conn.paused:
            conn.resume()

    def pump(self, sock):
        """Move received data to the DTE as the access mode says: direct-push URCs in command
        mode, raw bytes while this socket is online.  Retried while the port is busy."""
        if self.sockets.get(sock.cid) is not sock:
            return
        # while the DTE holds RTS off (it does not read) the data stays in the receive buffer,
        # which then stops the peer (update_backpressure)
        if sock.access_mode == PUSH and self.mode == 'command':
            while sock.unread() and not self.dte_stopped():
                self.urc(self._push_text(sock))
        elif sock.access_mode == TRANSPARENT and self.online_sock is sock and \
                self.mode == 'online' and sock.rx and not self.dte_stopped():
            if self.wire is None or self.wire.in_flight() < self.rx_capacity():
                data = bytes(sock.rx)
                sock.rx.clear()
                self.consumed(sock, len(data))
                self.to_dte(data)
        if sock.end_pending and not sock.unread():
            self._end_now(sock)
        if (sock.unread() or sock.end_pending) and sock.access_mode != BUFFER and \
                sock.pump_timer is None:
            sock.pump_timer = self.later(PUMP_RETRY_S, self._pump_again, sock)

    def _pump_again(self, sock):
        sock.pump_timer = None
        self.pump(sock)

    def _push_text(self, sock):
        """One direct-push URC (QL §2.2.2): header, then <CR><LF> (or "," with viewmode 1) and
        the data; the URC framing adds the <CR><LF> after it."""
        if sock.datagrams:
            data, (ip, port) = sock.datagrams.popleft()
            sock.datagram_bytes -= len(data)
            header = f'+QIURC: "recv",{sock.cid},{len(data)},"{ip}",{port}'
        else:
            data = bytes(sock.rx[:PUSH_CHUNK])
            del sock.rx[:len(data)]
            header = f'+QIURC: "recv",{sock.cid},{len(data)}'
        self.consumed(sock, len(data))
        return header + self.view_separator() + self.format_rx(data).decode('latin-1')

    def sock_lost(self, sock, reset):
        """The peer closed or reset: state 4 until AT+QICLOSE (QL §2.2.1); online, NO CARRIER
        (QL §1.2).  Both come after the data received before the close."""
        sock.state = CLOSING
        self.log('peer_lost', sock=sock.cid, reset=reset)
        if self.online_sock is sock:
            sock.end_pending = 'NO CARRIER'
        elif sock.access_mode == PUSH:
            sock.end_pending = 'closed'
        else:
            self.urc(f'+QIURC: "closed",{sock.cid}')
            return
        self.pump(sock)

    def _end_now(self, sock):
        if sock.end_pending == 'closed':
            sock.end_pending = None
            self.urc(f'+QIURC: "closed",{sock.cid}')
        elif self.mode == 'online':
            sock.end_pending = None
            self.online_sock = None
            self.go_command('NO CARRIER')

    def settle_end(self, sock):
        """A socket that left push/transparent mode for buffer mode: what was held for the
        pump is announced at once, data first."""
        self.notify_recv(sock, sock.unread())
        if sock.end_pending:
            sock.end_pending = None
            self.urc(f'+QIURC: "closed",{sock.cid}')
