"""The recovery ladder: its count on flash, and the modem lifecycle climbing it against a fake
module that stops answering (reconnect, re-attach, module reset, power cycle), including an MCU
that restarts in the middle of the ladder. Portable subset. (tests/host/drivers/test_recovery_ladder.py
does the same with the Quectel driver against the emulator; here a small 3GPP-like dialect
keeps the test inside MicroPython's 64K heap.)"""
import gc

from mktest import tmpdir
from modemkit import at, port, sock
from modemkit.ladder import Ladder, RECONNECT, REATTACH, RESET, POWER
from modemkit.modem import Modem, ATTACH
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Return


# -- the ladder itself ---------------------------------------------------------------------
def test_rungs_climb_and_a_success_goes_back_to_the_bottom():
    path = tmpdir() + '/ladder'
    lad = Ladder(path, (2, 2, 2))
    assert lad.failures == 0 and lad.rung() == RECONNECT
    got = [lad.fail() for _ in range(9)]
    assert got == [RECONNECT, RECONNECT, REATTACH, REATTACH, RESET, RESET, POWER, POWER,
                   POWER], got
    lad.ok()
    assert lad.failures == 0 and Ladder(path).failures == 0
    assert lad.fail() == RECONNECT


def test_the_count_survives_a_restart_and_nothing_is_written_while_healthy():
    import os
    d = tmpdir()
    path = d + '/ladder'
    lad = Ladder(path, (1, 1, 1))
    lad.ok()
    assert 'ladder' not in os.listdir(d)         # a healthy device never writes the file
    lad.fail()
    lad.fail()
    again = Ladder(path, (1, 1, 1))              # the MCU restarted
    assert again.failures == 2 and again.rung() == REATTACH
    assert again.fail() == RESET and again.fail() == POWER
    assert os.listdir(d) == ['ladder']           # no temporary file left behind


def test_a_corrupt_file_counts_as_the_bottom():
    for junk in (b'', b'garbage\n', b'-5\n', b'99999999999\n', b'\xff\x00'):
        path = tmpdir() + '/ladder'
        f = open(path, 'wb')
        f.write(junk)
        f.close()
        lad = Ladder(path)
        assert lad.failures == 0, junk
        assert lad.fail() == RECONNECT


# -- the driver against a module that stops answering --------------------------------------
class Dialect(Modem):
    """The lifecycle of modemkit.modem with a context (3GPP TS 27.007 s10.1.10 +CGACT) and a
    stand-in open command, AT+OPEN=<id> (OK: connected)."""
    CAPS = ('tcp',)
    MAX_SOCKETS = 2

    def activate(self):
        r = yield self.q('AT+CGACT?', 5000, b'+CGACT:')
        if not (r.nlines and r.num(0, 1) == 1):
            yield self.q('AT+CGACT=1,1', 150000)
        raise Return('context active')

    def cleanup(self, back):
        if back == ATTACH:
            yield self.q('AT+CGACT=0,1', 40000, ok=False)

    def connect(self, s, host, port_, timeout_ms):
        c = at.Cmd(size=16, timeout_ms=10000)
        c.add('AT+OPEN=%d' % s.id)
        r = yield self.chan.send(c)
        if r.status != at.OK:
            raise sock.TimedOut(sock.ETIMEDOUT, 'socket %d: no answer to AT+OPEN' % s.id)
        s.state = sock.OPEN

    def close(self, s):
        self.forget(s)
        s.state = sock.CLOSED
        if False:
            yield


class Module(object):
    """A fake module on the fake UART: answers the lifecycle's commands, AT+CGACT, AT+OPEN,
    and records what it heard. dead=True: it answers nothing (and acts on
    nothing) until the remedy in `fix` reaches it: 'power' (the power key) or 'reset'
    (AT+CFUN=1,1 still gets through)."""

    def __init__(self, clock):
        self.clock = clock
        self.uart = None
        self.line = bytearray()
        # the commands the ladder is about ('AT', AT+OPEN, AT+CGACT=0, AT+CFUN), and
        # 'POWER' for each press of the power key (a short list: the test runs in a small heap)
        self.heard = []
        self.out = []              # (due ms, bytes)
        self.dead = False
        self.fix = 'power'
        self.active = False

    def bind(self, uart):
        self.uart = uart

    def next_event_ms(self):
        return self.out[0][0] if self.out else None

    def run_until(self, t):
        while self.out and ticks_diff(self.out[0][0], t) <= 0:
            self.uart.feed(self.out.pop(0)[1])

    def say(self, text, after_ms=5):
        self.out.append((ticks_add(self.clock.now, after_ms), text))

    def power_key(self, pin, value):
        if value:
            self.heard.append('POWER')
            if self.fix == 'power':
                self.boot()

    def boot(self):
        self.dead = False
        self.active = False
        self.out = []
        self.say(b'\r\nRDY\r\n', 1000)

    def host_write(self, buf, n, off=0):
        for i in range(off, off + n):
            b = buf[i]
            if b == 13:
                cmd = bytes(self.line).decode()
                self.line = bytearray()
                if cmd:
                    self.command(cmd)
            elif b != 10 and len(self.line) < 200:
                self.line.append(b)

    def command(self, cmd):
        if cmd == 'AT' or cmd[:7] in ('AT+OPEN', 'AT+CFUN', 'AT+CGAC') and cmd != 'AT+CGACT?':
            self.heard.append(cmd[:7] if cmd[:7] == 'AT+OPEN' else cmd)
        if cmd == 'AT+CFUN=1,1':
            if not self.dead or self.fix == 'reset':
                self.say(b'\r\nOK\r\n')
                self.boot()
            return
        if self.dead:
            return
        if cmd == 'AT+CPIN?':
            self.say(b'\r\n+CPIN: READY\r\n\r\nOK\r\n')
        elif cmd in ('AT+CEREG?', 'AT+CREG?'):
            self.say(b'\r\n' + cmd[2:-1].encode() + b': 0,1\r\n\r\nOK\r\n')
        elif cmd == 'AT+CGACT?':
            self.say(b'\r\n+CGACT: 1,1\r\n\r\nOK\r\n' if self.active
                     else b'\r\n+CGACT: 1,0\r\n\r\nOK\r\n')
        elif cmd.startswith('AT+CGACT='):
            self.active = cmd[9:10] == '1'
            self.say(b'\r\nOK\r\n', 100)
        else:
            self.say(b'\r\nOK\r\n')


def _mcu(uart, module, ladder_path, power):
    """One run of the MCU: a scheduler on the shared clock and UART, a fresh driver."""
    from modemkit.sched import Scheduler
    gc.collect()
    sched = Scheduler(uart.clock)
    cfg = {'apn': 'internet', 'ladder': {'file': ladder_path, 'steps': [2, 2, 2]},
           'reg_timeout_ms': 5000, 'sync_tries': 4, 'rx_size': 64, 'tx_size': 64}
    if power:
        cfg['power'] = {'pin': 7, 'pulse_ms': 200, 'boot_ms': 2000}
    logs = []

    def log(msg):
        if len(logs) >= 40:
            del logs[0]
        logs.append(msg)
    m = Dialect(sched, uart, cfg, log=log, line_bytes=128, store_bytes=256, max_lines=4)
    m.start()
    return sched, m, logs


def _connect_until(sched, m, limit, opened):
    """The application: opens a connection every 5 s (as an MQTT client reconnects), counting
    the ones that opened; ends after `limit` opened or the clock passing 20 minutes."""
    from modemkit.sock import NetError
    end = ticks_add(sched.clock.ticks_ms(), 1200000)
    while len(opened) < limit and ticks_diff(end, sched.clock.ticks_ms()) > 0:
        try:
            s = yield m.open('broker.test', 1883, timeout_ms=10000)
            opened.append(sched.clock.ticks_ms())
            yield m.close(s)
        except NetError:
            pass
        yield sched.sleep_ms(5000)


def _restore_pin(fn):
    port.pin_write = fn


def _line():
    """The fake clock, the fake module and the UART between them (they outlive the MCU)."""
    from modemkit.fakeuart import FakeClock, FakeUart
    gc.collect()
    clock = FakeClock()
    module = Module(clock)
    uart = FakeUart(clock, chunk=16, size=256, marks=16)
    uart.attach(module)
    return uart, module


def test_a_module_that_stops_answering_is_reattached_reset_then_power_cycled():
    path = tmpdir() + '/ladder'
    uart, module = _line()
    saved = port.pin_write
    port.pin_write = module.power_key       # the board's power key reaches the fake module
    try:
        sched, m, logs = _mcu(uart, module, path, power=True)
        opened = []
        sched.run(_connect_until(sched, m, 1, opened))
        assert opened and Ladder(path).failures == 0
        module.dead = True                      # the module stops answering, for good
        module.heard = []
        sched.run(_connect_until(sched, m, 2, opened))
    finally:
        _restore_pin(saved)
    heard = module.heard
    assert len(opened) == 2, logs[-20:]
    deact = heard.index('AT+CGACT=0,1')          # re-attach first
    reset = heard.index('AT+CFUN=1,1')           # then resets
    power = heard.index('POWER')                 # then the power key brought it back
    assert deact < reset < power, heard
    assert heard.count('POWER') == 1 and heard.count('AT+CFUN=1,1') >= 2, heard
    # opens before the first re-attach: two failures on the bottom rung, the third climbs
    assert heard[:deact].count('AT+OPEN') == 3, heard[:deact]
    assert Ladder(path).failures == 0            # the connection after it reset the ladder
    assert any('failure 7, power cycle' in l for l in logs), logs


def test_an_mcu_restarted_mid_ladder_goes_on_from_its_rung():
    path = tmpdir() + '/ladder'
    uart, module = _line()
    module.fix = 'reset'
    sched, m, logs = _mcu(uart, module, path, power=False)
    opened = []
    sched.run(_connect_until(sched, m, 1, opened))
    module.dead = True
    module.fix = None                           # nothing helps, for now

    def until_reset():
        # the application, until the driver resets the module for the first time: the MCU's
        # watchdog bites right then
        t = sched.spawn(_connect_until(sched, m, 2, opened))
        while 'AT+CFUN=1,1' not in module.heard:
            yield sched.sleep_ms(100)
        t.cancel()

    sched.run(until_reset())
    assert Ladder(path).failures == 5, Ladder(path).failures
    module.fix = 'reset'                        # the module would come back from a reset now
    module.heard = []
    # the MCU starts again: nothing of the first run is left in its RAM
    sched = m = logs = until_reset = None
    gc.collect()
    sched, m, logs = _mcu(uart, module, path, power=False)
    sched.run(_connect_until(sched, m, 2, opened))
    heard = module.heard
    # not from the bottom: no re-attach, and the first failure after the restart (the
    # module does not answer AT) resets it at once
    assert 'AT+CGACT=0,1' not in heard[:heard.index('AT+CFUN=1,1')], heard
    assert heard[:heard.index('AT+CFUN=1,1')].count('AT') == 4, heard    # one sync: 4 tries
    assert len(opened) == 2 and Ladder(path).failures == 0, logs[-20:]
