"""3. Heap: the smallest `-X heapsize` at which a stack runs COUNT QoS 1 samples correctly on the
64-bit MicroPython unix port (everything from .mpy), found by bisection, per dialect:

- min_heap_bytes.telemetry.<dialect>: the telemetry app as shipped (apps/telemetry/main.py);
- min_heap_bytes.umqtt_simple.<dialect>: the peer, umqtt.simple from PyPI over modemkit's
  socket shim (bench/mpy/bench_umqtt.py), publishing the same samples;
- min_heap_bytes.<stack>_rom.<dialect>: the same two with their code in a ROM filesystem outside
  the heap, executed in place as a device runs frozen or ROMFS code (mktools.dev.romrun): the unix
  port otherwise loads every .mpy's bytecode into the heap it caps. These run the desktop
  boards' 256-byte socket rings (ROM_RINGS; `max_packet` is 256), the figure issue #17 sets a
  target for; the heap stacks keep the rp2040-ec21 board's 1 KiB.

"Correctly": the process reports COUNT samples sent and exits cleanly, and an independent paho
subscriber saw every sequence number 1..COUNT on the telemetry topic and the final 'done' status.
A run that prints a MemoryError is stopped at once. Each trial gets a fresh emulator (on a pty,
unpaced) and a fresh device id, so no state carries over. When bench/results.json holds an
earlier answer the search starts from a bracket around it (checked at both ends, widened until
it holds), which saves most runs. The bisection's answer is then run CONFIRM more times; a
failure there moves it up a step until it passes CONFIRM times in a row (near the limit a run
can fail at a size where another passed: those are recorded).
"""
import json
import os
import time

from bench.common import BOARD, BUILD, DIALECTS, Sim, figure, run_mpy

COUNT = 200
LOW = 4 * 1024
HIGH = 256 * 1024
STEP = 256
CONFIRM = 1
HINT_SPAN = 2048
PROBE_DIALECTS = ('quectel',)     # where heap_in_use is measured besides the bisection
STACKS = {'telemetry': ('bench_telemetry', 'telemetry: %d samples sent', False),
          'umqtt_simple': ('bench_umqtt', 'umqtt: %d samples sent', False),
          'telemetry_rom': ('bench_telemetry', 'telemetry: %d samples sent', True),
          'umqtt_simple_rom': ('bench_umqtt', 'umqtt: %d samples sent', True)}
FATAL = ('MemoryError', 'memory allocation failed', 'Traceback')
ROM_RINGS = {'rx_size': 256, 'tx_size': 256}     # boardcfg/desktop-*.json


def board_config(dialect, link, broker_port, device, qdir, rom=False):
    cfg = dict(BOARD, dialect=dialect, serial={'port': link, 'baud': 115200},
               sensors=[{'name': 'temp', 'kind': 'sim', 'base': 21.5, 'swing': 3.0}],
               mqtt={'host': 'broker.test', 'port': broker_port, 'prefix': 'bench',
                     'device': device, 'keepalive': 60, 'window': 2, 'max_packet': 256},
               telemetry={'period_ms': 10, 'queue_path': os.path.join(qdir, 'telemetry'),
                          'queue_bytes': 32768})
    cfg.update(DIALECTS[dialect][1])
    if rom:
        cfg.update(ROM_RINGS)
    return cfg


class Trials:
    """Runs one stack on one dialect at chosen heap sizes."""

    def __init__(self, stack, dialect, ctx):
        self.stack, self.dialect, self.ctx = stack, dialect, ctx
        self.n = 0
        self.log = []             # (heap, ok, why, seconds)
        self.ok_s = None          # how long a passing run takes: bounds the others
        self.modules = None
        self.probe = {}           # 'imports', 'live': heap in use, see bench_telemetry.py

    def run(self, heap, probe=False):
        ok = self._run(heap, probe)
        if not ok and 'MemoryError' not in (self.log[-1][2] or ''):
            # not a shortage of memory (a lost message, a slow start): that says nothing about
            # this heap size, so it gets a second chance
            ok = self._run(heap, probe)
        return ok

    def _run(self, heap, probe=False):
        self.n += 1
        tag = '%s-%s-%d-%d-%d' % (self.stack, self.dialect, heap, self.n, os.getpid())
        work = os.path.join(BUILD, 'heap', tag)
        os.makedirs(work, exist_ok=True)
        link = os.path.join(work, 'tty')
        device = 'h%d-%s' % (self.n, tag)
        module, done, rom = STACKS[self.stack]
        cfg = board_config(self.dialect, link, self.ctx.broker.port, device, work, rom)
        path = os.path.join(work, 'board.json')
        with open(path, 'w') as f:
            json.dump(cfg, f)
        limit = 240 if self.ok_s is None else max(30, 4 * self.ok_s)
        t0 = time.monotonic()
        sim = Sim(self.dialect, link)
        try:
            ok, lines, why = run_mpy(module, [path, COUNT] + (['probe'] if probe else []), heap,
                                     limit, fail_on=FATAL, rom=rom)
        finally:
            sim.stop()
        took = time.monotonic() - t0
        if ok and not [l for l in lines if l.startswith(done % COUNT)]:
            ok, why = False, 'did not report %d samples sent' % COUNT
        if ok:
            ok, why = self._delivered(device)
        if ok:
            self.ok_s = took if self.ok_s is None else min(self.ok_s, took)
            mods = [l for l in lines if l.startswith('modules ')]
            if mods:
                self.modules = mods[0].split()[1:]
            for l in lines:
                if l.startswith('heap '):
                    self.probe[l.split()[1]] = int(l.split()[2])
        self.log.append((heap, ok, why, round(took, 1)))
        return ok

    def _delivered(self, device):
        topic = 'bench/%s/telemetry' % device
        sub = self.ctx.subscriber
        got = sub.wait_for(topic, COUNT, timeout_s=10)
        seqs = sorted(set(json.loads(p)['seq'] for p in got))
        if seqs != list(range(1, COUNT + 1)):
            return False, 'broker saw %d of %d samples' % (len(seqs), COUNT)
        if b'done' not in sub.wait_for('bench/%s/status' % device, 2, timeout_s=5):
            return False, 'no final status'
        return True, None


def bisect(trials, hint=None):
    """The smallest heap (to STEP bytes) that passes, or raises. With a hint (the last run's
    answer) the search starts from a bracket around it, widened until it holds: fewer runs."""
    if hint:
        span = HINT_SPAN
        hi = (hint + span) // STEP * STEP
        while not trials.run(hi):
            if hi > 4 * HIGH:
                raise RuntimeError('fails even with %d bytes: %s' % (hi, trials.log[-1][2]))
            span *= 4
            hi = (hint + span) // STEP * STEP
        lo = max(LOW, (hint - HINT_SPAN) // STEP * STEP)
        while lo > LOW and trials.run(lo):
            gap = hi - lo
            hi = lo
            lo = max(LOW, lo - 4 * gap)
    else:
        hi = HIGH
        while not trials.run(hi):
            if hi >= 4 * HIGH:
                raise RuntimeError('fails even with %d bytes: %s' % (hi, trials.log[-1][2]))
            hi *= 2
        lo = LOW
    while hi - lo > STEP:
        mid = (lo + hi) // 2 // STEP * STEP
        if trials.run(mid):
            hi = mid
        else:
            lo = mid
    passes = 0
    while passes < CONFIRM:
        if trials.run(hi):
            passes += 1
        else:
            passes = 0
            hi += STEP
            if hi > 4 * HIGH:
                raise RuntimeError('no heap size passes consistently')
    return hi


def measure(stack, dialect, ctx):
    """figure for min_heap_bytes.<stack>.<dialect>."""
    trials = Trials(stack, dialect, ctx)
    t0 = time.monotonic()
    hint = ctx.previous.get('min_heap_bytes.%s.%s' % (stack, dialect))
    heap = bisect(trials, hint)
    if dialect in PROBE_DIALECTS:
        trials.run(HIGH, probe=True)
    method = {
        'interpreter': ctx.mpy['version'], 'word_bits': ctx.mpy['word_bits'],
        'code': ('every module from .mpy (mpy-cross %s)' % ctx.mpy_cross) +
                (' in a ROM filesystem outside the heap, executed in place (mktools.dev.romrun)'
                 if STACKS[stack][2] else ', loaded into the heap'),
        'stack': {'telemetry': 'apps/telemetry/main.py as shipped (MQTT client, store-and-'
                               'forward queue on files, sampler and sender tasks)',
                  'umqtt_simple': 'PyPI micropython-umqtt.simple 1.3.4, unmodified, over '
                                  'modemkit.usock on the same driver (bench/mpy/bench_umqtt.py)'
                  }[stack.replace('_rom', '')],
        'samples': COUNT, 'qos': 1, 'check': 'process reports %d sent and exits 0; paho '
        'subscriber saw seq 1..%d and status done' % (COUNT, COUNT),
        'board': board_config(dialect, 'PTY', 0, 'DEVICE', 'DIR', STACKS[stack][2]),
        'serial': 'pty to `modemkit sim` (own process)', 'baud': None, 'turnaround_ms': 0,
        'network_latency_ms': 0, 'heap_bytes': 'the figure (-X heapsize)',
        'repetitions': len(trials.log),
        'search': ('bisection to %d bytes from a bracket of +-%d around the previous run\'s '
                   '%d, widened until it held' % (STEP, HINT_SPAN, hint) if hint else
                   'bisection %d..%d bytes to %d bytes' % (LOW, HIGH, STEP)) +
                  ', answer confirmed %d more time(s)' % CONFIRM,
        'trials': [{'heap': h, 'ok': ok, 'why': why, 's': s} for h, ok, why, s in trials.log],
        'seconds': round(time.monotonic() - t0, 1)}
    if trials.modules:
        method['modules_loaded'] = trials.modules
    if trials.probe:
        method['heap_in_use'] = dict(trials.probe, heap_bytes=HIGH, note='gc.mem_alloc() after '
                                     'gc.collect(): once everything is imported, and once the '
                                     'last sample is sent with every object still alive')
    above = [h for h, ok, why, _ in trials.log if not ok and h > heap and 'MemoryError' in why]
    if above:
        method['failed_above'] = sorted(set(above))
        method['note'] = 'not a sharp threshold: larger heaps also failed in this run'
    return figure(heap, 'bytes', method), trials.modules


def jobs(ctx):
    """One job per (stack, dialect): callables returning (results, missing)."""
    return [_job(stack, dialect, ctx) for dialect in ctx.dialects for stack in STACKS]


def _job(stack, dialect, ctx):
    key = 'min_heap_bytes.%s.%s' % (stack, dialect)

    def job():
        if stack.startswith('umqtt_simple') and not ctx.have_umqtt:
            return {}, {key: 'umqtt.simple could not be fetched from PyPI'}
        try:
            fig, _ = measure(stack, dialect, ctx)
            return {key: fig}, {}
        except Exception as e:
            return {}, {key: str(e)}
    job.__name__ = key
    return job
