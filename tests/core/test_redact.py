"""Passwords stay out of logs and exception texts (issue 18 item 6): the AT channel names a
command without its arguments when it logs, and the drivers' errors for the exchanges that
carry an APN, MQTT or FTP password name the command alone."""
from mktest import setup
from modemkit import sock
from modemkit.at import Cmd, FAIL, TIMEOUT
from modemkit.modem import Modem, fail, shown
from modemkit.fakeuart import FakeClock, FakeUart, Script
from modemkit.sched import Return, Scheduler

SECRET = 'pw-Secret-42'
AUTH = 'AT+CGAUTH=1,1,"apnuser","%s"' % SECRET


def test_channel_timeout_log_names_the_command_without_arguments():
    env = setup([('>', (AUTH + '\r').encode())])
    c = Cmd(AUTH.encode(), timeout_ms=500)

    def main():
        r = yield env.chan.send(c)
        raise Return(r.status)

    assert env.sched.run(main()) == TIMEOUT
    text = ' '.join(env.logs)
    assert 'AT+CGAUTH timed out' in text, text
    assert SECRET not in text


def test_fail_names_a_secret_command_alone():
    env = setup([('>', (AUTH + '\r').encode()), ('<', b'\r\nERROR\r\n')])
    c = Cmd(AUTH.encode())

    def main():
        r = yield env.chan.send(c)
        raise Return(r)

    r = env.sched.run(main())
    assert r.status == FAIL
    assert str(fail(c, r, True)).find(SECRET) < 0
    assert 'AT+CGAUTH=...: ERROR' in str(fail(c, r, True))
    assert SECRET in str(fail(c, r))              # other commands keep their arguments
    assert shown('AT+QICSGP=1,1,"apn","u","p",1', True) == 'AT+QICSGP=...'


def test_a_driver_exchange_marked_secret_raises_without_the_password():
    clock = FakeClock(0)
    sched = Scheduler(clock)
    uart = FakeUart(clock, chunk=3, size=512, marks=16)
    uart.attach(Script([('>', (AUTH + '\r').encode()), ('<', b'\r\n+CME ERROR: 4\r\n')]))
    logs = []
    m = Modem(sched, uart, {}, log=logs.append)
    sched.spawn(m.chan.run(), 'at-rx')
    got = []

    def main():
        try:
            yield m.q(AUTH, secret=True)
        except sock.NetError as e:
            got.append(str(e))

    sched.run(main())
    assert len(got) == 1 and got[0].find(SECRET) < 0 and got[0].find('AT+CGAUTH') >= 0, got
    assert ' '.join(logs).find(SECRET) < 0
