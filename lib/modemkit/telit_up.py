"""Telit bring-up (s4.2, s5.4, s5.9, s6.1, s8.3.1): the platform, the PDP context, the
sockets' settings and the context's activation, imported while the lifecycle runs them and
dropped after (modem._step). Each function takes the Telit driver `q`."""
from modemkit import sock
from modemkit.modem import Modem
from modemkit.sched import Return
from modemkit.sock import NetError


def configure(q):
    yield Modem.configure(q)
    c = q.cfg
    ctx = q.ctx
    p = c.get('platform')
    if p is None:
        r = yield q.q('AT+CGMR')
        p = 0
        for ch in bytearray(r.line(0) if r.nlines else b''):
            if not 48 <= ch <= 57:
                break
            p = p * 10 + ch - 48
    q.plat = p
    yield q.q('AT+CGDCONT=%d,"IP","%s"' % (ctx, c.get('apn', '')))
    for i in range(1, q.MAX_SOCKETS + 1):
        if i in c.get('reserved', ()):
            continue           # e.g. TCPATRUN's connId (T-RUN s3.1): not ours to reset
        # s6.1: #SCFG only changes a closed socket. Every socket goes to our cid (2G/3G
        # must bind a cid before #SGACT, s4.2.5), inactivity timeout 0 = never (T-RUN
        # s3.9), then SRING in Data amount mode (s8.3.1)
        yield q.q('AT#SH=%d;#SCFG=%d,%d,1500,0,600,50;#SCFGEXT=%d,1,0,0' % (i, i, ctx, i))
    if c.get('user'):
        auth = c.get('auth', 1)
        if p < 20:
            # s4.2.4; user and password go on #SGACT
            yield q.q('AT#SGACTAUTH=%d' % auth)
        else:
            # s5.9.1 ID 20/25 (23: not in the guide), s5.9.2 ID 30/37
            yield q.q('AT%s=%d,%d,"%s","%s"' % ('+CGAUTH' if p >= 30 else '#PDPAUTH', ctx,
                                              auth, c['user'], c.get('password', '')),
                      secret=True)
    raise Return('platform %d, context %d' % (p, ctx))


def activate(q):
    ctx = q.ctx
    r = yield q.q('AT#SGACT?', 5000, b'#SGACT:')
    k = 0
    exp = b'#SGACT:'
    if q._up(r) == 1:
        t = 'AT#CGPADDR=%d' % ctx             # s4.4: already up, ask its address
        exp = b'#CGPADDR:'
        k = 1
    else:
        # s5.4: on 4G cid 1 may carry the attach's bearer and still need #SGACT for the
        # interface sockets use; never +CGACT (s4.3). The guide gives no response time.
        t = 'AT#SGACT=%d,1' % ctx
        if q.cfg.get('user') and q.plat < 20:     # 2G/3G: s4.2, A.1.1 #5
            t += ',"%s","%s"' % (q.cfg['user'], q.cfg.get('password', ''))
    r = yield q.q(t, 150000, exp, secret=bool(q.cfg.get('user')))
    ip = r.text(0, k) if r.nlines else None   # #SGACT: <ip>, quoted or not (A.7 #18)
    if not ip:
        raise NetError(sock.EIO, 'no address for context %d' % ctx)
    q.ip = ip
    raise Return('ip ' + ip)
