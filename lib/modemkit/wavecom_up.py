"""Wavecom bring-up (MT App. A/B, C.3, GP s8): the TCP/IP stack's parameters and the GPRS
bearer, imported while the lifecycle runs them and dropped after (modem._step). Each function
takes the Wavecom driver `q`."""
from modemkit import sock
from modemkit.at import OK
from modemkit.modem import Modem
from modemkit.sched import Return
from modemkit.sock import NetError
from modemkit.wavecom import _why


def configure(q):
    yield Modem.configure(q)
    c = q.cfg
    if not q.gp:
        yield q.q('AT+WOPEN=1')        # MT App. A: "Start the TCP/IP stack"
    for name, value in (('#GPRSMODE', '1'), ('#APNSERV', '"%s"' % c.get('apn', '')),
                        ('#APNUN', '"%s"' % c.get('user', '')),
                        ('#APNPW', '"%s"' % c.get('password', '')),
                        ('#DLEMODE', '1,1')):     # C.3: ETX closes, ETX/DLE escaped
        yield q._param(name, value)
    raise Return('stack configured')


def activate(q):
    yield q.q('AT+CGATT=1', 75000)
    if q.gp:
        # GP s8: #CONNECTIONSTART sooner than 500 ms after that OK gets 35866
        yield q.sched.sleep_ms(600)
    # stop first a bearer left up by a resync (#CONNECTIONSTART would say 35840)
    yield q.q('AT#CONNECTIONSTOP', 10000, ok=False)
    r = yield q.q('AT#CONNECTIONSTART', 120000, ok=False)
    if r.status != OK or not r.nlines:
        raise NetError(sock.EIO, 'AT#CONNECTIONSTART: ' + _why(r.code, r.error()))
    # the IP alone on a line, then OK_Info_GPRSActivation and no OK (C.8 #6)
    q.ip = r.text(0, 0)
    raise Return('ip ' + q.ip)
