"""modemkit.http on the MicroPython unix port against `modemkit sim --pty` and http.server:

    python -m mktools.dev.romrun -X heapsize=64K --rom httpcheck_mpy.py -m httpcheck_mpy \
        /rom/lib DIALECT BACKEND TTY PORT WORKDIR SIZE

WORKDIR holds up.src (POSTed from the file; the server echoes it into up.dst); the GET of
/bytes/1048576 goes to get.dst. SIZE is the bytes of each socket ring and of the client's
buffer. Prints one 'ok <check> <detail>' or 'FAIL <check> <error>' line per check, the lowest
heap seen, then 'done'.
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port, http
from modemkit.sched import Scheduler, Return
from modemkit.sock import Unsupported

DIALECT, BACKEND, TTY, PORT, WORK = sys.argv[2:7]
SIZE = int(sys.argv[7])
BASE = 'http://web.test:%d' % int(PORT)
low = [1 << 30]


def driver_class():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    if DIALECT == 'telit':
        from modemkit.telit import Telit
        return Telit
    from modemkit.wavecom import Wavecom
    return Wavecom


sched = Scheduler(depth=http.DEPTH + 1)
modem = driver_class()(sched, port.open_serial(TTY), {'apn': 'internet', 'rx_size': SIZE,
                                                       'tx_size': SIZE, 'dialect': DIALECT},
                       log=lambda m: None)
modem.start()
h = http.client(modem, {'backend': BACKEND, 'timeout_ms': 60000}, bytearray(SIZE))


def watch(done, total):
    free = gc.mem_free()
    if free < low[0]:
        low[0] = free


h.progress = watch


def get_big():
    with open(WORK + '/get.dst', 'wb') as f:
        r = yield h.request('GET', BASE + '/bytes/1048576', sink=f)
    raise Return('%d %d %d' % (r.status, r.length, r.got))


def post_big():
    with open(WORK + '/up.src', 'rb') as src:
        with open(WORK + '/up.dst', 'wb') as dst:
            r = yield h.request('POST', BASE + '/echo', {'Content-Type': 'application/x-data'},
                                src, sink=dst)
    raise Return('%d %d' % (r.status, r.got))


def chunked():
    with open(WORK + '/chunked.dst', 'wb') as f:
        r = yield h.request('GET', BASE + '/chunked/30000', sink=f)
    raise Return('%d %d' % (r.status, r.got))


def redirect():
    try:
        with open(WORK + '/redirect.dst', 'wb') as f:
            r = yield h.request('GET', BASE + '/redirect/2', sink=f)
    except Unsupported:
        raise Return('Unsupported')      # the native client: #HTTPRING has no Location
    raise Return('%d %d' % (r.status, r.got))


def failing(path, tmo=None):
    try:
        with open(WORK + '/x.dst', 'wb') as f:
            yield h.request('GET', BASE + path, sink=f, timeout_ms=tmo)
    except http.NetError as e:
        raise Return(type(e).__name__)
    raise Return('completed')


def errors():
    a = yield failing('/stall', 5000)
    b = yield failing('/bad-status')
    raise Return('%s %s' % (a, b))


CHECKS = (('get', get_big), ('post', post_big), ('chunked', chunked), ('redirect', redirect),
          ('errors', errors))


def main():
    yield modem.wait_ready(120000)
    gc.collect()
    print('ready, heap free %d' % gc.mem_free())
    for name, check in CHECKS:
        try:
            detail = yield check()
            print('ok %s %s' % (name, detail))
        except Exception as e:
            print('FAIL %s %r' % (name, e))
        gc.collect()
        watch(0, 0)
    print('heap low %d' % low[0])
    print('done')


sched.run(main())
