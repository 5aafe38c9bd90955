"""Quectel services a device uses now and then, imported on first use so that one which never
does holds none of their code (see README, "Memory"): a listener and its incoming connections,
the UDP service and sendto, DNS, ping and NTP (QL s2.1.4, s2.1.7, s2.1.11, s2.1.12, s2.1.14).
Each function takes the Quectel driver `q`; the driver's methods of the same names call them.
"""
from modemkit import at, sock, unload
from modemkit.sched import Event, Return

BACKLOG = 4                      # accepted connections a listener holds before refusing


def incoming(q, line):
    # +QIURC: "incoming",<connectID>,<serverID>,<remoteIP>,<remote_port> (QL s2.2.4)
    cid = line.num(1, -1)
    lst = q.sock_by_id(line.num(2, -1))
    i = cid - q.first_id
    # a <serverID> that names no listener (a garbled line, or a client socket's id) is refused
    if lst is None or lst.backlog is None or not 0 <= i < len(q.socks) or \
            q.socks[i] is not None or len(lst.backlog) >= BACKLOG:
        q.log('quectel: refusing incoming connection %d' % cid)
        return
    s = sock.Socket(q, sock.TCP, q.rx_size, q.tx_size)
    s.id = cid
    s.state = sock.OPEN
    s.addr = (line.text(3), line.num(4, 0))
    q.socks[i] = s
    lst.backlog.append(s)
    lst.ev.set()


def on_service(q, line):
    if q._svc_ev is None or len(q._svc) >= 16:
        return
    q._svc.append(line.bytes())
    if line.startswith(q.DNSGIP) and len(q._svc) == 1:
        # +QIURC: "dnsgip",<err>,<IP_count>,<DNS_ttl>, then IP_count address lines
        q._svc_want = 1 + line.num(2, 0) if line.num(1, -1) == 0 else 1
    elif line.startswith(b'+QPING:') and (line.num(0, -1) != 0 or
                                          line.num(1) is not None):
        # QL s2.1.11: an error code, or the summary (numbers where replies have an IP)
        q._svc_want = len(q._svc)
    if len(q._svc) >= q._svc_want:
        q._svc_ev.set()


def listen(q, port_, timeout_ms):
    """A listener on the module's local port; accept() gives connected sockets."""
    q.need('listen')
    s = yield q.new_socket(sock.LISTENER, timeout_ms)
    s.backlog = []
    yield q._open(s, 2, '127.0.0.1', 0, port_, timeout_ms)   # QL s2.1.4
    raise Return(s)


def udp_service(q, port_, timeout_ms):
    """A UDP socket bound to a local port: recv_into() datagrams from anyone, sendto()."""
    q.need('udp')
    s = yield q.new_socket(sock.UDP, timeout_ms)
    yield q._open(s, 3, '127.0.0.1', 0, port_, timeout_ms)
    s.res = 'service'
    raise Return(s)


def sendto(q, s, data, addr, timeout_ms):
    """UDP service: one datagram to addr (QL s2.1.7, the <remoteIP>,<remote_port> form)."""
    c = at.Cmd(size=64, timeout_ms=10000, prompt=at.PROMPT_GT)
    c.add(b'AT+QISEND=').add(s.id).add(',%d,"%s",%d' % (len(data), addr[0], addr[1]))
    r = yield q.chan.send(c)
    if r.status == at.PROMPT:
        r = yield q.chan.send_data(data)
    if r.status != at.OK:
        raise sock.NetError(sock.EIO, 'socket %d: sendto: %s' % (s.id, r.error()))


def service(q, text, want, timeout_ms):
    yield q.wait_ready(timeout_ms)
    q._svc = []
    q._svc_want = want
    ev = q._svc_ev = Event(q.sched)
    try:
        # a command of its own: q.q() is the supervisor's, which may need it meanwhile
        r = yield q.chan.send(at.Cmd(text, 5000))
        if r.status != at.OK:
            raise sock.NetError(sock.EIO, '%s: %s' % (text, r.error()))
        if not (yield ev.wait(timeout_ms)):
            raise sock.TimedOut(sock.ETIMEDOUT, '%s: no result in %d ms' % (text, timeout_ms))
        raise Return(q._svc)
    finally:
        q._svc_ev = None
        _unload_unless_serving(q)


def _unload_unless_serving(q):
    # DNS, ping and NTP are one-off requests (NTP typically once at boot): afterwards this
    # module leaves the heap, unless a listener or a UDP service, whose URCs it handles, is open.
    for s in q.socks:
        if s is not None and (s.backlog is not None or s.res == 'service'):
            return
    unload('quectel_svc')


def resolve(q, host, timeout_ms):
    """The first IPv4 address of host (QL s2.1.14, up to 60 s)."""
    q.need('dns')
    lines = yield service(q, 'AT+QIDNSGIP=%d,"%s"' % (q.ctx, host), 1, timeout_ms)
    head = at.Line(bytearray(lines[0]))
    head.n = len(lines[0])
    if head.num(1, -1) != 0 or len(lines) < 2:
        raise sock.NetError(sock.EIO,
                            'DNS lookup of %s failed: error %d' % (host, head.num(1, -1)))
    first = at.Line(bytearray(lines[1]))
    first.n = len(lines[1])
    raise Return(first.text(1))


def ping(q, host, count, timeout_s):
    """(sent, received, lost, min_ms, max_ms, avg_ms) for `count` echo requests."""
    q.need('ping')
    lines = yield service(q, 'AT+QPING=%d,"%s",%d,%d' % (q.ctx, host, timeout_s, count),
                          99, (timeout_s * count + 10) * 1000)
    last = at.Line(bytearray(lines[-1]))
    last.n = len(lines[-1])
    if last.num(0, -1) != 0:
        raise sock.NetError(sock.EIO, 'ping %s failed: error %d' % (host, last.num(0, -1)))
    raise Return(tuple(last.num(k, 0) for k in range(1, 7)))


def ntp(q, server, port_, timeout_ms):
    """The network time as 'YYYY/MM/DD,hh:mm:ss+zz' (QL s2.1.12, up to 125 s)."""
    q.need('ntp')
    lines = yield service(q, 'AT+QNTP=%d,"%s",%d' % (q.ctx, server, port_), 1, timeout_ms)
    ln = at.Line(bytearray(lines[0]))
    ln.n = len(lines[0])
    if ln.num(0, -1) != 0:
        raise sock.NetError(sock.EIO, 'NTP from %s failed: error %d' % (server, ln.num(0, -1)))
    raise Return(ln.text(1))
