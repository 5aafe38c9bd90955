"""modemkit.mail on the MicroPython unix port against `modemkit sim --pty` and aiosmtpd:

    python -m mktools.dev.romrun -X heapsize=64K --rom mailcheck_mpy.py -m mailcheck_mpy \
        /rom/lib DIALECT BACKEND TTY PORT BODYFILE

Sends BODYFILE (streamed from the file) to ops@example.test through mail.test:PORT, then a mail
to a recipient the server refuses. Prints 'ok <check> <detail>' or 'FAIL <check> <error>' per
check, the lowest heap seen, then 'done'.
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port, mail
from modemkit.sched import Scheduler, Return

DIALECT, BACKEND, TTY, PORT, BODY = sys.argv[2:7]
low = [1 << 30]


def driver_class():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    from modemkit.telit import Telit
    return Telit


sched = Scheduler(depth=mail.DEPTH + 1)
modem = driver_class()(sched, port.open_serial(TTY), {'apn': 'internet', 'rx_size': 512,
                                                       'tx_size': 512, 'dialect': DIALECT},
                       log=lambda m: None)
modem.start()
m = mail.client(modem, {'backend': BACKEND, 'server': 'mail.test', 'port': int(PORT),
                        'sender': 'logger7@example.test', 'name': 'Logger 7',
                        'timeout_ms': 60000}, bytearray(512))


def watch(n):
    free = gc.mem_free()
    if free < low[0]:
        low[0] = free


m.progress = watch


def send_file():
    with open(BODY, 'rb') as f:
        n = yield m.send('ops@example.test', 'daily log', f)
    raise Return('%d' % n)


def refused():
    try:
        yield m.send('nobody@example.test', 'x', b'x\n')
    except mail.Rejected:
        raise Return('Rejected')
    except mail.MailError:
        raise Return('MailError')
    raise Return('sent')


def main():
    yield modem.wait_ready(120000)
    gc.collect()
    print('ready, heap free %d' % gc.mem_free())
    for name, check in (('send', send_file), ('refused', refused)):
        try:
            detail = yield check()
            print('ok %s %s' % (name, detail))
        except Exception as e:
            print('FAIL %s %r' % (name, e))
        gc.collect()
        watch(0)
    print('heap low %d' % low[0])
    print('done')


sched.run(main())
