"""The data side of a Telit IP Easy socket (T-IPE §6.2.1-§6.4, §8): the module's receive
buffer, SRING reporting in its four modes, sending, and the online-mode pump that hands buffered
data to the serial line no faster than it can carry it.  `TelitSocket` builds on it.
"""

from mktools.sim.core.net import TcpConn

CLOSED, CONNECTING, OPEN, LISTENING, INCOMING = 'closed', 'connecting', 'open', 'listening', \
    'incoming'

# #SLASTCLOSURE <cause> [EXTERNAL: Telit AT Commands Reference Guide; T-IPE §10.4.4 shows only
# 1 = closed by the remote host]
CAUSE_NONE, CAUSE_FIN, CAUSE_RESET, CAUSE_TIMEOUT, CAUSE_NETWORK = 0, 1, 2, 3, 4

SRING_VIEW_MAX = 64         # §8.7.6: at most 64 bytes of data per data-view SRING
TX_MAX = 64 * 1024          # bytes the module holds for the peer on top of Net's send buffer
PUMP_CHUNK = 4096           # bytes handed to the serial line per pump step
WIRE_AHEAD_S = 0.05         # how much serial-line time the pump queues ahead
RETRY_S = 0.01
AUTO_PKT_SIZE = 300         # #SCFG <pktSz> 0: "automatically chosen" [EXTERNAL: AT ref. guide]


class SocketData:
    """Receive buffer, SRING and online data flow of one socket (state lives in TelitSocket)."""

    # -- receiving --------------------------------------------------------------------------

    def _arrived(self, addr, data):
        if self.proto == 'tcp' and self.rx:
            self.rx[-1][1] += data
        else:
            self.rx.append([addr, bytearray(data)])
        self.rx_len += len(data)
        self._idle_restart()
        if self.state == OPEN:
            if self.online:
                self._schedule_pump(0)
            else:
                self._announce()
        self._update_flow()

    def _announce(self):
        """SRING for new data in command mode, per <srMode> (§8.7.3-§8.7.6)."""
        mode = self.ext[0]
        if mode == 0:
            if self.sring_armed:
                self.sring_armed = False
                self.owner.urc(f'SRING: {self.conn_id}')
        elif mode == 1:
            self.owner.urc(f'SRING: {self.conn_id},{self.rx_len}')
        else:
            self._schedule_pump(0)

    def take(self, size):
        """Up to `size` bytes of the first buffered segment: (addr, data, left in segment)."""
        addr, buf = self.rx[0]
        data = bytes(buf[:size])
        del buf[:size]
        if not buf:
            self.rx.popleft()
        self.rx_len -= len(data)
        if not self.rx_len:
            self.sring_armed = True
        self._update_flow()
        return addr, data, len(buf)

    def delivered(self, count):
        """`count` bytes reached the DTE (#SI <received>, GT-11); a drained socket may close."""
        self.received += count
        if not self.rx_len and self.peer_gone is not None and not self.online:
            self.modem.later(0, self._finish, self.peer_gone)

    def _update_flow(self):
        if not isinstance(self.conn, TcpConn):
            return
        if self.stalled or self.rx_len >= self.modem.config['rx_buffer']:
            self.conn.pause()
        elif self.conn.paused:
            self.conn.resume()

    # -- sending ----------------------------------------------------------------------------

    def transmit(self, data):
        """Queue bytes for the peer; False when the module's buffer is full (tx error)."""
        if self.proto == 'udp':
            self.conn.sendto(data, self.remote)
        else:
            if len(self.tx) + len(data) > TX_MAX:
                return False
            self.tx += data
            self._flush()
        self.sent += len(data)
        self._idle_restart()
        return True

    def _flush(self):
        self._timer('flush')
        if self.conn is None or self.stalled or not self.tx:
            return
        del self.tx[:self.conn.send(self.tx)]
        if self.tx:
            self._timer('flush', RETRY_S, self._flush)

    def unacked(self):
        """#SI <ack_waiting>: bytes the peer has not acknowledged yet."""
        if isinstance(self.conn, TcpConn):
            return len(self.tx) + self.conn.unacked()
        return 0

    # -- online mode (§6.2.1, §6.3, §6.4) ---------------------------------------------------

    def enter_online(self):
        """After the handler's CONNECT: DTE bytes go to the peer, buffered data to the DTE."""
        self.online = True
        self.owner.go_online(self.to_peer, self.on_escape)
        self._schedule_pump(0)

    def to_peer(self, data):
        # §6.3: data leaves when <pktSz> bytes are collected or <txTo> (hundreds of ms) passes
        self.online_tx += data
        size = self.cfg[1] or AUTO_PKT_SIZE
        while len(self.online_tx) >= size:
            self._send_online(size)
        if self.online_tx and self.cfg[4]:
            self._timer('txto', self.cfg[4] / 10, self.flush_online)

    def flush_online(self):
        self._timer('txto')
        size = self.cfg[1] or AUTO_PKT_SIZE
        while self.online_tx:
            self._send_online(size)

    def _send_online(self, size):
        chunk = bytes(self.online_tx[:size])
        del self.online_tx[:size]
        if self.state != OPEN or (self.conn is None) or not self.transmit(chunk):
            self.modem.log('online_tx_lost', conn_id=self.conn_id, size=len(chunk))

    def on_escape(self):
        """`+++`: suspend (§6.2.1).  The escape bytes go to the peer too (GT-8), unless
        #SKIPESC=1 (§6.6.3: "its transmission is not enabled")."""
        self.flush_online()
        if not self.owner.skip_escape and self.is_connected():
            self.transmit(b'+++')
        self.online = False
        self._timer('pump')
        if self.rx_len:
            self._announce()
        elif self.peer_gone is not None:
            self.modem.later(0, self._finish, self.peer_gone)
        return 'OK'

    def _wire_backlog(self):
        wire = self.owner.wire
        return wire.backlog_s() if wire is not None else 0.0

    def _schedule_pump(self, delay):
        if 'pump' not in self.timers or delay == 0:
            self._timer('pump', delay, self._pump)

    def _pump(self):
        self.timers.pop('pump', None)
        owner = self.owner
        if self.online:
            if owner.mode != 'online':
                self._schedule_pump(RETRY_S)
                return
            # the DTE's RTS off (it does not read) holds the data here: the buffer fills and
            # the socket stops being read (_update_flow)
            while self.rx_len and self._wire_backlog() < WIRE_AHEAD_S and \
                    not owner.dte_stopped():
                _, data, _ = self.take(PUMP_CHUNK)
                owner.to_dte(data)
                self.received += len(data)
            if self.rx_len:
                self._schedule_pump(max(RETRY_S, self._wire_backlog() - WIRE_AHEAD_S))
            elif self.peer_gone is not None:
                self._finish(self.peer_gone)
        elif self.rx_len and self.state == OPEN and self.ext[0] >= 2:
            if owner.mode != 'command' or self._wire_backlog() >= WIRE_AHEAD_S or \
                    owner.dte_stopped():
                self._schedule_pump(RETRY_S)
                return
            owner.urc(self._data_view())
            self._schedule_pump(0)

    def _data_view(self):
        """One data-view SRING (§8.7.5, §8.7.6), taking up to 64 bytes from the buffer."""
        addr, data, left = self.take(SRING_VIEW_MAX)
        count = len(data)
        text = data.hex().upper() if self.ext[1] else data.decode('latin-1')
        self.delivered(count)
        if self.ext[0] == 2:
            return f'SRING: {self.conn_id},{count},{text}'
        return f'SRING: "{addr[0]}",{addr[1]},{self.conn_id},{count},{left},{text}'
