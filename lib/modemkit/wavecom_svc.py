"""Wavecom services a device uses now and then (MT App. B listener, MT Chapter 7 ping, GP s5
SNTP), imported on first use so that one which never does holds none of their code (see
README, "Memory"). Each function takes the Wavecom driver `q`; the driver's methods of the same
names call them."""
from modemkit import sock
from modemkit.sched import Return


def listen(q, port_, timeout_ms=30000):
    """A one-shot listener on the module's port (MT App. B): accept() gives one client."""
    q.need('listen')
    s = yield q.new_socket(sock.LISTENER, timeout_ms)
    s.backlog = []
    try:
        # "255.255.255.255": no filter on the client's address (MT App. B)
        yield q._param('#TCPSERV', '1,"255.255.255.255"')
        yield q._param('#TCPPORT', '1,%d' % port_)
        q.lst = s          # its client may come right after the OK (GP s7.3.3)
        yield q._do('AT#LTCPSTART=1')
    except BaseException:
        q.lst = None
        q.forget(s)
        raise
    s.state = sock.OPEN
    raise Return(s)


def ping(q, host, count=4, timeout_s=4):
    """(sent, received, lost, min_ms, max_ms, avg_ms), MT Chapter 7. One response line per
    request: beyond the channel's max_lines (12) they are not counted."""
    q.need('ping')
    yield q._ready(30000, 'ping')
    got = []
    try:
        yield q._param('#PINGREMOTE', '"%s"' % host)
        yield q._param('#PINGNUM', '%d' % count)
        # #PINGDELAY: the wait for a reply, and the interval between requests
        yield q._param('#PINGDELAY', '%d' % timeout_s)
        r = yield q._do('AT#PING', (count * timeout_s + 10) * 1000)
        for i in range(r.nlines):
            ln = r.line(i)            # '"host" is alive : time = 900 ms'
            k = ln.find(b'= ')
            if k > 0 and ln.endswith(b' ms') and ln[k + 2:-3].isdigit():
                got.append(int(ln[k + 2:-3]))     # a garbled time is no reply counted
    finally:
        q.hold = None
    n = len(got)
    if not n:
        raise Return((count, 0, count, 0, 0, 0))
    raise Return((count, n, count - n, min(got), max(got), sum(got) // n))


def ntp(q, server, port_=123, timeout_ms=60000):
    """The module's clock set by SNTP, as it prints it: 'yy/mm/dd,hh:mm:ss' with the
    AT+EGNTPUTC offset (GP s5)."""
    q.need('ntp')
    yield q._ready(30000, 'ntp')
    try:
        yield q._param('+EGNTPPORT', '%d' % port_)
        t = min(max(timeout_ms // 1000, 10), 300)
        r = yield q._do('AT+EGNTP=2,"%s",%d,1' % (server, t), timeout_ms + 5000)
        when = r.line(0).decode() if r.nlines else None
    finally:
        q.hold = None
    raise Return(when)
