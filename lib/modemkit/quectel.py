"""Quectel LTE Standard modules (EC2x, EG2x, EG9x, EM05): the TCP/IP AT commands of the
"LTE Standard TCP/IP Application Note" V1.1 (cited as QL sx).

Sockets use buffer access mode (QL s1.2): `+QIURC: "recv",<id>` says data waits, and the I/O
task drains it with AT+QIRD until `+QIRD: 0`, asking for no more than the socket has room for, so
a slow reader holds data back in the module instead of losing it. Board option `push: true` selects
direct push mode instead (the module sends data unasked; what does not fit is counted as lost).
"""
from modemkit.at import Cmd, OK, FAIL, NO_PROMPT
from modemkit.modem import Modem, ATTACH, fail
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Return
from modemkit import sock
from modemkit.sock import UDP

_RECV = b'+QIURC: "recv",'
_CLOSED = b'+QIURC: "closed",'
_INCOMING = b'+QIURC: "incoming",'
_PDPDEACT = b'+QIURC: "pdpdeact"'
SERVICE = ('"TCP"', '"UDP"', '"TCP LISTENER"', '"UDP SERVICE"')


class Quectel(Modem):
    CAPS = ('tcp', 'udp', 'listen', 'dns', 'ping', 'ntp')
    MAX_SOCKETS = 12             # connectID 0-11 (QL s2.1.4)
    SEND_CHUNK = 1460            # QL s2.1.7: <send_length> <= 1460
    READ_CHUNK = 1500            # QL s2.1.8: <read_length> <= 1500
    SEND_CMD = b'AT+QISEND='     # QL s2.1.7: fixed length, prompt, SEND OK
    DNSGIP = b'+QIURC: "dnsgip",'   # here, not a module global: quectel_svc reads it as q.DNSGIP
    SEND_FULL = b'SEND FAIL'     # "the sending buffer is full and the data can be tried again"
    BOOT_URCS = (b'RDY',)

    def __init__(self, sched, uart, cfg=None, log=None, **chan_args):
        Modem.__init__(self, sched, uart, cfg, log, **chan_args)
        self.ctx = self.cfg.get('context', 1)
        self.push = self.cfg.get('push', False)
        ch = self.chan
        ch.add_final(b'SEND OK', OK)
        ch.add_final(b'SEND FAIL', FAIL)
        ch.on(b'+QIOPEN:', self._on_open)
        ch.on(b'+QIURC:', self._on_urc)
        ch.on(b'+QPING:', self._on_service)
        ch.on(b'+QNTP:', self._on_service)
        self._svc = None           # URC lines of the DNS/ping/NTP request in progress
        self._svc_want = 0         # how many lines complete it
        self._svc_ev = None        # set while one is in progress
        self._fq = [None, None]    # fetch(): its generator, the socket it reads

    # -- lifecycle: configure() and activate() are in quectel_up, loaded while they run ----
    UP = 'modemkit.quectel_up'

    def cleanup(self, back):
        if back == ATTACH:
            # QL s2.2.5: after "pdpdeact" the host must deactivate before activating again
            yield self.q('AT+QIDEACT=%d' % self.ctx, 40000, ok=False)

    # -- URCs (run inside the AT reader task: set state, never block) -------------------------
    def _on_open(self, line):
        s = self.sock_by_id(line.num(0, -1))
        if s is not None:
            s.res = line.num(1, -1)
            s.ev.set()

    def _on_urc(self, line):
        if line.startswith(_RECV):
            s = self.sock_by_id(line.num(1, -1))
            if s is None:
                return
            if self.push:
                n = line.num(2, 0)
                if s.kind == UDP and line.num(3, -1) < 0 and line.text(3) is not None:
                    s.addr = (line.text(3), line.num(4, 0))
                self.chan.read_raw(n, s.put_fn)
            else:
                s.pending = True
                self.kick()
        elif line.startswith(_CLOSED):
            s = self.sock_by_id(line.num(1, -1))
            if s is not None:
                s.rclosed = True       # QL s2.2.1: drain what is buffered, then QICLOSE
                s.pending = True
                self.kick()
        elif line.startswith(_INCOMING):
            _svc().incoming(self, line)         # only with a listener: the module is loaded
        elif line.startswith(_PDPDEACT):
            self._trouble(ATTACH, 'PDP context deactivated by the network')
        elif line.startswith(self.DNSGIP):
            self._on_service(line)

    def _on_service(self, line):
        if self._svc_ev is not None:            # a request of quectel_svc is in progress
            _svc().on_service(self, line)

    # -- sockets ---------------------------------------------------------------------------
    def _open(self, s, service, host, port_, lport, timeout_ms):
        s.res = None
        s.ev.clear()
        c = Cmd(size=160, timeout_ms=10000)
        c.add('AT+QIOPEN=%d,%d,%s,"%s",%d,%d,%d' % (self.ctx, s.id, SERVICE[service], host,
                                                   port_, lport, 1 if self.push else 0))
        r = yield self.chan.send(c)
        if r.status == FAIL:
            # QL chapter 4, error 563 "socket identity has been used": the module still holds
            # this connectID (our AT+QICLOSE was lost on the line): close it, try once more
            k = Cmd(size=24, timeout_ms=11000)
            k.add(b'AT+QICLOSE=').add(s.id)
            yield self.chan.send(k)
            r = yield self.chan.send(c)
        if r.status != OK:
            raise sock.Refused(sock.ECONNREFUSED, '%s: %s' % (c.text(), r.error()))
        # QL s2.1.4: OK only accepts the command; +QIOPEN: <id>,<err> follows within 150 s.
        # Other news of the socket (pushed data, a close) sets its event too: wait out what is
        # left of the time, the event cleared, or a set event would have this loop spin.
        clock = self.sched.clock
        end = None if timeout_ms is None else ticks_add(clock.ticks_ms(), timeout_ms)
        while s.res is None:
            left = None if end is None else ticks_diff(end, clock.ticks_ms())
            s.ev.clear()
            if left is not None and left <= 0 or not (yield s.ev.wait(left)):
                yield self.close(s)
                raise sock.TimedOut(sock.ETIMEDOUT, 'no +QIOPEN for socket %d' % s.id)
        if s.res != 0:
            err = s.res
            yield self.close(s)
            if err == 561 or err == 570:
                # QL chapter 4: the context cannot carry traffic ("Open PDP context failed",
                # "PDP context broken") though no "pdpdeact" came: attach again, as after one
                self._trouble(ATTACH, 'context unusable (+QIOPEN error %d)' % err)
            raise sock.Refused(sock.ECONNREFUSED,
                               'open %s:%d failed: error %d' % (host, port_, err))
        s.state = sock.OPEN

    def data_cmd(self, s, host, port_):
        # QL 2.1.4 <access_mode> 2: CONNECT, then transparent access mode (QL 1.2); QL 2.1.10
        # AT+QISWTMD=<id>,2 returns to it. "transwaittm" 1: a tail shorter than "transpktsize"
        # leaves after 100 ms instead of the default 200 (QL 2.1.15)
        if host is None:
            return 'AT+QISWTMD=%d,2' % s.id
        return 'AT+QICFG="transwaittm",1;+QIOPEN=%d,%d,"TCP","%s",%d,0,2' % (
            self.ctx, s.id, host, port_)

    def connect(self, s, host, port_, timeout_ms):
        return self._open(s, s.kind, host, port_, 0, timeout_ms)     # no frame of its own

    # -- services, in quectel_svc: imported on first use ----------------------------------
    def listen(self, port_, timeout_ms=30000):
        """A listener on the module's local port; accept() gives connected sockets."""
        return _svc().listen(self, port_, timeout_ms)

    def udp_service(self, port_, timeout_ms=30000):
        """A UDP socket bound to a local port: recv_into() datagrams from anyone, sendto()."""
        return _svc().udp_service(self, port_, timeout_ms)

    def sendto(self, s, data, addr, timeout_ms):
        return _svc().sendto(self, s, data, addr, timeout_ms)

    def resolve(self, host, timeout_ms=60000):
        """The first IPv4 address of host (QL s2.1.14, up to 60 s)."""
        return _svc().resolve(self, host, timeout_ms)

    def ping(self, host, count=4, timeout_s=4):
        """(sent, received, lost, min_ms, max_ms, avg_ms) for `count` echo requests."""
        return _svc().ping(self, host, count, timeout_s)

    def ntp(self, server, port_=123, timeout_ms=125000):
        """The network time as 'YYYY/MM/DD,hh:mm:ss+zz' (QL s2.1.12, up to 125 s)."""
        return _svc().ntp(self, server, port_, timeout_ms)

    def send_refused(self, s):
        # QL s2.1.7: ERROR means closed, or a bad parameter (a garbled command line)
        r = yield self._connected(s)
        raise Return(r)

    def _connected(self, s):
        c = Cmd(size=24, timeout_ms=2000, expect=b'+QISTATE:')
        c.add(b'AT+QISTATE=1,').add(s.id)
        r = yield self.chan.send(c)
        raise Return(r.status == OK and r.nlines > 0 and r.num(0, 5) == 2)   # 2 = "Connected"

    def fetch(self, s):
        # The I/O task's alone, one at a time: it hands out the same generator each time
        # (sched.ret), since a new one per read took its frame's heap at every "recv" URC, two
        # reads per incoming packet (QL s2.1.8)
        q = self._fq
        q[1] = s
        if q[0] is None:
            q[0] = self._fetcher(q)
        return q[0]

    def _fetcher(self, q):
        try:
            while True:
                s = q[1]
                c = self._c_io
                c.clear().add(b'AT+QIRD=').add(s.id)
                c.timeout_ms = 5000
                c.prompt = NO_PROMPT
                if s.res != 'service':
                    room = s.room()
                    c.add(b',').add(room if room < self.READ_CHUNK else self.READ_CHUNK)
                c.expect = b'+QIRD:'
                c.put = s.put_fn
                # Cleared before asking: a "recv" URC that lands after this read's answer (the
                # module sends it once the buffer is empty again) must not be lost.
                s.pending = False
                r = yield self.chan.send(c)
                c.put = None
                if r.status != OK:
                    raise fail(c, r)
                if r.nlines and r.num(0, 0, 0) > 0:      # garbled length: as 0, not a TypeError
                    s.pending = True           # QL s2.1.8: keep reading until +QIRD: 0
                elif s.rclosed and not s.pending:
                    s.peer_closed()
                if s.kind == UDP and r.nlines:
                    t = r.text(0, 1)
                    if t is not None:
                        s.addr = (t, r.num(0, 2, 0))
                q[1] = s = r = None
                yield self.sched.ret()
        finally:
            q[0] = q[1] = None           # ended by an error or a cancel: fetch() makes another

    def close(self, s):
        self.forget(s)
        c = Cmd(size=24, timeout_ms=11000)        # QL s2.1.5: at most 10 s
        c.add(b'AT+QICLOSE=').add(s.id)
        yield self.chan.send(c)


def _svc():
    # the services' code stays out of the heap until a device first uses one (README, "Memory")
    from modemkit import quectel_svc
    return quectel_svc
