"""The recovery ladder with the Quectel driver against the emulated module: a module that stops
answering (the emulator switched off with no boot scheduled) is re-attached, reset, then
power-cycled through the board's power key, and an MCU restarted in the middle of the ladder
goes on from its rung (tests/core/test_ladder.py does the same with a fake module)."""
from modemkit import port
from modemkit.ladder import Ladder
from modemkit.sched import Scheduler
from modemkit.sock import NetError

from rig import Rig, load, DIALECTS

WEDGED_S = 1e9            # a "reboot" that never ends: the module answers nothing any more


def board(path, power=True):
    cfg = {'ladder': {'file': path, 'steps': [2, 2, 2]}, 'sync_tries': 4}
    if power:
        cfg['power'] = {'pin': 5, 'pulse_ms': 200, 'boot_ms': 3000}
    return cfg


def connect_until(sched, drv, port_, limit, opened):
    """The application: opens a connection every 5 s (as an MQTT client reconnects) until
    `limit` opened, for at most 30 minutes of the fake clock."""
    for _ in range(360):
        if len(opened) >= limit:
            return
        try:
            s = yield drv.open('echo.test', port_, timeout_ms=10000)
            opened.append(sched.clock.ticks_ms())
            yield s.close()
        except NetError:
            pass
        yield sched.sleep_ms(5000)


def events(sim, *names):
    return [e['event'] for e in sim.events if e['event'] in names]


def test_a_wedged_module_is_reattached_reset_then_power_cycled(tmp_path, tcp_echo_server,
                                                               monkeypatch):
    path = str(tmp_path / 'ladder')
    rig = Rig('quectel', board=board(path))
    presses = []

    def power_key(pin, value):
        # the board's power key: a press power-cycles the module (2 s until it answers)
        if value:
            presses.append(rig.clock.now)
            rig.sim.reboot(2.0)
    monkeypatch.setattr(port, 'pin_write', power_key)
    opened = []
    rig.run(connect_until(rig.sched, rig.drv, tcp_echo_server.port, 1, opened))
    presses.clear()                              # the start's press is not part of the ladder
    rig.sim.reboot(WEDGED_S)                     # the module stops answering
    wedged_at = rig.clock.now
    rig.run(connect_until(rig.sched, rig.drv, tcp_echo_server.port, 2, opened))
    log = rig.logs
    assert len(opened) == 2 and opened[1] > wedged_at, log[-30:]
    assert len(presses) == 1, presses
    ladder = [m for m in log if 'recovery ladder' in m]
    order = [m.split(', ')[-1] for m in ladder if m.startswith('modem: recovery ladder')]
    assert order == ['re-attach', 'module reset', 'module reset', 'power cycle'], ladder
    assert any('ready -> attach (recovery ladder: re-attach)' in m for m in log), ladder
    assert any('at: AT+QIDEACT timed out' in m for m in log)      # the re-attach was tried
    assert any('at: AT+CFUN timed out' in m for m in log)       # so were the resets
    assert Ladder(path).failures == 0                           # the new connection reset it


def test_an_mcu_restarted_mid_ladder_resets_at_once(tmp_path, tcp_echo_server):
    path = str(tmp_path / 'ladder')
    rig = Rig('quectel', board=board(path, power=False))
    opened = []
    rig.run(connect_until(rig.sched, rig.drv, tcp_echo_server.port, 1, opened))
    rig.sim.reboot(WEDGED_S)

    def until_first_reset():
        t = rig.sched.spawn(connect_until(rig.sched, rig.drv, tcp_echo_server.port, 2, opened))
        while not any('failure 5, module reset' in m for m in rig.logs):
            yield rig.sched.sleep_ms(100)
        t.cancel()

    rig.run(until_first_reset())
    assert Ladder(path).failures == 5
    # the MCU restarts (its watchdog bites) while the module is still wedged: a new scheduler
    # and driver on the same UART, the ladder's file as the old run left it
    logs = []
    sched = Scheduler(rig.clock)
    drv = load(DIALECTS['quectel'][0])(sched, rig.uart, dict(board(path, power=False),
                                                             apn='internet'), log=logs.append)
    drv.start()

    def until_ladder(n):
        while sum(1 for m in logs if m.startswith('modem: recovery ladder')) < n:
            yield sched.sleep_ms(100)

    sched.run(until_ladder(1))
    # from the rung it had reached: the first failure after the restart (no answer to AT) is
    # failure 6 and resets the module, with no reconnect or re-attach rung before it
    assert [m for m in logs if 'recovery ladder' in m] == [
        'modem: recovery ladder: failure 6, module reset'], logs
    rig.sim.reboot(2.0)                          # the module comes back (from the reset)
    sched.run(connect_until(sched, drv, tcp_echo_server.port, 2, opened))
    assert len(opened) == 2 and Ladder(path).failures == 0, logs[-30:]
