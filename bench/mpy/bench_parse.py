# The AT channel consuming a recorded +QIRD download stream, on the MicroPython unix port:
#     micropython -X heapsize=4M -m bench_parse STREAM.bin CUTS.txt REPS
# STREAM.bin holds what the module sent during a download; CUTS.txt where each AT+QIRD was
# written in it (one offset a line). A replay stream hands the channel the module's answer to
# each command once the command is written, in reads of at most 64 bytes (the channel's chunk),
# as a UART would. Per repetition it prints
#   'parse <us> <payload bytes>'   the channel sending every AT+QIRD and parsing every answer,
#                                  its payload handed to a consumer that only counts it
#   'socket <us> <payload bytes>'  the same, the payload copied into a socket's receive ring
#   'replay <us>'                  the replay stream alone delivering the same bytes
# and 'done'. Times are time.ticks_us.
import gc
import sys
import time

from modemkit import at
from modemkit.sched import Scheduler
from modemkit.sock import Socket

STREAM, CUTS = sys.argv[1], sys.argv[2]
REPS = int(sys.argv[3])

with open(STREAM, 'rb') as f:
    DATA = f.read()
with open(CUTS) as f:
    CUT = [int(line) for line in f if line.strip()]


class Replay(object):
    """Releases the recorded answer to each command line once its CR is written."""

    def __init__(self):
        self.mv = memoryview(DATA)
        self.pos = 0
        self.k = 0
        self.lim = CUT[0] if CUT else len(DATA)

    def write(self, buf, n=None, off=0):
        if n is None:
            n = len(buf) - off
        if n and buf[off + n - 1] == 13:
            self.k += 1
            self.lim = CUT[self.k] if self.k < len(CUT) else len(DATA)
        return n

    def any(self):
        return self.lim - self.pos

    def readinto(self, buf):
        k = self.lim - self.pos
        if k > len(buf):
            k = len(buf)
        if k:
            buf[:k] = self.mv[self.pos:self.pos + k]
            self.pos += k
        return k

    def wait_readable(self, ms):
        return self.lim > self.pos


class Counter(object):
    def __init__(self):
        self.n = 0

    def put(self, buf, start, end):
        self.n += end - start


class _Modem(object):
    # what a Socket needs of its modem here: a scheduler, and a kick() when it is drained
    def __init__(self, sched):
        self.sched = sched

    def kick(self):
        pass


def exchange(use_socket):
    sched = Scheduler()
    uart = Replay()
    chan = at.Channel(sched, uart)
    chan.add_final(b'SEND OK', at.OK)
    chan.on(b'+QIURC:', lambda line: None)
    if use_socket:
        sock = Socket(_Modem(sched), 0, 1024)
        put = sock.put
    else:
        sock = None
        counter = Counter()
        put = counter.put
    cmd = at.Cmd(b'AT+QIRD=0,1024', expect=b'+QIRD:', put=put, timeout_ms=10000)
    total = [0]

    def main():
        for _ in range(len(CUT)):
            r = yield chan.send(cmd)
            if r.status != at.OK:
                raise OSError(5, 'replayed AT+QIRD answered %s' % r.error())
            if sock is not None:
                # the application drains the socket between fetches, as the pump waits for
                total[0] += sock.n
                sock.n = 0
                sock.head = 0

    sched.spawn(chan.run(), 'at-rx')
    gc.collect()
    t0 = time.ticks_us()
    sched.run(main())
    us = time.ticks_diff(time.ticks_us(), t0)
    if uart.pos != len(DATA):
        raise OSError(5, 'stream not consumed: %d of %d bytes' % (uart.pos, len(DATA)))
    return us, (total[0] if sock is not None else counter.n)


def replay_only():
    uart = Replay()
    buf = bytearray(64)
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(len(CUT) + 1):
        while uart.readinto(buf):
            pass
        uart.write(b'\r')
    return time.ticks_diff(time.ticks_us(), t0)


for rep in range(REPS):
    us, n = exchange(False)
    print('parse %d %d' % (us, n))
    us, n = exchange(True)
    print('socket %d %d' % (us, n))
    print('replay %d' % replay_only())
print('done')
