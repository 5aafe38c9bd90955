"""Remote AT channels (T-RUN §2-§3, digest A.8): what runs a command line that came from outside
the serial port on a further AT instance of the module, and the TCPATRUN service itself.  The
SMSATRUN service and the commands that drive both are in `atrun`.

A remote channel drives its own AT parser: a port made by `spawn_instance()`, which shares NVM,
contexts and sockets with the serial port, so a command behaves there exactly as on the serial
line.  The session is that port's output sink and applies what T-RUN says about remote commands:
#ATRUNDELAY (§2.5.1, §3.8.1), the execution timeout after which the module reboots
(#TCPATRUNCFG/#SMSATRUNCFG <timeout>), #TCPATCMDSEQ (§3.4) and the commands that block the
channel (§2.5.2, §3.8.2).  "AT ref." marks what comes from the Telit AT Commands Reference Guide
(80000ST10025a), which T-RUN §1.3 lists as its companion.
"""

import ipaddress
from collections import deque

from mktools.sim.core.atparse import ParseError, parse_line
from mktools.sim.core.net import NetError, is_loopback
from mktools.sim.telit.socket import LISTENING, OPEN

CR, LF, NUL = 0x0D, 0x0A, 0x00
LOGIN_FIELD_MAX = 64
BLACKHOLE_MAX = 4           # firewall-dropped connections held unanswered
WAIT_S = 1.0                # how often an enabled, idle service looks for its context
TX_MAX = 4 * 1024 * 1024    # bytes held for a TCPATRUN peer that reads slowly
RETRY_S = 0.01

SILENT, STUCK, BLOCKED = 'silent', 'stuck', 'blocked'
SEVERITY = {None: 0, SILENT: 1, STUCK: 2, BLOCKED: 3}
ANY = '*'

# §3.8.2 note 6: these "cause an irreversible block of the TCP AT RUN mechanism"
TCP_BLOCKING = {
    ('+CGATT', '0'): BLOCKED, ('+CGACT', '0'): BLOCKED, ('+CGCLASS', 'CC'): BLOCKED,
    ('#SHDN', None): BLOCKED, ('#BND', '2'): BLOCKED, ('#BND', '3'): BLOCKED,
    ('Q', '1'): BLOCKED, ('Q', '2'): BLOCKED, ('#SIMDET', '0'): BLOCKED,
    ('+CFUN', '2'): BLOCKED, ('+CFUN', '4'): BLOCKED,
}


def line_effect(text, table):
    """The strongest effect in `table` of the commands on one command line (`text` with AT)."""
    try:
        commands = parse_line(text[2:])
    except ParseError:
        return None
    effect = None
    for cmd in commands:
        first = cmd.args[0] if cmd.op == 'set' and cmd.args else None
        found = table.get((cmd.name, first), table.get((cmd.name, ANY)))
        if SEVERITY[found] > SEVERITY[effect]:
            effect = found
    return effect


def ipv4_number(text):
    return int(ipaddress.IPv4Address(text))


class RemoteSession:
    """The channel behind a spawned AT port: its output sink, and the ATRUN rules for its lines."""

    srv = 0                     # #ATRUNDELAY <srv>: 0 TCPATRUN, 1 SMSATRUN
    blocking = TCP_BLOCKING

    def __init__(self, service, port, origin):
        self.service = service
        self.port = port
        self.dce = None
        self.timer = None
        self.effect = None
        self.closed = False
        port.attach(self)
        port.atrun_session = self
        port.atrun_origin = origin
        port.events = service.modem.events      # one event log for the whole module

    @property
    def nvm(self):
        return self.service.modem.atrun_nvm

    def timeout_s(self):
        raise NotImplementedError

    def queue_lines(self):
        """Whether lines that come while one runs are queued (else ignored, §3.4)."""
        return True

    def execute(self, raw, run):
        """Run one command line after #ATRUNDELAY, watched by the execution timeout."""
        text = raw.decode('latin-1').strip(' \x00')
        if text[:2].upper() != 'AT':
            run(raw)
            return
        self.effect = line_effect(text, self.blocking)
        self.timer = self.port.later(self.timeout_s(), self.service.command_timeout)
        delay = self.nvm.delay[self.srv]
        if delay:
            self.port.mode = 'busy'
            self.port.later(delay, run, raw)
        else:
            run(raw)

    def line_done(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        self.service.line_done(self)

    def close(self):
        """Take the port out of the module; it runs nothing more."""
        if self.closed:
            return
        self.closed = True
        ports = self.service.modem.module.ports
        if self.port in ports:
            ports.remove(self.port)
        # not from inside the port's own call stack, and not cancellable by a module reboot
        self.service.modem.loop.call_later(0, self.port.reset)


class TcpSession(RemoteSession):
    """A logged-in TCPATRUN connection (§3.2, §3.3) and its #TCPATCONSER bridge (§3.5)."""

    def __init__(self, service, port, conn, origin):
        self.conn = conn
        self.pending = bytearray()
        self.flush_timer = None
        self.bridged = False
        super().__init__(service, port, origin)

    def timeout_s(self):
        return self.nvm.tcp.timeout * 60

    def queue_lines(self):
        return bool(self.nvm.cmdseq)

    def to_dte(self, data):
        if not self.closed and not self.service.blocked:
            self.send(data)

    def send(self, data):
        room = TX_MAX - len(self.pending)
        if len(data) > room:
            self.service.modem.log('atrun_tx_overflow', lost=len(data) - room)
        self.pending += data[:room]
        self.flush()

    def flush(self):
        self.flush_timer = None
        if self.pending and not self.conn.closed:
            del self.pending[:self.conn.send(self.pending)]
            if self.pending:
                self.flush_timer = self.service.modem.later(RETRY_S, self.flush)

    def bridge(self):
        """#TCPATCONSER: the serial line and the TCP peer in transparent mode (§3.5)."""
        serial = self.service.modem
        serial.take_input(self.send)
        self.bridged = True
        self.port.go_online(serial.send, self._escaped)
        return 'CONNECT'

    def _escaped(self):
        self._unbridge()
        return 'OK'

    def _unbridge(self):
        if self.bridged:
            self.bridged = False
            serial = self.service.modem
            if serial.mode == 'raw':
                serial.release_input()

    def close(self):
        if self.flush_timer is not None:
            self.flush_timer.cancel()
        self._unbridge()
        super().close()


# -- services ---------------------------------------------------------------------------------

class TcpAtRun:
    """The TCPATRUN service of one module (T-RUN §3): listen (#TCPATRUNL) or dial (#TCPATRUND),
    log the peer in, and run what it sends on a spawned AT port."""

    def __init__(self, modem):
        self.modem = modem          # the module's first port: NVM, timers, network, serial line
        self.listener = None
        self.conn = None
        self.session = None
        self.login = None           # [user or None, field being typed] while authenticating
        self.login_timer = None
        self.blackhole = deque()
        self.requester = modem
        self.blocked = False
        self.wait_timer = None
        self.retry_timer = None
        self.attempts = 0
        self.gave_up = False
        self.announced = None
        self.claimed = False        # the service shows its <connId> as busy in #SS

    @property
    def nvm(self):
        return self.modem.atrun_nvm

    @property
    def cfg(self):
        return self.nvm.tcp

    def mode(self):
        return 'server' if self.nvm.server else 'client' if self.nvm.client else None

    def stat(self):
        """<stat> of #TCPATRUNL? (0/1) and #TCPATRUND? (0/1/2: waiting to retry), AT ref."""
        if self.listener is not None or self.conn is not None:
            return 1
        return 2 if self.retry_timer is not None else 0

    def _socket(self):
        return self.modem.socket(self.cfg.conn_id)

    def _cid(self):
        return self._socket().cfg[0]

    def _urc(self, text):
        port = self.requester if self.requester in self.modem.module.ports else self.modem
        # AT ref.: "Unsolicited is dumped on the instance that requested the service activation"
        port.urc(text)

    # -- starting and stopping --------------------------------------------------------------

    def enable(self):
        self.gave_up = False
        self.start()

    def start(self):
        """Listen or dial once the context of the service's socket is up (§3.1); until then,
        look again every WAIT_S (§3.2.1: the service also starts by itself after a reboot)."""
        self.wait_timer = None
        if (self.mode() is None or self.blocked or self.gave_up or self.listener is not None
                or self.conn is not None or self.retry_timer is not None):
            return
        if self.modem.interface_ip(self._cid()) is None or not self._socket().is_free():
            self.wait_timer = self.modem.later(WAIT_S, self.start)
            return
        if self.mode() == 'server':
            self._listen()
        else:
            self.attempts = self.cfg.retry_count
            self._dial()

    def _listen(self):
        try:
            self.listener = self.modem.net.tcp_listen(self.cfg.tcp_port, self)
        except NetError:
            self.modem.log('atrun_listen_failed', port=self.cfg.tcp_port)
            self.wait_timer = self.modem.later(WAIT_S, self.start)
            return
        self.modem.log('atrun_listen', port=self.listener.port)
        self._claim(LISTENING)

    def _dial(self):
        self.retry_timer = None
        host = self.cfg.host
        try:
            ipaddress.IPv4Address(host)
            if not is_loopback(host):
                # the emulator reaches only 127.0.0.0/8: the configured host stands for the
                # test's listener on 127.0.0.1
                self.modem.log('atrun_host_mapped', host=host)
                host = '127.0.0.1'
        except ValueError:
            pass                    # a name: Net resolves it through the hosts map
        self.modem.log('atrun_dial', host=self.cfg.host, port=self.cfg.host_port)
        self.conn = self.modem.net.tcp_connect(host, self.cfg.host_port, self)

    def _retry(self):
        if self.mode() != 'client' or self.blocked:
            return
        if self.attempts > 0:
            self.attempts -= 1
            self.retry_timer = self.modem.later(self.cfg.retry_delay * 60, self._dial)
        else:
            self.gave_up = True

    def _restart(self):
        """After a connection ends the service stays enabled and starts again (§3.6)."""
        if self.mode() == 'client' and self.wait_timer is None:
            self.gave_up = False
            self.wait_timer = self.modem.later(WAIT_S, self.start)

    def close_connection(self):
        """#TCPATRUNCLOSE: close the connection; the service restarts (§3.6)."""
        if self.conn is not None:
            self._end()
            self._restart()

    def stop(self, announce=True):
        """#TCPATRUNL=0 / #TCPATRUND=0, or a reboot (no URC then)."""
        if not announce:
            self.announced = None
        self._end()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        while self.blackhole:
            self.blackhole.popleft().abort()
        for timer in (self.wait_timer, self.retry_timer):
            if timer is not None:
                timer.cancel()
        self.wait_timer = self.retry_timer = None
        self._release_claim()

    def context_lost(self, cid):
        """The context of the service's socket went down: wait for it to come back (§3.2.1)."""
        if cid == self._cid() and self.mode() is not None:
            self.stop()
            self.gave_up = False
            self.wait_timer = self.modem.later(WAIT_S, self.start)

    def block(self):
        self.blocked = True
        self.modem.log('atrun_blocked', channel='tcp')

    # -- the <connId> in #SS (Fig. 8: '#SS: 1,4,<ip>,1024' while listening) -----------------

    def _claimable(self, sock):
        """Free, or still only claimed by the service (#SH/#SD may have taken it meanwhile)."""
        return sock.is_free() or (self.claimed and sock.conn is None and sock.listener is None)

    def _claim(self, state):
        sock = self._socket()
        if not self._claimable(sock):
            return
        self.claimed = True
        sock.state, sock.cid = state, self._cid()
        sock.listen_port = self.cfg.tcp_port if state == LISTENING else None
        if state == OPEN:
            sock.remote, sock.local_port = self.conn.remote, self.conn.local[1]
            sock.owner = self.session.port

    def _release_claim(self):
        sock = self._socket()
        if self.claimed and self._claimable(sock):
            sock.close()
        self.claimed = False

    # -- connections ------------------------------------------------------------------------

    def _firewall_allows(self, ip):
        number = ipv4_number(ip)
        # AT ref.: "Firewall general policy is DROP": without an ACCEPT chain nobody gets in
        return any(number & mask == rule & mask for rule, mask in self.nvm.frwl)

    def on_accept(self, listener, conn):
        if listener is not self.listener:
            conn.abort()
            return
        if not self._firewall_allows(conn.remote[0]):
            # AT ref.: "all packets that are not included into an ACCEPT chain rule are
            # silently discarded": the connection gets no answer at all
            self.modem.log('atrun_firewall_drop', remote=conn.remote)
            conn.pause()
            self.blackhole.append(conn)
            if len(self.blackhole) > BLACKHOLE_MAX:
                self.blackhole.popleft().abort()
            return
        if self.conn is not None:
            self.modem.log('atrun_busy', remote=conn.remote)
            conn.abort()
            return
        self.conn = conn
        self._announce(conn.remote[0])
        self.login = [None, bytearray()]
        # §3.2.2: "If the server timeout expires before receiving one of the two parameters,
        # the server (module) closes the connection"; the <timeout> of #TCPATRUNCFG is used
        self.login_timer = self.modem.later(self.cfg.timeout * 60, self._login_timeout)
        if self.cfg.auth_mode:
            conn.send(b'Username: ')

    def on_connect(self, conn):
        if conn is self.conn:
            self._announce(self.cfg.host)
            self._open_session('tcp_client')

    def on_error(self, conn, why):
        if conn is self.conn:
            self.conn = None
            self.modem.log('atrun_dial_failed', why=why)
            self._retry()

    def on_data(self, conn, data):
        if conn is not self.conn or self.blocked:
            return
        if self.session is not None:
            self.session.port.receive(data)
        else:
            self._login_feed(data)

    def on_close(self, conn, reset):
        if conn is self.conn:
            self.modem.log('atrun_peer_closed', reset=reset)
            self._end()
            self._restart()

    def _announce(self, address):
        if self.cfg.urc:
            self._urc(f'#TCPATRUN: {address}')          # AT ref.: #TCPATRUN: <iphostaddress>
            self.announced = address

    def _end(self):
        """The current connection is over (the listener, if any, stays)."""
        conn, self.conn = self.conn, None
        if conn is not None:
            conn.close()
        self._cancel_login()
        session, self.session = self.session, None
        if session is not None:
            session.close()
        if self.announced is not None:
            self.announced = None
            # AT ref. prints the disconnection URC as "#TCPATRUN: <DISCONNECT>"
            self._urc('#TCPATRUN: DISCONNECT')
        if self.listener is not None:
            self._claim(LISTENING)
        else:
            self._release_claim()

    # -- login (§3.2.2) ---------------------------------------------------------------------

    def _login_feed(self, data):
        typed = self.login[1]
        for i, byte in enumerate(data):
            if byte == CR:
                text = typed.decode('latin-1')
                typed.clear()
                self._login_field(text)
                if self.session is not None:
                    rest = data[i + 1:].lstrip(b'\n\0')     # Telnet ends a line with CR LF
                    if rest:
                        self.session.port.receive(rest)
                if self.login is None:                      # logged in or refused
                    return
            elif byte not in (LF, NUL) and len(typed) < LOGIN_FIELD_MAX:
                typed.append(byte)

    def _login_field(self, text):
        """One CR-terminated field: the user, then the password."""
        if self.login[0] is None:
            self.login[0] = text
            if self.cfg.auth_mode:
                if any(user == text for user, _ in self.nvm.auth):
                    self.conn.send(b'\r\nPassword: ')
                else:
                    self._refuse('user')
        elif (self.login[0], text) not in self.nvm.auth:
            self._refuse('password')
        else:
            if self.cfg.auth_mode:
                self.conn.send(b'\r\nLogin successful.\r\n')
            self._cancel_login()
            self._open_session('tcp_server')

    def _refuse(self, why):
        # §3.2.2.1: "otherwise the server (module) will immediately close the connection"
        self.modem.log('atrun_login_refused', why=why)
        self._end()

    def _login_timeout(self):
        self.login_timer = None
        self.modem.log('atrun_login_timeout')
        self._end()

    def _cancel_login(self):
        self.login = None
        if self.login_timer is not None:
            self.login_timer.cancel()
            self.login_timer = None

    def _open_session(self, origin):
        try:
            port = self.modem.spawn_instance()
        except RuntimeError:
            self.modem.log('atrun_no_instance')
            self._end()
            return
        self.session = TcpSession(self, port, self.conn, origin)
        self._claim(OPEN)
        self.modem.log('atrun_session', origin=origin, remote=self.conn.remote)

    # -- what the session reports -----------------------------------------------------------

    def line_done(self, session):
        if session.effect == BLOCKED:
            self.block()

    def command_timeout(self):
        self.modem.log('atrun_command_timeout', channel='tcp')
        self.modem.reboot()
