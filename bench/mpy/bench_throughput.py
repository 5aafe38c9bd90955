# Throughput through a dialect driver on the MicroPython unix port, over a pty to the emulator:
#     micropython -m bench_throughput DIALECT TTY ACK_PORT SOURCE_PORT SIZE REPS [RX TX]
#                                     [data=BAUD | push]
# `data=BAUD`: the connections use the module's data mode (modemkit.datamode), not AT commands;
# the escape's guard time counts from when the line (BAUD) has carried the last byte.
# `push`: Quectel direct push mode (board option push: true): the module sends received data
# unasked, and what does not fit the socket's receive ring is lost (Socket.dropped).
# Each repetition uploads SIZE bytes to a sink that answers b'K' once it has them all, and
# downloads SIZE bytes from a source, on a fresh connection each; it prints 'up <us>' and
# 'down <us> <bytes lost>' (time.ticks_us, end to end), then 'done'.
import gc
import os
import sys
import time

from modemkit import port
from modemkit.sched import Scheduler, Return
from modemkit.sock import TimedOut

PUSH = sys.argv[-1] == 'push'
if PUSH:
    sys.argv.pop()
DATA = sys.argv[-1].startswith('data=')
BAUD = int(sys.argv.pop()[5:]) if DATA else 0
DIALECT, TTY = sys.argv[1], sys.argv[2]
ACK_PORT, SOURCE_PORT, SIZE, REPS = [int(a) for a in sys.argv[3:7]]
PIECE = 4096


def driver():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    if DIALECT == 'telit':
        from modemkit.telit import Telit
        return Telit
    from modemkit.wavecom import Wavecom
    return Wavecom


def log(msg):
    print('log ' + msg)


RX, TX = [int(a) for a in sys.argv[7:9]] if len(sys.argv) > 8 else (1024, 1024)
cfg = {'apn': 'internet', 'rx_size': RX, 'tx_size': TX}
if BAUD:
    cfg['serial'] = {'baud': BAUD}
if PUSH:
    cfg['push'] = True
if DIALECT == 'wavecom':
    cfg['variant'] = 'multitech'
sched = Scheduler()
modem = driver()(sched, port.open_serial(TTY), cfg, log=log)
modem.start()
payload = bytearray(os.urandom(PIECE))
rbuf = bytearray(1024)
one = bytearray(1)


def upload():
    s = yield modem.open('sink.test', ACK_PORT, timeout_ms=60000, data=DATA)
    gc.collect()
    t0 = time.ticks_us()
    sent = 0
    while sent < SIZE:
        k = SIZE - sent if SIZE - sent < PIECE else PIECE
        yield s.send(payload, 120000, k)
        sent += k
    n = yield s.recv_into(one, 120000)
    t1 = time.ticks_us()
    if n != 1:
        raise OSError(5, 'no acknowledgement from the sink')
    yield s.close()
    raise Return(time.ticks_diff(t1, t0))


def download(seed):
    s = yield modem.open('source.test', SOURCE_PORT, timeout_ms=60000, data=DATA)
    gc.collect()
    t0 = time.ticks_us()
    yield s.send(b'%d %d\n' % (SIZE, seed), 60000)
    got = 0
    t_end = time.ticks_add(time.ticks_ms(), 120000)
    while got + s.dropped < SIZE:          # push mode: lost bytes are counted, not read
        try:
            # push: a short wait, as the last bytes may be lost, not delivered
            n = yield s.recv_into(rbuf, 20 if PUSH else 120000)
        except TimedOut:
            if not PUSH or time.ticks_diff(t_end, time.ticks_ms()) < 0:
                raise
            continue
        if not n:
            raise OSError(5, 'stream ended after %d bytes' % got)
        got += n
    t1 = time.ticks_us()
    lost = s.dropped
    yield s.close()
    raise Return((time.ticks_diff(t1, t0), lost))


def main():
    yield modem.wait_ready(120000)
    print('ready')
    for rep in range(REPS):
        us = yield upload()
        print('up %d' % us)
        us, lost = yield download(rep + 1)
        print('down %d %d' % (us, lost))
    print('done')


sched.run(main())
