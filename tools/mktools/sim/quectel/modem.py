"""The Quectel LTE Standard dialect (EC2x, EG2x-G, EG9x, EM05), as specified by the "LTE
Standard TCP/IP Application Note" V1.1 (QL, seeds/003): PDP contexts, options, the error
register and the fault hooks.  Sockets, the receive path, data transfer and services live in
`sockets`, `receive`, `data` and `services`."""

from mktools.sim.core.modem import PENDING, Modem
from mktools.sim.quectel.common import (
    CLOSING, CONNECTED, CONTEXT_IDS, E_INVALID, E_NO_APN, E_NOT_ALLOWED, E_PDP_BROKEN,
    E_PDP_OPEN, MAX_ACTIVE_CONTEXTS, OPENING, QICFG_OPTIONS, TCP_LISTENER, TEST_RESPONSES,
    UDP_SERVICE, error_text, range_text, tcpip_command)
from mktools.sim.quectel.data import DataCommands
from mktools.sim.quectel.receive import ReceivePath
from mktools.sim.quectel.services import ServiceCommands
from mktools.sim.quectel.sockets import SocketCommands


class PdpContext:
    """One TCP/IP context (QL §2.1.1-§2.1.3)."""

    def __init__(self):
        self.context_type = 1
        self.apn = self.username = self.password = ''
        self.authentication = 0
        self.configured = False
        self.active = False
        self.broken = False         # deactivated by the network: AT+QIDEACT first (QL §2.2.5)
        self.ip = ''


class QuectelModem(SocketCommands, ReceivePath, DataCommands, ServiceCommands, Modem):
    """A Quectel EC25-class module: TCP/UDP clients, TCP listener, UDP service, ping, NTP, DNS."""

    dialect = 'quectel'

    DEFAULTS = {
        **Modem.DEFAULTS,
        'manufacturer': 'Quectel', 'model': 'EC25', 'revision': 'EC25EFAR06A06M4G',
        'imei': '866758040000001', 'ip_pool': ['10.7.157.1', '10.7.157.2', '10.7.157.3'],
        'rx_buffer': 10240,             # AT+QICFG="recv/buffersize" default (QL §2.1.15)
        'deactivation_s': 0.5,          # time AT+QIDEACT takes (at most 40 s, QL §2.1.3)
        'at_port': 'usbmodem',          # <AT_port> in AT+QISTATE (QL §3.2.1 shows "usbmodem")
        'dns_servers': ('10.7.0.1', '10.7.0.2'),
        'ntp_timeout_s': 20.0,          # AT+QNTP gives up (569) after this (at most 125 s)
        'clock': 315964800.0,           # module clock at power-on: 1980-01-06 00:00:00 UTC
    }
    # QL does not list the power-on URCs (it is a TCP/IP note); these are the EC2x ones.
    STARTUP_URCS = ('RDY', '+CFUN: 1', '+CPIN: READY', '+QUSIM: 1', '+QIND: SMS DONE')

    COMMANDS = {'+QICSGP': 'qicsgp', '+QIACT': 'qiact', '+QIDEACT': 'qideact',
                '+QICFG': 'qicfg', '+QISDE': 'qisde', '+QIGETERROR': 'qigeterror'}

    def reset(self):
        super().reset()
        self.contexts = {}
        self.options = {name: list(defaults) for name, (defaults, _) in QICFG_OPTIONS.items()}
        self.options['recv/buffersize'] = [self.config['rx_buffer']]
        self.send_echo = 1
        self.last_error = 0
        self.reset_sockets()
        self.reset_services()

    def drop_connections(self):
        for sock in list(self.sockets.values()):
            self.discard(sock)
        self.drop_services()

    # -- results ----------------------------------------------------------------------------

    def fail(self, code):
        """A bare ERROR, its code kept for AT+QIGETERROR (QL §2.1.17)."""
        self.last_error = code
        return 'ERROR'

    def bad_arg(self, cmd, exc):
        if getattr(getattr(self, self.command_table()[cmd.name]), 'tcpip', False):
            return self.fail(E_INVALID)
        return super().bad_arg(cmd, exc)

    def test_response(self):
        self.line(TEST_RESPONSES[self.command.name])
        return 'OK'

    def qigeterror(self, op, args):
        """Not a `tcpip_command`: reading the register must not clear it."""
        if op == 'test':
            return 'OK'
        if op != 'exec':
            return 'ERROR'
        # QL §3.9 prints "+QIGETERROR: 552, invalid parameters": ", " and lower case
        self.line(f'+QIGETERROR: {self.last_error}, {error_text(self.last_error)}')
        return 'OK'

    # -- contexts (QL §2.1.1-§2.1.3) --------------------------------------------------------

    def context(self, ctx):
        return self.contexts.setdefault(ctx, PdpContext())

    def context_problem(self, ctx):
        """The error that keeps context `ctx` from carrying traffic, or 0."""
        c = self.contexts.get(ctx)
        if c is not None and c.active:
            return 0
        return E_PDP_BROKEN if c is not None and c.broken else E_PDP_OPEN

    def context_ip(self, ctx):
        c = self.contexts.get(ctx)
        return c.ip if c is not None and c.ip else '0.0.0.0'

    @tcpip_command
    def qicsgp(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        c = self.context(self.arg_int(args, 0, *CONTEXT_IDS))
        if len(args) == 1:
            self.line(f'+QICSGP: {c.context_type},"{c.apn}","{c.username}","{c.password}",'
                      f'{c.authentication}')
            return 'OK'
        # <context_type>,<APN> and <username>,<password> come in pairs (QL §2.1.1 syntax)
        if len(args) in (2, 4) or len(args) > 7:
            return self.fail(E_INVALID)
        context_type = self.arg_int(args, 1, 1, 3)
        apn = self.arg_str(args, 2, 100)
        username = self.arg_str(args, 3, 127, default='')
        password = self.arg_str(args, 4, 127, default='')
        authentication = self.arg_int(args, 5, 0, 3, default=0)
        self.arg_int(args, 6, 0, 1, default=0)
        c.context_type, c.apn, c.username, c.password = context_type, apn, username, password
        c.authentication = authentication
        c.configured = True
        return 'OK'

    @tcpip_command
    def qiact(self, op, args):
        if op == 'test':
            return self.test_response()
        if op == 'read':
            for ctx in sorted(self.contexts):
                c = self.contexts[ctx]
                if c.active:
                    self.line(f'+QIACT: {ctx},1,{c.context_type},"{c.ip}"')
            return 'OK'
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        c = self.context(ctx)
        if c.active:
            return self.fail(E_NOT_ALLOWED)
        if c.broken:
            return self.fail(E_PDP_BROKEN)
        # "Before activating a PDP context via AT+QIACT, the context should be configured by
        # AT+QICSGP" (QL §2.1.2)
        if not c.configured:
            return self.fail(E_NO_APN)
        active = sum(1 for x in self.contexts.values() if x.active)
        if active >= MAX_ACTIVE_CONTEXTS or not self.attached or self.cfun != 1:
            return self.fail(E_PDP_OPEN)
        # the parser stays blocked until the result (QL §2.1.2)
        self.later(self.config['activation_s'], self._activated, ctx)
        return PENDING

    def _activated(self, ctx):
        used = {c.ip for c in self.contexts.values() if c.active}
        free = [ip for ip in self.config['ip_pool'] if ip not in used]
        if not free:
            self.finish(self.fail(E_PDP_OPEN))
            return
        c = self.context(ctx)
        c.active, c.ip = True, free[0]
        self.dns_servers.pop(ctx, None)
        self.log('pdp_active', ctx=ctx, ip=c.ip)
        self.finish('OK')

    @tcpip_command
    def qideact(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        for sock in [s for s in self.sockets.values() if s.ctx == ctx]:
            self.discard(sock, graceful=True)
        c = self.contexts.get(ctx)
        if c is not None:
            c.active = c.broken = False
            c.ip = ''
        self.later(self.config['deactivation_s'], self.finish, 'OK')
        return PENDING

    # -- options (QL §2.1.15, §2.1.16) ------------------------------------------------------

    @tcpip_command
    def qicfg(self, op, args):
        if op == 'test':
            for name, (_, ranges) in QICFG_OPTIONS.items():
                self.line(f'+QICFG: "{name}",' + ','.join(range_text(*r) for r in ranges))
            return 'OK'
        if op != 'set':
            return self.fail(E_INVALID)
        name = self.arg_str(args, 0).lower()
        if name not in QICFG_OPTIONS or len(args) > len(QICFG_OPTIONS[name][1]) + 1:
            return self.fail(E_INVALID)
        values = self.options[name]
        keepalive_off = name == 'tcp/keepalive' and not values[0]
        if len(args) == 1:
            shown = values[:1] if keepalive_off else values
            self.line(f'+QICFG: "{name}",' + ','.join(str(v) for v in shown))
            return 'OK'
        ranges = QICFG_OPTIONS[name][1]
        new = [self.arg_int(args, i + 1, lo, hi, default=None) for i, (lo, hi) in enumerate(ranges)]
        if name == 'tcp/keepalive' and len(args) == 2:
            new[1:] = values[1:]        # <enable> alone keeps the timing parameters
        if None in new:
            return self.fail(E_INVALID)
        values[:] = new
        for sock in self.sockets.values():
            self.update_backpressure(sock)
        return 'OK'

    @tcpip_command
    def qisde(self, op, args):
        if op == 'test':
            return self.test_response()
        if op == 'read':
            self.line(f'+QISDE: {self.send_echo}')
            return 'OK'
        if op != 'set':
            return self.fail(E_INVALID)
        self.send_echo = self.arg_int(args, 0, 0, 1)
        return 'OK'

    # -- faults -----------------------------------------------------------------------------

    def _fault_socket(self, fault, sock_id, tcp_connected=False):
        """The socket a fault acts on, or None (logged) when there is no such target: a fault
        scheduled from the command line must not stop the emulator."""
        sock = self.sockets.get(sock_id)
        if sock is None or tcp_connected and not (sock.is_tcp() and sock.state == CONNECTED):
            self.log('fault_ignored', fault=fault, sock=sock_id)
            return None
        return sock

    def pdp_deactivate(self, cid):
        """The network drops context `cid`: its sockets lose their connections and the host
        hears `+QIURC: "pdpdeact",<cid>` (QL §2.2.5)."""
        c = self.contexts.get(cid)
        if c is None or not c.active:
            self.log('fault_ignored', fault='pdp_deactivate', ctx=cid)
            return
        self.log('pdp_deactivate', ctx=cid)
        c.active, c.broken = False, True
        for sock in sorted(self.sockets.values(), key=lambda s: s.cid):
            if sock.ctx != cid or sock.state == CLOSING:
                continue
            sock.conn.abort()
            if sock.state == OPENING:
                self.open_failed(sock, E_PDP_BROKEN)
            else:
                self.sock_lost(sock, reset=True)
        self.urc(f'+QIURC: "pdpdeact",{cid}')

    def peer_close(self, sock_id):
        """The remote end closes (FIN) connection `sock_id`."""
        sock = self._fault_socket('peer_close', sock_id, tcp_connected=True)
        if sock is not None:
            self.log('peer_close', sock=sock_id)
            sock.conn.close()
            self.sock_lost(sock, reset=False)

    def peer_reset(self, sock_id):
        """The remote end resets (RST) connection `sock_id`."""
        sock = self._fault_socket('peer_reset', sock_id, tcp_connected=True)
        if sock is not None:
            self.log('peer_reset', sock=sock_id)
            sock.conn.abort()
            self.sock_lost(sock, reset=True)

    def stall(self, sock_id, on=True):
        """Stop (or restart) moving data on `sock_id`: TCP stops reading the peer and holds
        what the host sends (unacked); UDP loses datagrams both ways."""
        sock = self._fault_socket('stall', sock_id)
        if sock is None:
            return
        self.log('stall', sock=sock_id, on=on)
        sock.stalled = on
        self.update_backpressure(sock)
        if not on:
            self.flush_held(sock)

    def fill_rx(self, sock_id):
        """Fill `sock_id`'s receive buffer (filler zero bytes) to "recv/buffersize", so that
        the peer is held back until the host reads."""
        sock = self._fault_socket('fill_rx', sock_id)
        if sock is None:
            return
        size = self.rx_capacity() - sock.unread()
        self.log('fill_rx', sock=sock_id, size=size)
        if size <= 0 or sock.service == TCP_LISTENER:
            return
        if sock.service == UDP_SERVICE:
            self.sock_datagram(sock, bytes(size), ('127.0.0.1', sock.local_port))
        else:
            self.sock_data(sock, bytes(size))
