"""The modem lifecycle's generic steps (power, sync, SIM, register, recover), imported when the
supervisor runs one and dropped again when it ends (modem._step): a running device holds none
of their code or constants (README, "Memory"). Each function takes the driver `m` (a
modem.Modem) and is a generator the supervisor runs."""
from modemkit import at, port, sock
from modemkit.port import const
from modemkit.sched import Return
from modemkit.sock import NetError

# modem.POWER.. modem.RECOVER (modem imports this module: it cannot import modem)
_POWER = const(1)
_SYNC = const(2)
_SIM = const(4)
_ATTACH = const(6)
_RECOVER = const(8)


def step(m, st, backoff_ms):
    """The step that takes the modem out of state `st`: POWER, SYNC, SIM, REGISTER or RECOVER
    (the dialect's sync() method, when it has one, in place of sync())."""
    if st == _POWER:
        return power(m)
    if st == _SYNC:
        own = getattr(m, 'sync', None)
        return own() if own is not None else sync(m)
    if st == _SIM:
        return sim(m)
    if st == _RECOVER:
        return recover(m, backoff_ms)
    return register(m)


def power(m):
    p = m.cfg.get('power')
    if not p:
        raise Return('no power control')
    port.pin_write(p['pin'], 1)
    yield m.sched.sleep_ms(p.get('pulse_ms', 500))
    port.pin_write(p['pin'], 0)
    yield m.sched.sleep_ms(p.get('boot_ms', 5000))
    raise Return('power key pulsed')


def sync(m):
    for _ in range(m.cfg.get('sync_tries', 20)):
        r = yield m.q('AT', 500, ok=False)
        if r.status == at.OK:
            raise Return('answering')
    raise sock.TimedOut(sock.ETIMEDOUT, 'no answer to AT')


def sim(m):
    for _ in range(10):
        r = yield m.q('AT+CPIN?', 5000, b'+CPIN:', ok=False)
        if r.status == at.OK and r.nlines and r.line(0).find(b'READY') >= 0:
            raise Return('sim ready')
        yield m.sched.sleep_ms(1000)
    raise NetError(sock.EIO, 'SIM not ready')


def register(m):
    waited = 0
    limit = m.cfg.get('reg_timeout_ms', 180000)
    while waited <= limit:
        for query, prefix in m.REG_QUERIES:
            r = yield m.q(query, 1000, prefix, ok=False)
            if r.status == at.OK and r.nlines and r.num(0, 1) in (1, 5):
                raise Return('registered')
        yield m.sched.sleep_ms(1000)
        waited += 1000
    raise sock.TimedOut(sock.ETIMEDOUT, 'not registered after %d ms' % limit)


def recover(m, backoff_ms):
    sched = m.sched
    plan = m.cfg.get('backoff_ms', backoff_ms)
    wait = plan[min(m.failures, len(plan)) - 1] if m.failures else 0
    lad = getattr(m, 'ladder', None)
    rung = 3                   # without a ladder: power-cycle if the board can, else reset
    if lad is not None:
        rung = lad.rung()
        m.log('modem: recovery ladder: failure %d, %s' % (
            lad.failures, ('reconnect', 're-attach', 'module reset', 'power cycle')[rung]))
        if rung < 2:           # ladder.RECONNECT, ladder.REATTACH: try the step again
            back = lad.failed_at if lad.failed_at < _ATTACH else _ATTACH
            if rung == 1 and back == _ATTACH:
                yield m.cleanup(_ATTACH)      # the context deactivated first
            m._set(back, 'ladder')
            raise Return()
        # resets and power cycles: the back-off counts those of earlier runs of the MCU too
        k = lad.failures - lad.steps[0] - lad.steps[1]
        wait = plan[min(k, len(plan)) - 1] if k > 0 else 0
    if wait:
        m.log('modem: waiting %d s before resetting the module' % (wait // 1000))
        yield sched.sleep_ms(wait)
    p = m.cfg.get('power')
    if p and rung == 3:
        m._set(_POWER, 'power cycle')
        raise Return()
    yield m.q(m.RESET, 15000, ok=False)
    yield sched.sleep_ms(m.cfg.get('boot_ms', 3000))
    m._set(_SYNC, 'module reset')
