"""A small on-module app for the deploy and upgrade tests: asks the module for its signal
quality twice a second through modemkit's AT channel on MDM, and prints what it gets."""
from modemkit import at, port
from modemkit.sched import Scheduler

CSQ = at.Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=2000)


def main(path='board.json'):
    s = Scheduler()
    chan = at.Channel(s, port.open_serial('MDM'))
    s.spawn(chan.run(), 'at-rx')

    def poll():
        n = 0
        while True:
            r = yield chan.send(CSQ)
            n += 1
            if n % 10 == 1:
                print('beacon: %d CSQ answers, last status %d' % (n, r.status))
            yield s.sleep_ms(500)

    s.run(poll())
