"""Quectel socket services (QL §2.1.4-§2.1.6, §2.2.1-§2.2.4): the connectID table,
AT+QIOPEN, AT+QICLOSE, AT+QISTATE and incoming connections.  What the sockets receive is
handled by `receive`."""

from collections import deque

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.quectel.common import (
    BUFFER, CONNECT_IDS, CONNECTED, CONTEXT_IDS, E_CONNECT, E_ID_USED, E_INVALID, E_UNSUPPORTED,
    LISTENING, NET_ERRORS, OPENING, SERVERS, TCP, TCP_INCOMING, TCP_LISTENER, TRANSPARENT, UDP,
    UDP_SERVICE, UNSUPPORTED_SERVICES, tcpip_command)

class QuectelSocket:
    """One connectID (QL §2.1.6 fields) and its buffers; also the `Net` event sink for it."""

    def __init__(self, modem, cid, ctx, service, access_mode):
        self.modem = modem
        self.cid = cid
        self.ctx = ctx
        self.service = service
        self.access_mode = access_mode
        self.state = OPENING
        self.remote_ip, self.remote_port = '', 0
        self.local_ip, self.local_port = '', 0
        self.server_id = 0
        self.conn = None
        self.rx = bytearray()               # stream data not yet read or pushed
        self.datagrams = deque()            # UDP SERVICE: (data, (ip, port)) not yet read
        self.datagram_bytes = 0
        self.rx_total = 0
        self.rx_read = 0
        self.tx_total = 0
        self.notified = False               # buffer mode: "recv" URC given, buffer not drained
        self.stalled = False
        self.held_out = bytearray()         # TCP data accepted while stalled
        self.trans_out = bytearray()        # transparent mode: DTE bytes not yet packetised
        self.trans_timer = None
        self.pump_timer = None
        self.end_pending = None             # 'closed' URC or NO CARRIER waiting for the data
        self.awaiting_connect = False       # AT+QIOPEN in transparent mode waits for CONNECT

    def unread(self):
        return len(self.rx) + self.datagram_bytes

    def is_tcp(self):
        return self.service in (TCP, TCP_INCOMING)

    # -- Net events (stale ones from a replaced or closed connection are ignored) -------------

    def on_connect(self, conn):
        if conn is self.conn:
            self.modem.sock_connected(self)

    def on_error(self, conn, why):
        if conn is self.conn:
            self.modem.sock_failed(self, why)

    def on_data(self, conn, data):
        if conn is self.conn:
            self.modem.sock_data(self, data)

    def on_close(self, conn, reset):
        if conn is self.conn:
            self.modem.sock_lost(self, reset)

    def on_accept(self, listener, conn):
        if listener is self.conn:
            self.modem.sock_accept(self, conn)
        else:
            conn.abort()

    def on_datagram(self, udp, data, addr):
        if udp is self.conn:
            self.modem.sock_datagram(self, data, addr)


class SocketCommands:
    """Mixin of `QuectelModem`: socket life-cycle and the receive side."""

    COMMANDS = {'+QIOPEN': 'qiopen', '+QICLOSE': 'qiclose', '+QISTATE': 'qistate'}

    def reset_sockets(self):
        self.sockets = {}               # connectID -> QuectelSocket
        self.online_sock = None         # the socket bridged while the port is online
        self.last_transparent = None    # connectID ATO returns to (QL §1.2)

    def resolve_host(self, host):
        """(ip, reachable) for a name (Net's host map) or an IPv4 literal; NetError('dns') for
        an unknown name.  An address outside loopback is unreachable: Net never dials it."""
        try:
            return self.net.resolve(host), True
        except NetError as e:
            if e.why != 'unreachable':
                raise
            return self.net.hosts.get(host.lower(), host), False

    # -- AT+QIOPEN (QL §2.1.4) --------------------------------------------------------------

    @tcpip_command
    def qiopen(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        cid = self.arg_int(args, 1, *CONNECT_IDS)
        service = self.arg_str(args, 2).upper()
        host = self.arg_str(args, 3, 255)
        remote_port = self.arg_int(args, 4, 0, 65535)
        local_port = self.arg_int(args, 5, 0, 65535, default=0)
        mode = self.arg_int(args, 6, 0, 2, default=BUFFER)
        if service in UNSUPPORTED_SERVICES:
            return self.fail(E_UNSUPPORTED)
        if service not in self._OPENERS:
            return self.fail(E_INVALID)
        # QL §2.1.4: for "TCP LISTENER"/"UDP SERVICE" "please enter 127.0.0.1" and the local
        # port "must be specified"; neither can be transparent (there is no single peer).
        if service in SERVERS and (host != '127.0.0.1' or not local_port or mode == TRANSPARENT):
            return self.fail(E_INVALID)
        if cid in self.sockets:
            return self.fail(E_ID_USED)
        problem = self.context_problem(ctx)
        if problem and mode == TRANSPARENT:
            return self.fail(problem)
        sock = QuectelSocket(self, cid, ctx, service, mode)
        self.sockets[cid] = sock
        if problem:
            # An inactive context is reported like any other open failure, in the URC.
            self.open_result(sock, problem)
            return 'OK'
        return self._OPENERS[service](self, sock, host, remote_port, local_port)

    def _open_tcp(self, sock, host, port, local_port):
        # Net.tcp_connect() binds an automatic local port; a requested <local_port> is not
        # honoured for TCP clients (AT+QISTATE shows the real one).
        sock.remote_ip, sock.remote_port = host, port
        sock.conn = self.net.tcp_connect(host, port, sock)
        sock.remote_ip = sock.conn.remote[0]
        if sock.access_mode == TRANSPARENT:
            sock.awaiting_connect = True
            return PENDING
        return 'OK'

    def _open_udp(self, sock, host, port, local_port):
        try:
            ip, _ = self.resolve_host(host)
        except NetError as e:
            return self._open_failed_now(sock, NET_ERRORS.get(e.why, E_CONNECT))
        sock.remote_ip, sock.remote_port = ip, port
        if not self._bind(sock, self.net.udp_open, local_port):
            return self._open_failed_now(sock, NET_ERRORS['in use'])
        sock.state = CONNECTED
        if sock.access_mode == TRANSPARENT:
            self.enter_transparent(sock)
            return 'CONNECT'
        self.open_result(sock, 0)
        return 'OK'

    def _open_server(self, sock, host, port, local_port):
        listen = self.net.tcp_listen if sock.service == TCP_LISTENER else self.net.udp_open
        if not self._bind(sock, listen, local_port):
            self.open_result(sock, NET_ERRORS['in use'])
            return 'OK'
        sock.state = LISTENING if sock.service == TCP_LISTENER else CONNECTED
        sock.local_ip = self.context_ip(sock.ctx)
        sock.server_id = sock.cid       # QL §3.6.1 shows <serverID> 2 for UDP SERVICE 2
        self.open_result(sock, 0)
        return 'OK'

    _OPENERS = {TCP: _open_tcp, UDP: _open_udp, TCP_LISTENER: _open_server,
                UDP_SERVICE: _open_server}

    def _bind(self, sock, opener, local_port):
        try:
            sock.conn = opener(local_port, sock)
        except NetError:
            return False
        sock.local_port = sock.conn.port
        return True

    def _open_failed_now(self, sock, err):
        if sock.access_mode == TRANSPARENT:
            self.discard(sock)
            return self.fail(err)
        self.open_result(sock, err)
        return 'OK'

    def open_result(self, sock, err):
        """The +QIOPEN URC; a failed socket frees its connectID."""
        if err:
            self.last_error = err
            self.discard(sock)
        self.urc(f'+QIOPEN: {sock.cid},{err}')

    def sock_connected(self, sock):
        sock.state = CONNECTED
        sock.remote_ip = sock.conn.remote[0]
        sock.local_port = sock.conn.local[1]
        if sock.awaiting_connect:
            sock.awaiting_connect = False
            self.enter_transparent(sock)
            self.finish('CONNECT')
        else:
            self.open_result(sock, 0)

    def sock_failed(self, sock, why):
        self.open_failed(sock, NET_ERRORS.get(why, E_CONNECT))

    def open_failed(self, sock, err):
        """A connection attempt ended without a connection: +QIOPEN, or ERROR for CONNECT."""
        if sock.awaiting_connect:
            self.discard(sock)
            self.finish(self.fail(err))
        else:
            self.open_result(sock, err)

    def sock_accept(self, listener, conn):
        """A client reached a "TCP LISTENER": the highest free connectID takes it (QL §3.5.2
        shows 11 for the first one)."""
        if not self.options['tcp/accept'][0]:
            self.log('incoming_refused', server=listener.cid, remote=conn.remote)
            conn.abort()
            return
        free = [cid for cid in range(CONNECT_IDS[1], CONNECT_IDS[0] - 1, -1)
                if cid not in self.sockets]
        if not free:
            self.log('incoming_full', server=listener.cid, remote=conn.remote)
            conn.abort()
            self.urc('+QIURC: "incoming full"')
            return
        # QL §2.1.4 says the incoming <access_mode> is that of the listener, §2.2.4 says buffer
        # access: the listener's mode is used (listeners are never transparent).
        sock = QuectelSocket(self, free[0], listener.ctx, TCP_INCOMING, listener.access_mode)
        sock.state = CONNECTED
        sock.server_id = listener.cid
        sock.remote_ip, sock.remote_port = conn.remote
        sock.local_port = conn.local[1]
        sock.conn = conn
        conn.events = sock
        self.sockets[sock.cid] = sock
        self.urc(f'+QIURC: "incoming",{sock.cid},{listener.cid},"{sock.remote_ip}",'
                 f'{sock.remote_port}')

    # -- AT+QICLOSE (QL §2.1.5) -------------------------------------------------------------

    @tcpip_command
    def qiclose(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        cid = self.arg_int(args, 0, *CONNECT_IDS)
        self.arg_int(args, 1, 0, 65535, default=0)
        sock = self.sockets.get(cid)
        if sock is None:
            return 'OK'
        handshake = sock.is_tcp() and sock.state == CONNECTED
        self.discard(sock, graceful=True)
        if handshake and self.net.latency_s:
            # the FIN/ACK exchange takes a round trip; the parser is blocked meanwhile
            self.later(2 * self.net.latency_s, self.finish, 'OK')
            return PENDING
        return 'OK'

    def discard(self, sock, graceful=False):
        """Free the connectID and drop its connection (FIN when `graceful`, else RST)."""
        if self.sockets.get(sock.cid) is sock:
            del self.sockets[sock.cid]
        for timer in (sock.trans_timer, sock.pump_timer):
            if timer is not None:
                timer.cancel()
        sock.trans_timer = sock.pump_timer = None
        if sock.conn is not None:
            if graceful and sock.is_tcp():
                self.flush_held(sock)
                sock.conn.close()
            else:
                sock.conn.abort()
        if self.last_transparent == sock.cid:
            self.last_transparent = None
        if self.online_sock is sock:
            self.online_sock = None

    # -- AT+QISTATE (QL §2.1.6) -------------------------------------------------------------

    @tcpip_command
    def qistate(self, op, args):
        if op == 'test':
            return 'OK'
        chosen = sorted(self.sockets.values(), key=lambda s: s.cid)
        if op == 'set':
            if self.arg_int(args, 0, 0, 1) == 0:
                ctx = self.arg_int(args, 1, *CONTEXT_IDS)
                chosen = [s for s in chosen if s.ctx == ctx]
            else:
                cid = self.arg_int(args, 1, *CONNECT_IDS)
                chosen = [s for s in chosen if s.cid == cid]
        for sock in chosen:
            self.line(self._state_text(sock))
        return 'OK'

    def _state_text(self, s):
        # QL §2.1.6: listener/service rows show the local IP and an "invalid" remote port
        # (QL §3.6.1 prints 0); client rows <serverID> 0 (QL §3.2.1).
        server = s.service in SERVERS
        ip = s.local_ip if server else s.remote_ip
        remote_port = 0 if server else s.remote_port
        return (f'+QISTATE: {s.cid},"{s.service}","{ip}",{remote_port},{s.local_port},'
                f'{s.state},{s.ctx},{s.server_id},{s.access_mode},"{self.config["at_port"]}"')
