"""micropython-lib's urequests, unmodified, over modemkit's blocking socket face (usock) on the
MicroPython unix port, against `modemkit sim --pty` and http.server:

    python -m mktools.dev.romrun -X heapsize=64K --rom requestscheck_mpy.py \
        --rom build/vendor/urequests=lib/urequests -m requestscheck_mpy /rom/lib DIALECT TTY PORT

Prints 'ok get <status> <length> <sha256>', 'ok post <status> <reply>' (the server's SHA-256 of
the 20 KB body it received), or 'FAIL <check> <error>', then 'done'.
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port, usock
from modemkit.sched import Scheduler

DIALECT, TTY, PORT = sys.argv[2:5]
BASE = 'http://web.test:%d' % int(PORT)


def driver_class():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    from modemkit.telit import Telit
    return Telit


sched = Scheduler()
modem = driver_class()(sched, port.open_serial(TTY), {'apn': 'internet', 'rx_size': 1024,
                                                       'tx_size': 1024, 'dialect': DIALECT},
                       log=lambda m: None)
modem.start()
sched.run(modem.wait_ready(120000))
usock.install(modem)            # `import usocket` (as urequests does) now reaches the module
import urequests                # noqa: E402
import hashlib                  # noqa: E402
import binascii                 # noqa: E402


def hexdigest(data):
    return binascii.hexlify(hashlib.sha256(data).digest()).decode()


def get():
    r = urequests.get(BASE + '/bytes/20480')
    body = r.content
    return '%d %d %s' % (r.status_code, len(body), hexdigest(body))


def post():
    body = bytearray(20480)
    for i in range(len(body)):
        body[i] = (i * 7 + 3) & 0xff
    r = urequests.post(BASE + '/digest', data=body, headers={'Content-Type': 'application/x-data'})
    reply = r.text
    r.close()
    return '%d %s %s' % (r.status_code, reply, hexdigest(body))


gc.collect()
print('ready, heap free %d' % gc.mem_free())
for name, check in (('get', get), ('post', post)):
    try:
        print('ok %s %s' % (name, check()))
    except Exception as e:
        print('FAIL %s %r' % (name, e))
    gc.collect()
print('done')
