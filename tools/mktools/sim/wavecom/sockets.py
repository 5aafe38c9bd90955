"""Wavecom TCP sockets (`#OTCP`, `#LTCPSTART`, `#LTCPSTOP`; MT Chapter 5, GP §4) and the UDP
session (`#OUDP`, `#LUDPSTART`, `#LUDPSTOP`; MT Chapter 6), over `Net`."""

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.wavecom.dle import ETX_BYTE
from mktools.sim.wavecom.port import stack
from mktools.sim.wavecom.session import HOLD_MAX, DataSession, is_dotted_ip, resolve
from mktools.sim.wavecom.tables import MT_ONLY, SOCKET_IDS

NO_FILTER = '255.255.255.255'   # "No IP filter is applied if the parameter value is 255.255..."


class TcpSocket(DataSession):
    """TCP socket `id` (1 or 2): a client (`#OTCP`) or a one-shot listener (`#LTCPSTART`)."""

    def __init__(self, modem, sock_id):
        super().__init__(modem)
        self.sock_id = sock_id
        self.name = f'tcp{sock_id}'
        self.escaped = bool(modem.param('DLEMODE', sock_id))
        self.tx_delay_ms = modem.param('TCPTXDELAY', sock_id)
        self.state = 'idle'             # connecting | listening | open
        self.conn = None
        self.listener = None
        self.allowed = None

    # -- opening ----------------------------------------------------------------------------

    def connect(self, ip, port):
        self.state = 'connecting'
        self.conn = self.modem.net.tcp_connect(ip, port, self)

    def on_connect(self, conn):
        self.state = 'open'
        self.modem.log('tcp_open', id=self.sock_id, remote=conn.remote)
        self.modem.enter_data_mode(self, 'WaitingForData')

    def on_error(self, conn, why):
        self.closed = True
        self.modem.tcp[self.sock_id] = None
        self.modem.log('tcp_open_failed', id=self.sock_id, why=why)
        self.modem.finish(self.modem.error(38027 if why == 'dns' else 38016))

    def listen(self, port, allowed):
        self.listener = self.modem.net.tcp_listen(port, self)
        self.allowed = allowed
        self.state = 'listening'

    def on_accept(self, listener, conn):
        if self.allowed != NO_FILTER and conn.remote[0] != self.allowed:
            # MT App. B: only "the allowed IP address defined in the TCPSERV parameter"
            self.modem.log('tcp_refused', id=self.sock_id, remote=conn.remote)
            conn.abort()
            return
        # MT App. B: "As soon as the socket TCP is closed, the TCP port is not anymore in a
        # listening mode": one client per #LTCPSTART
        self.listener.close()
        self.listener = None
        self.conn = conn
        self.state = 'open'
        self.modem.log('tcp_accepted', id=self.sock_id, remote=conn.remote)
        self.modem.announce_data_mode(self, 'WaitingForData')

    # -- data -------------------------------------------------------------------------------

    def from_host(self, data):
        payload, ended, rest = self.decode(data)
        self.queue_tx(payload, self.tx_delay_ms)
        if not ended:
            return None
        # MT App. B "Opening a TCP Socket": the host's ETX "is echoed", then
        # 'Ok_Info_SocketClosed' and 'OK'
        self.flush_tx()
        self.close_network(reset=False)
        self.leave('OK', ETX_BYTE, 'SocketClosed')
        return rest

    def on_data(self, conn, data):
        self.deliver(data)

    def on_close(self, conn, reset):
        self.remote_closed(reset)

    def remote_closed(self, reset):
        """The peer closed (FIN: ETX when DLEMODE=1, then SocketClosed and OK) or reset."""
        self.close_network(reset=True)
        self.modem.log('tcp_peer_closed', id=self.sock_id, reset=reset)
        if reset:
            # [INFERRED] a reset is "TCP session closed (TCP Context cancelled)"
            self.fail(37952)
        else:
            self.leave('OK', ETX_BYTE if self.escaped else b'', 'SocketClosed')

    def transmit(self, frame):
        return self.conn.send(frame) if self.conn is not None else len(frame)

    def pause_source(self):
        if self.conn is not None:
            self.conn.pause()

    def resume_source(self):
        if self.conn is not None and not self.stalled:
            self.conn.resume()

    def stall(self, on):
        self.stalled = on
        (self.pause_source if on else self.resume_source)()
        if not on:
            self.flush_tx()

    # -- closing ----------------------------------------------------------------------------

    def close_network(self, reset):
        if self.tx_pending() and not reset:
            self.modem.log('tx_lost_on_close', id=self.sock_id, size=self.tx_pending())
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        if self.conn is not None:
            (self.conn.abort if reset else self.conn.close)()
            self.conn = None
        self.stop_timers()
        if self.modem.tcp.get(self.sock_id) is self:
            self.modem.tcp[self.sock_id] = None


class UdpSession(DataSession):
    """The single UDP session (MT only): active (`#OUDP`) or listening (`#LUDPSTART`).
    UDP data is always DLE-escaped (MT #OUDP: "an <ETX> character must be sent (even in payload
    data) as <DLE><ETX>")."""

    name = 'udp'

    def __init__(self, modem, local_port, remote=None, allowed=None):
        super().__init__(modem)
        self.tx_delay_ms = modem.param('UDPTXDELAY')
        self.remote = remote
        self.allowed = allowed
        self.state = 'open' if remote else 'listening'
        self.sock = modem.net.udp_open(local_port, self)

    def on_datagram(self, sock, data, addr):
        if self.state == 'listening':
            if self.allowed != NO_FILTER and addr[0] != self.allowed:
                self.modem.log('udp_refused', remote=addr)
                return
            # MT #LUDPSTART: "effective upon reception of the first datagram, supplying the
            # remote port number and the remote IP address of the session"
            self.remote, self.state = addr, 'open'
            self.deliver(data)
            self.modem.announce_data_mode(self, 'WaitingForData')
        elif tuple(addr) != tuple(self.remote):
            self.modem.log('udp_foreign', remote=addr)
        elif self.modem.dte_stopped() or len(self._held) > HOLD_MAX:
            # UDP cannot be held back: with the host's RTS off the datagram is lost whole
            # [INFERRED: the manuals say nothing of a full buffer in a UDP session]
            self.modem.log('udp_dropped', size=len(data))
        else:
            self.deliver(data)

    def from_host(self, data):
        payload, ended, rest = self.decode(data)
        self.queue_tx(payload, self.tx_delay_ms)
        if not ended:
            return None
        self.flush_tx()
        self.close_network()
        self.leave('OK', ETX_BYTE, 'SocketClosed')
        return rest

    def transmit(self, frame):
        return self.sock.sendto(frame, self.remote) or len(frame)

    def close_network(self, reset=False):
        self.sock.close()
        self.stop_timers()
        if self.modem.udp is self:
            self.modem.udp = None


class SocketCommands:
    """Mixin of `WavecomModem`: the TCP and UDP commands."""

    COMMANDS = {'#OTCP': 'at_otcp', '#LTCPSTART': 'at_ltcpstart', '#LTCPSTOP': 'at_ltcpstop',
                '#OUDP': 'at_oudp', '#LUDPSTART': 'at_ludpstart', '#LUDPSTOP': 'at_ludpstop'}

    def reset_sockets(self):
        self.tcp = dict.fromkeys(SOCKET_IDS)
        self.udp = None

    def sessions(self):
        """Every live socket session."""
        return [s for s in (*self.tcp.values(), self.udp) if s is not None]

    def _socket_id(self, op, args):
        if op != 'set' or len(args) != 1:
            return None
        return self.arg_int(args, 0, 1, 2)

    def refuse_tcp(self, sock_id):
        """Why socket `sock_id` cannot start now (GP §4: "Two TCP sockets may be active
        simultaneously"; MT: "except when the TCP/IP stack software is already in a process
        using TCP resources"), or None."""
        if not self.bearer_up():
            return self.error(35867)
        if self.tcp[sock_id] is not None or self.exclusive_busy():
            return self.error(37122)
        return None

    @stack()
    def at_otcp(self, op, args):
        sock_id = self._socket_id(op, args)
        if sock_id is None:
            return self.syntax_error()
        refusal = self.refuse_tcp(sock_id)
        if refusal:
            return refusal
        ip, code = resolve(self.net, self.param('TCPSERV', sock_id))
        if code:
            return self.error(code)
        sock = self.tcp[sock_id] = TcpSocket(self, sock_id)
        sock.connect(ip, self.param('TCPPORT', sock_id))
        return PENDING

    @stack()
    def at_ltcpstart(self, op, args):
        sock_id = self._socket_id(op, args)
        if sock_id is None:
            return self.syntax_error()
        refusal = self.refuse_tcp(sock_id)
        if refusal:
            return refusal
        allowed, port = self.param('TCPSERV', sock_id), self.param('TCPPORT', sock_id)
        # MT App. B: the client filter "must be configured as a 32-bit number in
        # dotted-decimal notation - not a symbolic name"
        if not is_dotted_ip(allowed) or port == 0:
            return self.error(36929)
        sock = TcpSocket(self, sock_id)
        try:
            sock.listen(port, allowed)
        except NetError:
            return self.error(38016)
        self.tcp[sock_id] = sock
        # GP §7.3.3 and MT App. A: OK now, 'Ok_Info_WaitingForData' when a client connects
        return 'OK'

    def _rx_command(self, data):
        # MT/GP #LTCPSTART: "The LTCP command can be aborted before an incoming TCP request has
        # been received by issuing an <ETX> character on the serial port"
        listening = [s for s in self.tcp.values() if s is not None and s.state == 'listening']
        if data[:1] != ETX_BYTE or self._line or not listening:
            return super()._rx_command(data)
        for sock in listening:
            sock.closed = True
            sock.close_network(reset=True)
        self.log('listen_aborted', ids=[sock.sock_id for sock in listening])
        self.send(self.frame_result('OK'))      # [INFERRED] answered as #LTCPSTOP is
        return data[1:]

    @stack()
    def at_ltcpstop(self, op, args):
        sock_id = self._socket_id(op, args)
        if sock_id is None:
            return self.syntax_error()
        sock = self.tcp[sock_id]
        if sock is not None and sock.state == 'listening':
            sock.closed = True
            sock.close_network(reset=True)
        return 'OK'

    def refuse_exclusive(self):
        """UDP, ping and FTP need "no other TCP/IP stack resource" active (MT Chapters 6-7)."""
        if not self.bearer_up():
            return self.error(35867)
        if self.sessions() or self.exclusive_busy():
            return self.error(37122)
        return None

    def _udp_port(self):
        port = self.param('UDPPORT')
        return port or None         # MT #UDPPORT: "Port number 0 is illegal."

    @stack(MT_ONLY)
    def at_oudp(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        refusal = self.refuse_exclusive()
        if refusal:
            return refusal
        port = self._udp_port()
        if port is None:
            return self.error(36929)
        ip, code = resolve(self.net, self.param('UDPSERV'))
        if code:
            return self.error(code)
        self.udp = UdpSession(self, 0, remote=(ip, port))
        self.enter_data_mode(self.udp, 'WaitingForData')
        return None

    @stack(MT_ONLY)
    def at_ludpstart(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        refusal = self.refuse_exclusive()
        if refusal:
            return refusal
        port = self._udp_port()
        if port is None:
            return self.error(36929)
        allowed = self.param('UDPSERV')
        if allowed != NO_FILTER:
            # MT #LUDPSTART: "a valid IP address (or existing/found alphanumeric IP address)"
            allowed, code = resolve(self.net, allowed)
            if code:
                return self.error(code)
        try:
            self.udp = UdpSession(self, port, allowed=allowed)
        except NetError:
            return self.error(38016)
        return 'OK'

    @stack(MT_ONLY)
    def at_ludpstop(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        # MT #LUDPSTART: "As long as the first datagram is not received, UDPSTOP can be issued"
        if self.udp is not None and self.udp.state == 'listening':
            self.udp.closed = True
            self.udp.close_network()
        return 'OK'
