# Heap bytes allocated per steady-state QoS 0 publish, with the GC disabled around N publishes,
# for modemkit's MQTT client (and per QoS 1 publish) and for umqtt.simple: over the same Quectel
# driver (umqtt.simple through modemkit.usock), and umqtt.simple alone into a socket object that
# only counts bytes:
#     micropython -X heapsize=16M -m bench_alloc TTY BROKER_PORT N WARM [N_QOS1]
# prints 'alloc <client> <bytes> <publishes>' per measurement, then 'done'.
import gc
import sys

from modemkit import port, usock
from modemkit.mqtt import MQTT
from modemkit.quectel import Quectel
from modemkit.sched import Scheduler

TTY = sys.argv[1]
BROKER_PORT, N, WARM = [int(a) for a in sys.argv[2:5]]
N1 = int(sys.argv[5]) if len(sys.argv) > 5 else N     # QoS 1 publishes (each waits a PUBACK)
TOPIC = b'modemkit/bench/alloc'             # 20 bytes
PAYLOAD = bytes(bytearray(range(64)))        # 64 bytes
assert len(TOPIC) == 20 and len(PAYLOAD) == 64


def log(msg):
    print('log ' + msg)


sched = Scheduler()
modem = Quectel(sched, port.open_serial(TTY), {'apn': 'internet', 'rx_size': 1024,
                                               'tx_size': 1024}, log=log)
modem.start()
sched.run(modem.wait_ready(120000))


def measure(name, body):
    # body() runs the publishes; everything it and the modem's tasks allocate is counted
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    body()
    after = gc.mem_alloc()
    gc.enable()
    print('alloc %s %d %d' % (name, after - before, N))


# -- modemkit's client: publish_nowait(), waiting for room when the transmit ring is full ------
c = MQTT(modem, 'broker.test', BROKER_PORT, client_id='bench-alloc-modemkit', keepalive=60,
         max_packet=256, window=2, log=log)
c.start()


# One task per API: WARM publishes, then N measured ones, then until the module accepted every
# byte. gc.mem_alloc() is read inside the task, so what starting it costs once (its Task and
# generator, the fields its first waits set) is left out: the figure is the steady state, and
# includes everything the modem's tasks allocate meanwhile. Each wait for room is for the
# socket's event (set when a chunk is sent), bounded so that a wedged modem ends the benchmark;
# the loops are written out in place, since calling a helper generator would itself allocate.
def publishes(name, api, n):
    before = 0
    for measured in (False, True):
        if measured and name is not None:     # None: the per-task pass below counts
            gc.collect()
            gc.disable()
            before = gc.mem_alloc()
        for _ in range(n if measured else WARM):
            if api == 'nowait':
                while c.publish_nowait(TOPIC, PAYLOAD) < 0:
                    c.sock.ev.clear()
                    if not (yield c.sock.ev.wait(10000)):
                        raise OSError(110, 'no room in the transmit ring for 10 s')
            else:
                yield c.publish(TOPIC, PAYLOAD, 1 if api == 'qos1' else 0, False, 10000)
        while c.sock.tlen:
            c.sock.ev.clear()
            if not (yield c.sock.ev.wait(10000)):
                raise OSError(110, 'transmit ring not drained in 10 s')
    if name is not None:
        after = gc.mem_alloc()
        gc.enable()
        print('alloc %s %d %d' % (name, after - before, n))


def nowait(n):
    for _ in range(n):
        while c.publish_nowait(TOPIC, PAYLOAD) < 0:
            c.sock.ev.clear()
            if not (yield c.sock.ev.wait(10000)):
                raise OSError(110, 'no room in the transmit ring for 10 s')
    while c.sock.tlen:
        c.sock.ev.clear()
        if not (yield c.sock.ev.wait(10000)):
            raise OSError(110, 'transmit ring not drained in 10 s')


sched.run(c.wait_up(30000))
sched.run(publishes('modemkit', 'nowait', N))
sched.run(publishes('modemkit_publish_generator', 'generator', N))
sched.run(publishes('modemkit_publish_qos1', 'qos1', N1))

# where modemkit's bytes go: the same publishes again, gc.mem_alloc() read around every step
# the scheduler gives a task (reading it allocates nothing), summed per task name
by_task = {}
step = getattr(sched, '_step', None)
if step is not None:
    def counted(t):
        a = gc.mem_alloc()
        step(t)
        by_task[t.name] = by_task.get(t.name, 0) + gc.mem_alloc() - a

    for t in ('at-rx', 'modem', 'io', 'mqtt', 'main'):
        by_task[t] = 0
    sched._step = counted
    gc.collect()
    gc.disable()
    sched.run(nowait(N))
    gc.enable()
    sched._step = step
    for name in sorted(by_task):
        print('bytask %s %d %d' % (name, by_task[name], N))
    # and for QoS 1 publishes, whose PUBACKs come back through the driver's receive path
    for name in by_task:
        by_task[name] = 0
    sched._step = counted
    gc.collect()
    gc.disable()
    sched.run(publishes(None, 'qos1', N1))
    gc.enable()
    sched._step = step
    for name in sorted(by_task):
        print('bytask1 %s %d %d' % (name, by_task[name], N1))
sched.run(c.disconnect())

# -- umqtt.simple through modemkit.usock, on the same modem ------------------------------------
usock.install(modem)
from umqtt.simple import MQTTClient     # noqa: E402  (it binds usocket at import)

u = MQTTClient('bench-alloc-umqtt', 'broker.test', port=BROKER_PORT, keepalive=60)
u.connect()
shim = u.sock


def umqtt(n):
    for _ in range(n):
        u.publish(TOPIC, PAYLOAD)


def drained(ms):
    # until the module accepted the last queued byte, as modemkit's loop ends
    s = shim._s
    while s.tlen:
        s.ev.clear()
        if not (yield s.ev.wait(ms)):
            raise OSError(110, 'transmit ring not drained in 10 s')


def umqtt_sent(n):
    # a QoS 0 publish returns once its bytes are in the socket's transmit ring (usock); the
    # ring is emptied inside the span, so the figure covers every byte reaching the module
    umqtt(n)
    sched.run(drained(10000))


umqtt_sent(WARM)
measure('umqtt_simple_usock', lambda: umqtt_sent(N))
u.disconnect()
writes = [0]


# -- umqtt.simple's own share: the same publishes to a socket that only counts bytes -----------
class CountingSocket(object):
    def __init__(self):
        self.n = 0

    def write(self, buf, n=None):
        k = len(buf) if n is None else n
        self.n += k
        writes[0] += 1
        return k


u.sock = CountingSocket()
umqtt(WARM)
writes[0] = 0
measure('umqtt_simple_counting_socket', lambda: umqtt(N))
print('writes_per_publish %d %d' % (writes[0], N))
print('done')
