"""4. Allocation per publish: heap bytes allocated per steady-state QoS 0 publish (64-byte
payload, 20-byte topic), with the GC disabled around N publishes, for modemkit's MQTT client and
for umqtt.simple, both over the same Quectel driver (bench/mpy/bench_alloc.py, on the MicroPython
unix port, through a pty to the emulator and on to mosquitto): umqtt.simple through modemkit's
socket shim (umqtt_simple_usock) and, to show its own share, into a socket object that only
counts bytes (umqtt_simple_counting_socket).

Allocated bytes are gc.mem_alloc() after minus before (with the GC off nothing is reclaimed), so
they include everything the publishes cost: the client, the socket layer, the AT exchanges and
the scheduler. A paho subscriber checks that the broker got the messages.
"""
import os

from bench.common import BUILD, Sim, figure, run_mpy

N = 1000
N_QOS1 = 300          # each waits for its PUBACK through the module and the broker
WARM = 50
HEAP = 16 * 1024 * 1024
TOPIC = 'modemkit/bench/alloc'


def run(ctx):
    keys = {'modemkit': 'alloc_bytes_per_publish.modemkit',
            'umqtt_simple_usock': 'alloc_bytes_per_publish.umqtt_simple_usock',
            'umqtt_simple_counting_socket': 'alloc_bytes_per_publish.umqtt_simple_counting_socket'}
    if not ctx.have_umqtt:
        why = 'umqtt.simple could not be fetched from PyPI'
        return {}, dict((keys[k], why) for k in keys if k.startswith('umqtt'))
    link = os.path.join(BUILD, 'tty-alloc')
    sim = Sim('quectel', link)
    try:
        ok, lines, why = run_mpy('bench_alloc', [link, ctx.broker.port, N, WARM, N_QOS1], HEAP, 300,
                                 fail_on=('Traceback',))
    finally:
        sim.stop()
    if not ok:
        err = '%s: %s' % (why, ' | '.join(lines[-4:]))
        return {}, dict((k, err) for k in keys.values())
    got, by_task, by_task1, writes = {}, {}, {}, None
    for line in lines:
        parts = line.split()
        if parts[:1] == ['alloc']:
            got[parts[1]] = int(parts[2]) / float(parts[3])
        elif parts[:1] == ['writes_per_publish']:
            writes = int(parts[1]) / float(parts[2])
        elif parts[:1] == ['bytask'] and int(parts[2]):
            by_task[parts[1]] = round(int(parts[2]) / float(parts[3]), 2)
        elif parts[:1] == ['bytask1'] and int(parts[2]):
            by_task1[parts[1]] = round(int(parts[2]) / float(parts[3]), 2)
    # modemkit: publish_nowait, the generator API at QoS 0 and 1, the per-task pass; then
    # umqtt.simple (the null-socket pass sends nothing)
    published = 3 * (N + WARM) + N + 2 * (WARM + N_QOS1)
    delivered = len(ctx.subscriber.wait_for(TOPIC, published, timeout_s=10))
    base = {'interpreter': ctx.mpy['version'], 'heap_bytes': HEAP, 'publishes': N,
            'baud': None, 'turnaround_ms': 0, 'network_latency_ms': 0, 'repetitions': 1,
            'warm_up_publishes': WARM, 'qos': 0, 'payload_bytes': 64, 'topic_bytes': 20,
            'measure': 'gc.mem_alloc() after - before, gc.disable() around the publishes',
            'driver': 'modemkit.quectel over a pty to `modemkit sim` (unpaced), mosquitto on '
                      '127.0.0.1', 'published_over_the_module': published,
            'broker_delivered': delivered,
            'app': 'bench/mpy/bench_alloc.py'}
    results = {}
    results[keys['modemkit']] = figure(round(got['modemkit'], 2), 'bytes/publish', dict(
        base, api='MQTT.publish_nowait() (waiting on the socket event when the transmit ring '
                  'is full), until the module accepted every byte',
        measured_in='the publishing task: gc.mem_alloc() read inside it after its warm-up '
                    'publishes and after the last byte left, so starting the task (once) is '
                    'not counted; the modem\'s tasks meanwhile are',
        generator_api_bytes_per_publish=round(got.get('modemkit_publish_generator', -1), 2),
        generator_api='`yield c.publish(topic, msg, 0, False, 10000)` (the README\'s API)',
        qos1_bytes_per_publish=round(got.get('modemkit_publish_qos1', -1), 2),
        qos1='`yield c.publish(topic, msg, 1, False, 10000)`, %d publishes, each returning '
             'once its PUBACK came back through the module (the driver\'s receive path '
             'included)' % N_QOS1,
        qos1_bytes_per_publish_by_task=by_task1,
        bytes_per_publish_by_task=by_task,
        by_task='the same publishes again, gc.mem_alloc() read around each scheduler step and '
                'summed per task (tasks that allocated nothing are left out)'))
    umqtt = dict(base, api='MQTTClient.publish(topic, payload) (umqtt.simple 1.3.4 from PyPI, '
                           'unmodified), QoS 0', socket_writes_per_publish=writes)
    results[keys['umqtt_simple_usock']] = figure(
        round(got['umqtt_simple_usock'], 2), 'bytes/publish', dict(
            umqtt, includes='umqtt.simple and everything under it on the same Quectel driver as '
                            'modemkit\'s figure: modemkit.usock (each blocking write puts its '
                            'bytes in the socket\'s transmit ring and runs the scheduler pass '
                            'by pass, without a task, until the module has accepted them), the '
                            'modem\'s I/O task and AT exchanges'))
    results[keys['umqtt_simple_counting_socket']] = figure(
        round(got['umqtt_simple_counting_socket'], 2), 'bytes/publish', dict(
            dict((k, v) for k, v in umqtt.items() if k not in (
                'driver', 'published_over_the_module', 'broker_delivered', 'baud',
                'turnaround_ms', 'network_latency_ms')),
            includes='umqtt.simple alone: the same publishes into a Python object whose write() '
                     'only counts bytes (nothing sent, no socket, no modem)'))
    return results, {}
