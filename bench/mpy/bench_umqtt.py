# The peer: umqtt.simple (PyPI micropython-umqtt.simple, unmodified, from .mpy) over modemkit's
# socket shim, publishing what the telemetry app publishes:
#     micropython -X heapsize=N -m bench_umqtt BOARD.json COUNT [probe]
# status 'online' (retained, QoS 1, 'offline' as the last will), a subscription to the command
# topic, COUNT QoS 1 samples in the app's JSON form, status 'done'. It has no store-and-forward
# queue and publishes back to back (the app's sender does too once samples are queued).
# 'probe' prints the heap in use after a collection as bench_telemetry does ('heap imports N'
# with umqtt.simple's own import added, 'heap live N' after the last sample).
import gc
import sys

from modemkit import board, usock
from modemkit.modem import STATE_NAMES
from modemkit.sched import Scheduler

try:
    from modemkit import sensors        # the sensors the board config names
except ImportError:
    import sensors                      # where the telemetry app kept them before

cfg = board.load(sys.argv[1])
count = int(sys.argv[2])
PROBE = sys.argv[3:] == ['probe']
__import__(board.DIALECTS[cfg['dialect']][0])
if PROBE:
    gc.collect()
    before = gc.mem_alloc()
s = Scheduler()
modem = board.modem(s, cfg)
modem.start()
s.run(modem.wait_ready(120000))
usock.install(modem)

if PROBE:
    gc.collect()
    runtime = gc.mem_alloc() - before
from umqtt.simple import MQTTClient     # noqa: E402  (it binds usocket at import)
if PROBE:
    gc.collect()
    print('heap imports %d' % (gc.mem_alloc() - runtime))

mq = cfg['mqtt']
base = '%s/%s/' % (mq.get('prefix', 'modemkit'), mq['device'])
t_data = (base + 'telemetry').encode()
t_status = (base + 'status').encode()
t_cmd = (base + 'cmd').encode()
sens = sensors.make(cfg.get('sensors', []), s.clock)


def on_cmd(topic, msg):
    print('cmd %r' % msg)


c = MQTTClient(mq['device'], mq['host'], port=mq.get('port', 1883),
               keepalive=mq.get('keepalive', 60))
c.set_last_will(t_status, b'offline', retain=True, qos=1)
c.set_callback(on_cmd)
c.connect(clean_session=False)
c.subscribe(t_cmd, 1)
c.publish(t_status, b'online', retain=True, qos=1)
for seq in range(1, count + 1):
    parts = ['{"seq":%d,"t":%d' % (seq, s.clock.ticks_ms()), ',"t0":1',
             ',"m":"%s","q":%d' % (STATE_NAMES[modem.state], 0)]
    for name, sensor in sens:
        parts.append(',"%s":%.2f' % (name, sensor.read()))
    parts.append('}')
    c.publish(t_data, ''.join(parts).encode(), qos=1)
    c.check_msg()
c.publish(t_status, b'done', retain=True, qos=1)
if PROBE:
    gc.collect()
    print('heap live %d' % gc.mem_alloc())
c.disconnect()
print('umqtt: %d samples sent' % count)
print('modules ' + ' '.join(sorted(sys.modules)))
print('done')
