"""7. Parser cost: on the MicroPython unix port, the time modemkit's AT channel spends consuming
a recorded 1 MiB +QIRD download stream, divided by that stream's wire time at 921600 baud.

The stream is the one the wire-efficiency run recorded (the emulated Quectel's output during a
1 MiB download, cut where each AT+QIRD was written). bench/mpy/bench_parse.py replays it to an
at.Channel: each command written releases the module's answer to it, read 64 bytes at a time.
The channel's time is the whole exchange loop (scheduler, command writes, line parsing, the
length-prefixed payload handed to a counting consumer) minus the replay stream's own time to
deliver the same bytes (a UART's readinto is C on a board; here it is Python). The same loop
with the payload copied into a socket's receive ring (sock.Socket.put) is recorded beside it.
"""
import json
import os

from bench.common import figure, median, run_mpy
from bench.wire_efficiency import RECORDING

BAUD = 921600
REPS = 5
HEAP = 4 * 1024 * 1024


def run(ctx):
    key = 'parse_time_fraction.%d' % BAUD
    if not os.path.exists(RECORDING + '.json'):
        return {}, {key: 'no recorded download stream (the Quectel wire-efficiency run failed)'}
    with open(RECORDING + '.json') as f:
        meta = json.load(f)
    ok, lines, why = run_mpy('bench_parse', [RECORDING + '.bin', RECORDING + '.cuts', REPS],
                             HEAP, 600, fail_on=('Traceback',))
    if not ok:
        return {}, {key: '%s: %s' % (why, ' | '.join(lines[-4:]))}
    runs = {'parse': [], 'socket': [], 'replay': []}
    for line in lines:
        parts = line.split()
        if parts and parts[0] in runs:
            if parts[0] != 'replay' and int(parts[2]) != meta['payload_bytes']:
                return {}, {key: 'replay delivered %s payload bytes, not %d'
                            % (parts[2], meta['payload_bytes'])}
            runs[parts[0]].append(int(parts[1]) / 1e6)
    wire_s = meta['stream_bytes'] * 10.0 / BAUD
    replay = median(runs['replay'])
    fractions = [(t - replay) / wire_s for t in runs['parse']]
    method = {
        'interpreter': ctx.mpy['version'], 'heap_bytes': HEAP, 'repetitions': REPS,
        'statistic': 'median', 'timer': 'time.ticks_us on the unix port',
        'stream': 'emulated Quectel output of a 1 MiB download (bench/wire_efficiency.py): '
                  '%d bytes, %d AT+QIRD answers of up to %d payload bytes'
                  % (meta['stream_bytes'], meta['commands'], meta['board']['rx_size']),
        'wire_time_s': round(wire_s, 3), 'baud': BAUD,
        'channel': 'at.Channel defaults (line 256, store 512, read chunk 64)',
        'total_s': [round(t, 3) for t in runs['parse']],
        'replay_stream_s': round(replay, 3),
        'with_socket_ring_fraction': round(median(
            [(t - replay) / wire_s for t in runs['socket']]), 4),
        'app': 'bench/mpy/bench_parse.py'}
    return {key: figure(round(median(fractions), 4), 'channel time / wire time', method,
                        [round(f, 4) for f in fractions])}, {}
