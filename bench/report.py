"""bench/results.md from bench/results.json: the table the README shows, where a peer wins, and
the three figures furthest from the serial line's limit or from the best peer, with why.

    python -m bench.report            (rewrites bench/results.md from bench/results.json)
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DIALECTS = ('quectel', 'telit', 'wavecom')
BAUDS = (115200, 921600)
# what each driver moves per AT exchange in buffer mode on the benchmark board (rx_size =
# tx_size = 1024), by direction: a send command carries up to the command's maximum (Quectel
# AT+QISEND 1460, Telit #SSENDEXT 1500), the ring's bytes then the rest of the send()'s buffer,
# so bench_throughput's 4096-byte send()s go in 3 commands each; a read (AT+QIRD, #SRECV) asks
# for what the receive ring has room for. Wavecom's data mode has no exchange per chunk.
CHUNK = {'quectel': {'up': 4096 / 3.0, 'down': 1500}, 'telit': {'up': 4096 / 3.0, 'down': 1500}}
# the modes measured per dialect (bench/line_rate.py), in the table's order
MODES = (('buffer', ''), ('push', ', push mode'), ('data', ', data mode'))


# every benchmark `python -m bench.run` knows, in the order it runs them
BENCHMARKS = ('wire', 'heap', 'alloc', 'codesize', 'sched', 'parse', 'rate', 'fleet')

def _v(doc, key):
    r = doc['results'].get(key)
    return None if r is None else r['value']


def _m(doc, key, field, default=None):
    r = doc['results'].get(key)
    return default if r is None else r['method'].get(field, default)


def _kib(doc, key):
    return (_m(doc, key, 'payload_bytes') or 0) // 1024


def _f(x, digits=2):
    if x is None:
        return '—'
    if isinstance(x, int) or float(x).is_integer() and abs(x) >= 100:
        return '{:,}'.format(int(x))
    return ('%.' + str(digits) + 'f') % x


def _ratio(a, b):
    return None if a is None or b is None or not b else a / float(b)


# -- the comparisons with peers: (label, modemkit key, peer key, peer name, unit) ---------------
def peer_rows(doc):
    rows = []
    for rom in ('', '_rom'):
        for d in DIALECTS:
            rows.append(('smallest heap for 200 QoS 1 samples, %s%s'
                         % (d, ', code in ROM, 256-byte rings' if rom else ''),
                         'min_heap_bytes.telemetry%s.%s' % (rom, d),
                         'min_heap_bytes.umqtt_simple%s.%s' % (rom, d),
                         'umqtt.simple over the socket shim', 'bytes'))
    rows += [
        ('heap allocated per QoS 0 publish', 'alloc_bytes_per_publish.modemkit',
         'alloc_bytes_per_publish.umqtt_simple_usock', 'umqtt.simple over the socket shim',
         'bytes'),
        ('heap allocated per QoS 0 publish', 'alloc_bytes_per_publish.modemkit',
         'alloc_bytes_per_publish.umqtt_simple_counting_socket',
         'umqtt.simple alone (counting socket)', 'bytes'),
        ('one task switch', 'switch_us.modemkit', 'switch_us.asyncio', 'MicroPython asyncio',
         'µs'),
        ('heap per suspended task', 'task_bytes.modemkit', 'task_bytes.asyncio',
         'MicroPython asyncio', 'bytes'),
        ('.mpy of the MQTT client', 'mpy_bytes.modemkit.mqtt', 'mpy_bytes.umqtt_simple',
         'umqtt.simple', 'bytes'),
    ]
    return rows


def markdown(doc):
    meta = doc.get('meta', {})
    mp = meta.get('micropython') or {}
    out = ['<!-- written by `make bench` (python -m bench.run) from bench/results.json -->', '']
    ran = meta.get('benchmarks') or []
    took = 'the whole run took %s s' % _f(meta.get('wall_s'), 0)
    if ran and len(ran) < len(BENCHMARKS):
        # `--only`: the other benchmarks' figures are those of the run before
        took = 'this run (%s; the other figures are from the run before) took %s s' % (
            ', '.join(ran), _f(meta.get('wall_s'), 0))
    out.append('Measured %s on a %s-core machine (%s), MicroPython %s, %s-bit unix port; CPython '
               '%s, %s; %s. bench/results.json holds every figure with how it '
               'was measured (interpreter, heap cap, baud, turnaround, sizes, repetitions, raw '
               'runs).' % (meta.get('started_utc', '?'), meta.get('machine', {}).get('cpus', '?'),
                           meta.get('machine', {}).get('platform', '?'),
                           mp.get('version', '?').split(';')[-1].strip()
                           .replace('MicroPython ', ''),
                           mp.get('word_bits', '?'), meta.get('cpython', '?'),
                           meta.get('mosquitto') or 'mosquitto', took))
    out += ['', '**On the serial line** (1.00 is the line\'s limit; higher is better)', '',
            '| dialect | bytes up | bytes down | 115200 up | 115200 down | 921600 up '
            '| 921600 down |', '|---|---|---|---|---|---|---|']
    for d in DIALECTS:
        first = True
        for mode, label in MODES:
            rates = [_v(doc, 'line_rate_fraction.%s.%s.%d.%s' % (d, mode, b, x))
                     for b in BAUDS for x in ('up', 'down')]
            if all(v is None for v in rates):
                continue
            # the wire's byte counts are per dialect (its AT-command path), on its first row
            cells = [_f(_v(doc, 'wire_efficiency.%s.%s' % (d, x)), 3) if first else '–'
                     for x in ('up', 'down')]
            first = False
            out.append('| %s%s | %s |' % (d, label if d != 'wavecom' else '',
                                          ' | '.join(cells + [_f(v, 2) for v in rates])))
    ref = 'line_rate_fraction.quectel.buffer.%d.up'
    out += ['', 'Bytes: payload ÷ bytes on the line in that direction, 1 MiB of random bytes over '
            'TCP, exact counts from the emulator. Baud columns: payload bytes per second ÷ '
            '(baud ÷ 10) on the MicroPython unix port through a pty to the emulator, which paces '
            'the line and waits %s ms before every final result code; median of %s, %s KiB at '
            '115200 and %s KiB at 921600 per transfer. Modes: buffer = an AT command per chunk '
            '(Quectel buffer access, Telit command mode), push = Quectel direct push (received '
            'data unasked; bytes beyond the receive ring are lost and counted), data = the '
            'module\'s data mode (Wavecom: its only mode).' % (
                _f(_m(doc, ref % 921600, 'turnaround_ms')),
                _f(_m(doc, ref % 921600, 'repetitions')),
                _f(_kib(doc, ref % 115200)),
                _f(_kib(doc, ref % 921600)))]
    p = _v(doc, 'parse_time_fraction.921600')
    if p is not None:
        out += ['', 'Parser: consuming a recorded 1 MiB `+QIRD` download stream takes the AT '
                'channel **%s** of the stream\'s wire time at 921600 baud (%s with the payload '
                'copied into the socket\'s ring).' % (_f(p, 3), _f(_m(
                    doc, 'parse_time_fraction.921600', 'with_socket_ring_fraction'), 3))]
    out += ['', '**Beside its peers** (same process or same run, same emulated module; lower is '
            'better)', '', '| what | modemkit | peer | peer\'s figure | modemkit ÷ peer |',
            '|---|---|---|---|---|']
    for label, mk, pk, peer, unit in peer_rows(doc):
        a, b = _v(doc, mk), _v(doc, pk)
        if a is None and b is None:
            continue
        out.append('| %s (%s) | %s | %s | %s | %s |' % (label, unit, _f(a), peer, _f(b),
                                                       _f(_ratio(a, b), 2)))
    own = _v(doc, 'alloc_bytes_per_publish.umqtt_simple_counting_socket')
    shim = _v(doc, 'alloc_bytes_per_publish.umqtt_simple_usock')
    by_task = _m(doc, 'alloc_bytes_per_publish.modemkit', 'bytes_per_publish_by_task')
    if own is not None and shim is not None:
        out += ['', 'What each allocation figure includes (GC off around %s QoS 0 publishes of a '
                '64-byte payload to a 20-byte topic): modemkit\'s, its client, socket, AT '
                'channel and scheduler over a pty to the emulated Quectel until the module '
                'accepted every byte; umqtt.simple over the socket shim (%s), the same plus '
                'umqtt.simple and `modemkit.usock` in place of modemkit\'s client (each write runs '
                'the scheduler pass by pass, without a task, until the module has accepted it); '
                'umqtt.simple alone '
                '(%s), its %s socket writes per publish going into an object that only counts '
                'them.%s' % (
                    _f(_m(doc, 'alloc_bytes_per_publish.modemkit', 'publishes')), _f(shim),
                    _f(own), _f(int(_m(doc, 'alloc_bytes_per_publish.umqtt_simple_counting_socket',
                                       'socket_writes_per_publish') or 0)),
                    (' modemkit\'s own bytes per publish, by task: %s.' % ', '.join(
                        '%s %s' % ('the publishing loop' if t == 'main' else t, _f(b))
                        for t, b in sorted(by_task.items()))) if by_task else '')]
    gen = _m(doc, 'alloc_bytes_per_publish.modemkit', 'generator_api_bytes_per_publish')
    q1 = _m(doc, 'alloc_bytes_per_publish.modemkit', 'qos1_bytes_per_publish')
    q1_task = _m(doc, 'alloc_bytes_per_publish.modemkit', 'qos1_bytes_per_publish_by_task')
    if gen is not None and q1 is not None and gen >= 0 and q1 >= 0:
        out += ['', 'modemkit per publish, read inside the publishing task after its warm-up: '
                '`publish_nowait()` %s bytes, `yield c.publish(...)` at QoS 0 %s, at QoS 1 %s '
                '(its PUBACK back through the module%s).' % (
                    _f(_v(doc, 'alloc_bytes_per_publish.modemkit')), _f(gen), _f(q1),
                    ('; where they go, a second pass counted per scheduler step: %s' % ', '.join('%s %s' % (
                        'the publishing loop' if t == 'main' else t, _f(b))
                        for t, b in sorted(q1_task.items()))) if q1_task else '')]
    for label, mk, pk, peer, unit in peer_rows(doc):
        for k in (mk, pk):
            above = _m(doc, k, 'failed_above')
            if above:
                out.append('')
                out.append('`%s`: not a sharp threshold, %s also failed in this run.'
                           % (k, ', '.join(_f(h) for h in above)))
    out += ['', '**Code size** (`.mpy` bytes from mpy-cross)', '', '| module | bytes |',
            '|---|---|']
    for k in sorted(doc['results']):
        if k.startswith('mpy_bytes.') and k != 'mpy_bytes.telemetry_total':
            out.append('| %s | %s |' % (k[len('mpy_bytes.'):], _f(_v(doc, k))))
    t = _v(doc, 'mpy_bytes.telemetry_total')
    if t is not None:
        mods = sorted(_m(doc, 'mpy_bytes.telemetry_total', 'modules', {}))
        out.append('| **everything the telemetry app imports on a Quectel board** (%s) | **%s** |'
                   % (', '.join(mods), _f(t)))
    out += fleet_lines(doc)
    out += ['', '**Where a peer wins**', '']
    out += wins(doc) or ['- Nowhere in this run.']
    out += ['', '**Furthest from the limit or from the best peer**', '']
    out += furthest(doc)
    if doc.get('missing'):
        out += ['', '**Not measured in this run**', '']
        out += ['- `%s`: %s' % (k, why) for k, why in sorted(doc['missing'].items())]
    return '\n'.join(out) + '\n'


def fleet_lines(doc):
    """The 1,000-module upgrade (bench/fleet_upgrade.py), if it ran."""
    n = _v(doc, 'fleet_upgrade.modules_upgraded')
    if n is None:
        return []
    m = doc['results']['fleet_upgrade.modules_upgraded']['method']
    w = doc['results']['fleet_upgrade.wall_s']['method']
    return ['', '**Fleet upgrade** (`modemkit upgrade` in waves against one `modemkit sim '
            '--fleet` process; %s)' % m.get('machine', ''), '',
            '| figure | value |', '|---|---|',
            '| modules upgraded (of %s) | %s |' % (_f(m.get('modules')), _f(n)),
            '| wall time, both runs (stopped + resumed) | %s s (%s + %s) |' % (
                _f(_v(doc, 'fleet_upgrade.wall_s'), 0), _f(w.get('run1_s'), 0),
                _f(w.get('run2_s'), 0)),
            '| run 1 stopped at the threshold | %s |' % (m.get('run1_stop') or 'no'),
            '| peak RSS of the tool | %s KiB |' % _f(_v(doc, 'fleet_upgrade.tool_peak_rss_kib')),
            '| peak RSS of the emulator | %s KiB |' % _f(
                _v(doc, 'fleet_upgrade.emulator_peak_rss_kib')),
            '| peak descriptors, tool / emulator | %s / %s |' % (
                _f(_v(doc, 'fleet_upgrade.tool_peak_fds')),
                _f(_v(doc, 'fleet_upgrade.emulator_peak_fds'))),
            '| CPU, tool / emulator / its scripts | %s / %s / %s s |' % (
                _f(w.get('tool_cpu_s'), 1), _f(w.get('emulator_cpu_s'), 1),
                _f(w.get('scripts_cpu_s'), 1))]


def wins(doc):
    out = []
    heaps = []
    for label, mk, pk, peer, unit in peer_rows(doc):
        a, b = _v(doc, mk), _v(doc, pk)
        if a is None or b is None or a <= b:
            continue
        if mk.startswith('min_heap_bytes'):
            heaps.append((mk.split('.')[-1] + (' (code in ROM)' if '_rom.' in mk else ''), a, b))
            continue
        out.append('- **%s**: %s needs %s %s, modemkit %s (%s×).%s' % (
            label, peer, _f(b), unit, _f(a), _f(a / float(b), 2), WHY_WIN.get(mk, '')))
    if heaps:
        out.insert(0, '- **Smallest heap**: umqtt.simple over modemkit\'s socket shim runs the '
                   'same 200 QoS 1 samples in less heap than the telemetry app: %s. %s' % (
                       '; '.join('%s %s against %s bytes (%s×)' % (d, _f(b), _f(a), _f(a / b, 2))
                                 for d, a, b in heaps), _heap_why(doc)))
    return out


WHY_WIN = {
    'task_bytes.modemkit': ' A modemkit task keeps its wait state in its own fields (those it '
    'has never used stay on the class) and allocates the stack of its callers at its first '
    'sub-generator call, so switching and waiting allocate nothing; asyncio\'s task is a native '
    'object holding one coroutine.',
    'switch_us.modemkit': ' Each pass of modemkit\'s scheduler walks every task for deadlines '
    'and streams.',
    'alloc_bytes_per_publish.modemkit': '',
    'mpy_bytes.modemkit.mqtt': ' modemkit\'s client also keeps QoS 1 messages for resending, '
    'reconnects with back-off, checks keepalive and refuses malformed packets; umqtt.simple '
    'does none of these.',
}


def _heap_why(doc):
    a = _m(doc, 'min_heap_bytes.telemetry.quectel', 'heap_in_use') or {}
    b = _m(doc, 'min_heap_bytes.umqtt_simple.quectel', 'heap_in_use') or {}
    ha, hb = _v(doc, 'min_heap_bytes.telemetry.quectel'), _v(doc, 'min_heap_bytes.umqtt_simple.'
                                                               'quectel')
    text = ('The two do not do the same work: the app also keeps every sample in a '
            'store-and-forward queue on files until its PUBACK, runs its sampler and MQTT '
            'connection as tasks beside the sender, and preallocates its MQTT packet buffer, '
            'QoS 1 window and socket rings; the peer is one blocking loop.')
    if a.get('imports') and b.get('imports') and ha and hb:
        text += (' Where the bytes go (Quectel, measured after a collection): once everything '
                 'is imported the app has %s bytes in use and the peer %s (on the unix port '
                 'loaded bytecode lives in the heap; frozen into a board\'s flash it would '
                 'not); after the last sample, with everything alive, %s and %s; the rest of '
                 'the smallest heap (%s and %s bytes) is room for transient allocations and '
                 'fragmentation.' % (_f(a['imports']), _f(b['imports']), _f(a['live']),
                                    _f(b['live']), _f(ha - a['live']), _f(hb - b['live'])))
    return text


# -- the note: the three figures furthest from the line's limit or from the best peer ----------
def furthest(doc):
    items = {}                  # (family, cause) -> [(score, key)]
    for k, r in doc['results'].items():
        fam = k.split('.')[0]
        if fam in ('wire_efficiency', 'line_rate_fraction'):
            parts = k.split('.')
            cause = (fam,) + tuple(parts[2:])           # same baud and direction: same cause
            items.setdefault(cause, []).append((r['value'], k))
    for label, mk, pk, peer, unit in peer_rows(doc):
        if mk.startswith('mpy_bytes'):
            continue                # code size has no peer figure in the list
        a, b = _v(doc, mk), _v(doc, pk)
        if a is not None and b is not None and a > 0:
            items.setdefault((mk.split('.')[0],), []).append((min(1.0, b / float(a)), mk))
    ranked = sorted((min(v)[0], cause, sorted(v)) for cause, v in items.items())
    out = []
    peers = dict((mk, pk) for _, mk, pk, _, _ in peer_rows(doc))
    for score, cause, members in ranked[:3]:
        if members[0][1] in peers:
            keys = ', '.join('`%s` = %s against `%s` = %s' % (k, _f(_v(doc, k)), peers[k],
                                                              _f(_v(doc, peers[k])))
                             for s_, k in members if s_ <= score * 1.25)
        else:
            keys = ', '.join('`%s` = %s' % (k, _f(_v(doc, k), 3)) for s_, k in members
                             if s_ <= score * 1.25)
        out.append('%d. %s — %s' % (len(out) + 1, keys, explain(doc, members[0][1], score)))
    return out


def explain(doc, key, score):
    parts = key.split('.')
    fam = parts[0]
    if fam == 'line_rate_fraction':
        # line_rate_fraction.<dialect>.<mode>.<baud>.<way>
        d, mode, baud, way = parts[1], parts[2], int(parts[-2]), parts[-1]
        t_ms = _m(doc, key, 'turnaround_ms', 20)
        eff = _v(doc, 'wire_efficiency.%s.%s' % (d, way)) or 1.0
        c = CHUNK.get(d, {}).get(way)
        frac = _v(doc, key)
        if mode == 'push' and way == 'down':
            return ('the module pushes received data unasked (+QIURC: "recv",<id>,<len> and the '
                    'bytes): no command per chunk; %s bytes lost beyond the receive ring.'
                    % _f(sum(_m(doc, key, 'lost_bytes') or [0])))
        if c is None or not frac or mode == 'data':
            return ('the data mode carries payload with no command per chunk: what is missing '
                    'is the host\'s and the emulator\'s own pace through the pty.')
        per = c * 10000.0 / baud / frac                 # measured ms per exchange
        line_ms = c / eff * 10000.0 / baud              # its bytes on the line
        big = _m(doc, 'line_rate_fraction.%s.buffer.%d.%s' % (d, baud, way),
                 'with_board_rings') or {}
        more = (' Measured with the board\'s %d-byte socket rings instead: %s.'
                % (big.get('rx_size', 0), _f(big['median'], 2))) \
            if big.get('median') else ''
        if way == 'up':
            rest = per - line_ms - t_ms
            return ('one AT send command per %d-byte chunk on average (each up to the '
                    'command\'s maximum; a 4096-byte send() takes 3): the chunk must cross the '
                    'line before the module answers, and the module waits the %d ms turnaround '
                    'before every final result code. Of the measured %.1f ms per chunk, a model '
                    '(not a measurement: line time computed from the chunk\'s bytes and the baud '
                    'rate, the turnaround as the emulator is set, the rest called latency) gives '
                    '%.1f ms of line time, %d ms of turnaround and %.1f ms of host and emulator '
                    'latency (prompt round trip, pty). The turnaround is paid per exchange; at '
                    '115200 baud it is a smaller share of the chunk\'s 8x longer line time.%s'
                    % (c, t_ms, per, line_ms, t_ms, rest, more))
        return ('one AT read command per %d-byte fetch (the command\'s maximum, which the '
                'bulk connection\'s 2 KiB receive ring has room for): '
                'the module sends the data at once (%.1f ms on the line, modelled) but holds the '
                'final OK '
                'for the %d ms turnaround. Of the measured %.1f ms per fetch, a model (not a '
                'measurement: line time from the bytes and the baud rate, the turnaround as '
                'the emulator is set, the rest called latency) gives the turnaround plus %.1f '
                'ms of host and emulator latency, the data crossing meanwhile. The '
                'turnaround is paid per fetch: a ring with less room cuts the fetches short '
                'and pays it more often.%s'
                % (c, line_ms, t_ms, per, per - max(t_ms, line_ms), more))
    if fam == 'wire_efficiency':
        return ('payload ÷ line bytes: the per-chunk command and answer headers.')
    if fam == 'task_bytes':
        return ('%s of asyncio\'s bytes per suspended task.%s'
                % (_f(score, 2), WHY_WIN['task_bytes.modemkit']))
    if fam == 'min_heap_bytes':
        return ('%s of the peer\'s heap. %s' % (_f(score, 2), _heap_why(doc)))
    if fam == 'switch_us':
        return ('%s of asyncio\'s speed.%s' % (_f(score, 2), WHY_WIN['switch_us.modemkit']))
    if fam == 'alloc_bytes_per_publish':
        return ('%s of the peer\'s allocation.' % _f(score, 2))
    return ''


def main():
    with open(os.path.join(HERE, 'results.json')) as f:
        doc = json.load(f)
    with open(os.path.join(HERE, 'results.md'), 'w') as f:
        f.write(markdown(doc))
    return 0


if __name__ == '__main__':
    sys.exit(main())
