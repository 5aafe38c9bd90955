"""The FTP helpers on the MicroPython unix port against `modemkit sim --pty` and pyftpdlib:

    python -m mktools.dev.romrun -X heapsize=64K --rom ftpcheck_mpy.py -m ftpcheck_mpy \
        /rom/lib DIALECT BACKEND TTY PORT WORKDIR SIZE [RATE]

WORKDIR holds big.src (uploaded, then downloaded to big.dst) and cut.src (uploaded across a
transfer the server cuts); the server holds cutd.bin (downloaded across a cut); RATE paces
uploads (bytes/s, for a data mode without flow control). SIZE is the bytes of each socket ring
and of the transfer buffer: a small device's sizes. Prints one
'ok <check> <detail>' or 'FAIL <check> <error>' line per check, the heap left, then 'done'.
"""
import sys
import gc
import time

sys.path.insert(0, sys.argv[1])

from modemkit import port, ftp
from modemkit.sched import Scheduler, Return

DIALECT, BACKEND, TTY, PORT, WORK = sys.argv[2:7]
CFG = {'host': 'ftp.test', 'port': int(PORT), 'user': 'logger', 'password': 'secret',
       'backend': BACKEND, 'timeout_ms': 60000}
SIZE = int(sys.argv[7])
if len(sys.argv) > 8:
    CFG['rate'] = int(sys.argv[8])
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


sched = Scheduler(depth=ftp.DEPTH)
modem = driver_class()(sched, port.open_serial(TTY), {'apn': 'internet', 'rx_size': SIZE,
                                                       'tx_size': SIZE, 'dialect': DIALECT},
                       log=lambda m: None)
modem.start()
buf = bytearray(SIZE)
f = ftp.client(modem, CFG, buf)


def watch(done, total):
    free = gc.mem_free()
    if free < low[0]:
        low[0] = free


f.progress = watch


def timed(gen):
    t = time.ticks_ms()
    r = yield gen
    raise Return((r, time.ticks_diff(time.ticks_ms(), t)))


def big():
    with open(WORK + '/big.src', 'rb') as s:
        up, t_up = yield timed(f.put('big.bin', s))
    with open(WORK + '/big.dst', 'wb') as d:
        down, t_down = yield timed(f.get('big.bin', d))
    raise Return('%d up %d ms, %d down %d ms' % (up, t_up, down, t_down))


def failing(gen):
    try:
        yield gen
    except ftp.NetError as e:
        raise Return(type(e).__name__)
    raise Return('completed')


def cut_up():
    with open(WORK + '/cut.src', 'rb') as s:
        first = yield failing(f.put('cut.bin', s))
        n = yield f.put('cut.bin', s, None)
    raise Return('%s then %d' % (first, n))


def cut_down():
    with open(WORK + '/cut.dst', 'wb') as d:
        first = yield failing(f.get('cutd.bin', d))
    have = port_size(WORK + '/cut.dst')
    with open(WORK + '/cut.dst', 'ab') as d:
        n = yield f.get('cutd.bin', d, have)
    raise Return('%s at %d then %d' % (first, have, n))


def port_size(path):
    import os
    return os.stat(path)[6]


def errors():
    yield f.close()          # one FTP session at a time, as a small device would keep
    bad = ftp.client(modem, dict(CFG, password='wrong'), buf)
    with open(WORK + '/missing.dst', 'wb') as d:
        login = yield failing(bad.get('big.bin', d))
        missing = yield failing(f.get('missing.bin', d))
    raise Return('%s %s' % (login, missing))


CHECKS = (('big', big), ('cut_up', cut_up), ('cut_down', cut_down), ('errors', errors))


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
    yield f.close()
    print('heap low %d' % low[0])
    print('done')


sched.run(main())
