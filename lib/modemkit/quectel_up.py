"""Quectel bring-up (QL s2.1.1-s2.1.3, s2.1.15, s2.1.16): the configuration and the PDP
context's activation, imported while the lifecycle runs them and dropped after (modem._step).
Each function takes the Quectel driver `q`."""
from modemkit import sock
from modemkit.modem import Modem
from modemkit.sched import Return
from modemkit.sock import NetError


def configure(q):
    yield Modem.configure(q)
    c = q.cfg
    yield q.q('AT+QICSGP=%d,1,"%s","%s","%s",%d' % (
        q.ctx, c.get('apn', ''), c.get('user', ''), c.get('password', ''),
        c.get('auth', 0)), secret=True)
    yield q.q('AT+QISDE=0')            # QL s2.1.16: do not echo sent data
    # sockets an earlier run left open (the MCU restarted, the module did not) would make
    # every AT+QIOPEN of their connectID fail with 563 (QL s4): close them (QL s2.1.6)
    r = yield q.q('AT+QISTATE?', 5000, b'+QISTATE:', ok=False)
    stale = [r.num(i, 0) for i in range(r.nlines)]
    for cid in stale:
        yield q.q('AT+QICLOSE=%d' % cid, 11000, ok=False)
    # QL s2.1.15: a lost '>' must not leave the module waiting for data that we will
    # never send (it would swallow the next commands): give up the prompt after 2 s.
    yield q.q('AT+QICFG="qisend/timeout",2000')
    raise Return('context %d configured' % q.ctx)


def activate(q):
    ip = yield _context_ip(q)
    if ip is None:
        yield q.q('AT+QIACT=%d' % q.ctx, 150000)    # QL s2.1.2: up to 150 s
        ip = yield _context_ip(q)
    if ip is None:
        raise NetError(sock.EIO, 'context %d not active after AT+QIACT' % q.ctx)
    q.ip = ip
    raise Return('ip ' + ip)


def _context_ip(q):
    r = yield q.q('AT+QIACT?', 5000, b'+QIACT:')
    for i in range(r.nlines):
        if r.num(i, 0) == q.ctx and r.num(i, 1) == 1:
            raise Return(r.text(i, 3))
    raise Return(None)
