"""One Telit IP Easy socket `<connId>` (T-IPE §6-§8): its connection or listener, closure and
status; the data side is `SocketData`.  `Net` events arrive here directly.

The socket belongs to the module (`modem`, which holds NVM, config and the network) and reports
to one AT instance, its `owner`: the port that opened it gets its URCs and its online data.
"""

import collections

from mktools.sim.core.net import TcpConn
from mktools.sim.telit.socket_data import (CAUSE_FIN, CAUSE_NONE, CAUSE_RESET, CAUSE_TIMEOUT, CLOSED,
                                CONNECTING, INCOMING, LISTENING, OPEN, RETRY_S, SocketData)

BLACKHOLE_MAX = 4           # firewall-dropped connections held unanswered (§7.4 "silently")

class TelitSocket(SocketData):
    """Connection state, buffers and counters of one `<connId>`."""

    def __init__(self, modem, conn_id):
        self.modem = modem
        self.owner = modem
        self.conn_id = conn_id
        self.state = CLOSED
        self.online = False
        self.proto = 'tcp'
        self.conn = None
        self.listener = None
        self.listen_port = None
        self.remote = None
        self.local_port = 0
        self.cid = None
        self.rx = collections.deque()       # [addr, bytearray] segments (one per datagram)
        self.rx_len = 0
        self.tx = bytearray()
        self.online_tx = bytearray()
        self.sent = 0
        self.received = 0
        self.sring_armed = True
        self.peer_gone = None               # closure cause while data is still pending
        self.last_cause = CAUSE_NONE
        self.stalled = False
        self.blackhole = collections.deque()
        self.timers = {}
        self.on_opened = None

    # -- configuration (NVM, §6.1 / §8.3) ---------------------------------------------------

    @property
    def cfg(self):
        """[cid, pktSz, maxTo, connTo, txTo] of #SCFG."""
        return self.modem.nvm['scfg'][self.conn_id]

    @property
    def ext(self):
        """[srMode, recvDataMode, keepalive, ListenAutoRsp, sendDataMode] of #SCFGEXT."""
        return self.modem.nvm['scfgext'][self.conn_id]

    @property
    def ext2(self):
        """[bufferStart, abortConnAttempt, unused_B, unused_C, noCarrierMode] of #SCFGEXT2."""
        return self.modem.nvm['scfgext2'][self.conn_id]

    def is_free(self):
        return self.state == CLOSED

    def is_connected(self):
        return self.state == OPEN and self.conn is not None

    # -- opening ----------------------------------------------------------------------------

    def _begin(self, state, proto, owner):
        self._clear()
        self.state = state
        self.proto = proto
        self.owner = owner
        self.cid = self.cfg[0]
        self.sent = self.received = 0
        self.last_cause = CAUSE_NONE

    def connect_tcp(self, owner, host, port, done):
        """Start `#SD` over TCP; `done(why)` with None once connected (§6.2)."""
        self._begin(CONNECTING, 'tcp', owner)
        self.on_opened = done
        self.conn = self.modem.net.tcp_connect(host, port, self)
        # <connTo> is in hundreds of ms [EXTERNAL: AT ref. guide; §6.1 gives the range only]
        self._timer('connect', self.cfg[3] / 10, self._connect_timeout)

    def open_udp(self, owner, ip, port, local_port):
        """`#SD` over UDP: bind and remember the peer (raises NetError)."""
        self._begin(OPEN, 'udp', owner)
        self.conn = self.modem.net.udp_open(local_port, self)
        self.remote = (ip, port)
        self.local_port = self.conn.port
        self._idle_restart()

    def listen(self, owner, proto, port):
        """`#SL` / `#SLUDP` (raises NetError when the port is taken)."""
        self._begin(LISTENING, proto, owner)
        net = self.modem.net
        self.listener = net.tcp_listen(port, self) if proto == 'tcp' else net.udp_open(port, self)
        self.listen_port = self.listener.port

    def accept(self, announce):
        """`#SA`: the pending incoming connection becomes this socket's connection (§7.1);
        in command mode, data that came before the accept is announced."""
        self.state = OPEN
        self.sring_armed = True
        self._idle_restart()
        if announce and self.rx_len:
            self._announce()
        self._update_flow()

    # -- closing ----------------------------------------------------------------------------

    def close(self, cause=CAUSE_NONE, abort=False):
        """Local close (`#SH`, context deactivation, reboot): connection and listener go."""
        conn, listener = self.conn, self.listener
        self.conn = self.listener = None
        if conn is not None:
            conn.abort() if abort else conn.close()
        if listener is not None and listener is not conn:
            listener.close()
        self._clear()
        self.state = CLOSED
        self.last_cause = cause

    def _clear(self):
        for handle in self.timers.values():
            handle.cancel()
        self.timers = {}
        while self.blackhole:
            self.blackhole.popleft().abort()
        self.rx.clear()
        self.rx_len = 0
        self.tx = bytearray()
        self.online_tx = bytearray()
        self.online = False
        self.peer_gone = None
        self.sring_armed = True
        self.stalled = False
        self.listen_port = None

    def _ended(self, cause):
        """The connection is over (peer FIN/RST, inactivity); pending data stays readable."""
        if self.proto == 'tcp':
            self.conn = None
        if self.rx_len:
            self.peer_gone = cause
            if self.online:
                self._schedule_pump(0)
            return
        self._finish(cause)

    def _finish(self, cause):
        """The socket is closed for good: NO CARRIER online, or as a URC in command mode."""
        if self.online and self.owner.mode != 'online':
            self.peer_gone = cause          # CONNECT is still on its way: retry afterwards
            self._schedule_pump(RETRY_S)
            return
        was_online, owner = self.online, self.owner
        listener, port = self.listener, self.listen_port
        conn, self.conn = self.conn, None
        if conn is not None and conn is not listener:
            conn.close()
        self._clear()
        self.last_cause = cause
        if listener is not None and self.proto == 'tcp':
            # [INFERRED] from §7 ("If the incoming connection request is rejected, the listening
            # socket will be closed"): an accepted connection that ends leaves it listening
            self.state, self.listen_port = LISTENING, port
        else:
            if listener is not None:
                listener.close()
            self.listener = None
            self.state = CLOSED
        self._report_closed(was_online, owner, cause)

    def drop(self, cause):
        """The network took the socket away (context deactivated, §6.5): no pending data."""
        was_online, owner, had_peer = self.online, self.owner, self.state in (OPEN, INCOMING)
        self.close(cause, abort=True)
        if had_peer:
            self._report_closed(was_online, owner, cause)

    def _report_closed(self, was_online, owner, cause):
        text = self._no_carrier(cause)
        self.modem.log('socket_closed', conn_id=self.conn_id, cause=cause)
        if was_online:
            owner.go_command(text)
        else:
            # §8.7.1: "its time out expires, and the NO CARRIER message is displayed";
            # [INFERRED] the same unsolicited line for a remote close in command mode, which
            # is how telit.py learns of it (docs/emulator.md, silent places)
            owner.urc(text)

    def _no_carrier(self, cause):
        # #SCFGEXT2 <noCarrierMode> [EXTERNAL: AT ref. guide; §8.3.2 gives the name only]
        mode = self.ext2[4]
        if mode == 1:
            return f'NO CARRIER: {self.conn_id}'
        if mode == 2:
            return f'NO CARRIER: {self.conn_id},{cause}'
        return 'NO CARRIER'

    def _connect_timeout(self):
        self.timers.pop('connect', None)
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.abort()
        self.state = CLOSED
        self.on_opened('timeout')

    def _idle_restart(self):
        # <maxTo>: socket inactivity timeout in seconds, 0 = none [EXTERNAL: AT ref. guide]
        if self.cfg[2]:
            self._timer('idle', self.cfg[2], self._idle_expired)

    def _idle_expired(self):
        self.timers.pop('idle', None)
        self.modem.log('socket_idle_timeout', conn_id=self.conn_id)
        if self.conn is not None:
            self.conn.close()
        self._ended(CAUSE_TIMEOUT)

    # -- Net events -------------------------------------------------------------------------

    def on_connect(self, conn):
        if conn is not self.conn:
            return
        self._timer('connect')
        self.state = OPEN
        self.remote = conn.remote
        self.local_port = conn.local[1]
        self._idle_restart()
        self.on_opened(None)

    def on_error(self, conn, why):
        if conn is self.conn:
            self._timer('connect')
            self.conn = None
            self.state = CLOSED
            self.on_opened(why)

    def on_accept(self, listener, conn):
        if listener is not self.listener:
            conn.abort()
            return
        if not self.modem.firewall_allows(conn.remote[0]):
            self.modem.log('firewall_drop', conn_id=self.conn_id, remote=conn.remote)
            conn.pause()
            self.blackhole.append(conn)
            if len(self.blackhole) > BLACKHOLE_MAX:
                self.blackhole.popleft().abort()
            return
        if self.state != LISTENING:
            self.modem.log('incoming_refused', conn_id=self.conn_id, remote=conn.remote)
            conn.abort()
            return
        self._incoming(conn, conn.remote, conn.local[1])

    def _incoming(self, conn, remote, local_port):
        self.conn = conn
        self.state = INCOMING
        self.remote = remote
        self.local_port = local_port
        self.sent = self.received = 0
        self.owner.urc(f'SRING: {self.conn_id}')            # §7

    def on_data(self, conn, data):
        if conn is self.conn:
            self._arrived(conn.remote, data)

    def on_datagram(self, udp, data, addr):
        if udp is not self.conn and udp is not self.listener:
            return
        if self.state == LISTENING:
            if not self.modem.firewall_allows(addr[0]):
                self.modem.log('firewall_drop', conn_id=self.conn_id, remote=addr)
                return
            self._incoming(udp, addr, self.listen_port)
        if self.rx_len + len(data) > self.modem.config['rx_buffer']:
            self.modem.log('udp_rx_overflow', conn_id=self.conn_id, lost=len(data))
            return
        self._arrived(addr, data)

    def on_close(self, conn, reset):
        if conn is self.conn:
            self.modem.log('socket_peer_closed', conn_id=self.conn_id, reset=reset)
            self._ended(CAUSE_RESET if reset else CAUSE_FIN)

    # -- status -----------------------------------------------------------------------------

    def ss_state(self):
        """#SS <state>: 0 closed, 1 online, 2 suspended, 3 suspended with pending data,
        4 listening, 5 incoming (§7.2 shows 0-4; 1/3/5 [EXTERNAL: AT ref. guide], matching
        GT-14)."""
        if self.state == OPEN:
            return 1 if self.online else 3 if self.rx_len else 2
        return {LISTENING: 4, INCOMING: 5}.get(self.state, 0)

    # -- faults -----------------------------------------------------------------------------

    def peer_close(self, reset):
        """The remote end closes (FIN) or resets (RST) the connection."""
        if not isinstance(self.conn, TcpConn):
            return
        self.conn.abort() if reset else self.conn.close()
        self._ended(CAUSE_RESET if reset else CAUSE_FIN)

    def stall(self, on):
        self.stalled = on
        self._update_flow()
        if not on:
            self._flush()

    def fill_rx(self):
        """Fill the receive buffer to `rx_buffer` with filler bytes, as a flood from the peer."""
        room = self.modem.config['rx_buffer'] - self.rx_len
        if room > 0 and self.state == OPEN:
            self._arrived(self.remote, b'\0' * room)

    # -- timers -----------------------------------------------------------------------------

    def _timer(self, name, delay=None, fn=None):
        """Cancel timer `name`; with `fn`, start it again."""
        old = self.timers.pop(name, None)
        if old is not None:
            old.cancel()
        if fn is not None:
            self.timers[name] = self.modem.later(delay, fn)
