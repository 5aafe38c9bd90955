"""2. Throughput vs. line rate: payload bytes per second / (baud / 10), per dialect, baud and
direction, with the application (bench/mpy/bench_throughput.py over lib/modemkit, from .mpy) on
the MicroPython unix port, talking through a pty to `modemkit sim`, which paces the line at the
baud rate and waits a 20 ms turnaround before each final result code.

Upload time runs from the first payload byte until the sink's one-byte acknowledgement came back
(end to end: on a module without flow control, bytes written are not yet bytes sent); download
time from the request line until the last byte arrived. Medians of REPS repetitions, each on a
fresh connection. Sizes are chosen per baud so a repetition lasts a few seconds of line time.

The connections are opened as a bulk transfer opens them: with socket rings of 2 KiB
(BULK_RINGS), which hold each command's maximum (Quectel: 1460-byte sends, 1500-byte reads;
Telit 1500 both ways), so a read is never cut short by the ring. Buffer mode at the fastest
baud is measured once more with the rp2040-ec21 board's 1 KiB rings (BOARD_RINGS).
"""
import os

from bench.common import BOARD, BUILD, Sim, figure, median, run_mpy

BAUDS = (115200, 921600)
SIZES = {115200: 32 * 1024, 921600: 128 * 1024}
TURNAROUND_MS = 20
REPS = 5
HEAP = 256 * 1024


def measure(dialect, baud, servers, reps=REPS, rings=None, mode='buffer'):
    """(upload microseconds per rep, download (microseconds, bytes lost) per rep); rings=(rx,
    tx) socket ring bytes (default BULK_RINGS); mode: 'buffer' (AT commands per chunk),
    'push' (Quectel direct push) or 'data' (the module's data mode, modemkit.datamode)."""
    size = SIZES[baud]
    link = os.path.join(BUILD, 'tty-rate-%s-%d-%s' % (dialect, baud, mode))
    sim = Sim(dialect, link, baud=baud, turnaround_ms=TURNAROUND_MS)
    # Wavecom's one mode is its data mode: the app opens its sockets the usual way
    extra = {'data': ['data=%d' % baud], 'push': ['push']}.get(mode, []) \
        if dialect != 'wavecom' else []
    try:
        # bounded: every rep at no less than a tenth of the line rate, plus start-up
        limit = 60 + reps * 2 * 10 * size * 10.0 / baud
        ok, lines, why = run_mpy('bench_throughput', [dialect, link, servers.ports['ack%d' % size],
                                                      servers.source_port, size, reps]
                                 + list(rings or BULK_RINGS) + extra,
                                 HEAP, limit, fail_on=('Traceback',))
    finally:
        sim.stop()
    if not ok:
        raise RuntimeError('%s at %d baud: %s: %s' % (dialect, baud, why, ' | '.join(lines[-6:])))
    up = [int(l.split()[1]) for l in lines if l.startswith('up ')]
    down = [tuple(int(x) for x in l.split()[1:3]) for l in lines if l.startswith('down ')]
    for _ in up:
        n, _sha = servers.report('sink')
        if n != size:
            raise RuntimeError('%s: the sink got %d bytes, not %d' % (dialect, n, size))
    for _ in down:
        servers.report('source')
    return up, down


# A bulk connection's rings (Modem.open(..., rx_size=, tx_size=)): room for every command's
# maximum. Besides, buffer mode at the fastest baud once more with the board's 1 KiB rings:
# what the ring size costs in exchanges per byte (1024-byte reads: at most 11.1 ms of line
# time per 20 ms turnaround).
BULK_RINGS = (2048, 2048)
BOARD_RINGS = (BOARD['rx_size'], BOARD['tx_size'])
BOARD_RINGS_AT = (('quectel', 921600), ('telit', 921600))

# The modes measured per dialect, in the same run, as
# line_rate_fraction.<dialect>.<mode>.<baud>.<up|down>:
#   buffer  AT commands per chunk: Quectel buffer access mode (AT+QISEND / AT+QIRD), Telit
#           command mode (AT#SSENDEXT / AT#SRECV)
#   push    Quectel direct push (AT+QIOPEN <access_mode> 1, board option push: true): sending as
#           in buffer mode, received data comes unasked in +QIURC: "recv",<id>,<len> URCs; what
#           does not fit the socket's receive ring is lost and counted (method.lost_bytes)
#   data    the module's data mode, the UART carrying the payload alone: Quectel transparent,
#           Telit online (modemkit.datamode), Wavecom's one (DLE-escaped) mode
MODES = {'quectel': ('buffer', 'push', 'data'), 'telit': ('buffer', 'data'), 'wavecom': ('data',)}

MODE_TEXT = {
    'buffer': 'AT commands per chunk, each up to the command\'s maximum (Quectel buffer access '
              'mode: AT+QISEND <= 1460, AT+QIRD <= 1500; Telit command mode: AT#SSENDEXT, '
              'AT#SRECV <= 1500), reads sized to the receive ring\'s room',
    'push': 'Quectel direct push mode (AT+QIOPEN <access_mode> 1): sends as in buffer mode; '
            'received data comes unasked (+QIURC: "recv",<id>,<len>), and what does not fit '
            'the socket\'s receive ring is lost (Socket.dropped, method.lost_bytes); the '
            'fraction counts delivered bytes only',
    'data': 'data mode: the UART carries the payload alone (AT+QIOPEN <access_mode> 2 / AT#SD '
            '<connMode> 0); the connection is opened and closed (escape with its guard times) '
            'outside the window',
    'wavecom': 'the module\'s one mode (DLE-escaped data mode)',
}


def run(ctx):
    results, missing = {}, {}
    for dialect in ctx.dialects:
        for baud, mode in [(b, m) for b in BAUDS for m in MODES.get(dialect, ('buffer',))]:
            size = SIZES[baud]
            key = 'line_rate_fraction.%s.%s.%d.%%s' % (dialect, mode, baud)
            try:
                up, down = measure(dialect, baud, ctx.servers, mode=mode)
            except Exception as e:
                for d in ('up', 'down'):
                    missing[key % d] = str(e)
                continue
            for d, runs in (('up', up), ('down', [us for us, _ in down])):
                lost = [n for _, n in down] if d == 'down' else [0] * len(runs)
                fractions = [(size - n) / (us / 1e6) / (baud / 10.0) for us, n in zip(runs, lost)]
                method = {
                    'interpreter': ctx.mpy['version'], 'heap_bytes': HEAP,
                    'app': 'bench/mpy/bench_throughput.py (lib/modemkit from .mpy)',
                    'serial': 'pty to `modemkit sim` (own process), line paced at the baud rate '
                              '(10 bits a byte)',
                    'baud': baud, 'turnaround_ms': TURNAROUND_MS, 'network_latency_ms': 0,
                    'payload_bytes': size, 'board': BOARD, 'repetitions': len(runs),
                    'socket_rings': {'rx_size': BULK_RINGS[0], 'tx_size': BULK_RINGS[1],
                                     'note': 'opened as a bulk transfer, not the board\'s'},
                    'statistic': 'median', 'timer': 'time.ticks_us on the unix port',
                    'window': 'upload: first payload byte to the far end\'s acknowledgement; '
                              'download: request to last byte',
                    'seconds': [round(us / 1e6, 3) for us in runs],
                    'load_average': [round(x, 2) for x in os.getloadavg()],
                    'mode': MODE_TEXT['wavecom' if dialect == 'wavecom' else mode]}
                if mode == 'push' and d == 'down':
                    method['lost_bytes'] = lost
                results[key % d] = figure(
                    round(median(fractions), 4), 'payload B/s / (baud/10)', method,
                    [round(f, 4) for f in fractions])
    for dialect, baud in BOARD_RINGS_AT:
        keys = ['line_rate_fraction.%s.buffer.%d.%s' % (dialect, baud, d) for d in ('up', 'down')]
        if not all(k in results for k in keys):
            continue
        try:
            up, down = measure(dialect, baud, ctx.servers, rings=BOARD_RINGS)
        except Exception as e:
            up = down = None
            for k in keys:
                results[k]['method']['with_board_rings'] = {'error': str(e)}
        if up:
            for k, runs in zip(keys, (up, [us for us, _ in down])):
                f = [SIZES[baud] / (us / 1e6) / (baud / 10.0) for us in runs]
                results[k]['method']['with_board_rings'] = {
                    'rx_size': BOARD_RINGS[0], 'tx_size': BOARD_RINGS[1],
                    'median': round(median(f), 4), 'runs': [round(x, 4) for x in f],
                    'load_average': [round(x, 2) for x in os.getloadavg()],
                    'note': 'the same measurement with the rp2040-ec21 board\'s rings: reads '
                            'cut to 1024 bytes, more exchanges per byte'}
    return results, missing
