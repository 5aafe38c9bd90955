"""1. Wire efficiency: payload bytes / bytes crossing the serial line in that direction, for
1 MiB of random bytes over TCP, per dialect.

The driver (lib/modemkit, on CPython) talks through modemkit's FakeUart to the emulator running
in-process on one fake clock; the emulator's Wire counts every byte put on the line in each
direction, exactly. The line is paced at 921600 baud with a 20 ms command turnaround (the
conditions of the line-rate benchmark) only so that the driver meets the chunking it would meet
on a real line; no time is measured. The same run records the Quectel download's byte stream
(what the module sent, cut where each AT+QIRD was written) for the parser benchmark.
"""
import hashlib
import importlib
import json
import os
import random

from bench.common import BOARD, BUILD, figure

SIZE = 1 << 20
PIECE = 4096                # bytes per send() of the upload
BAUD = 921600
TURNAROUND_MS = 20
SIM = {
    'quectel': ('mktools.sim.quectel.modem:QuectelModem', {}),
    'telit': ('mktools.sim.telit.modem:TelitModem', {'variant': 'he910'}),
    'wavecom': ('mktools.sim.wavecom.modem:WavecomModem', {'variant': 'multitech'}),
}
DRIVER = {'quectel': 'modemkit.quectel:Quectel', 'telit': 'modemkit.telit:Telit',
          'wavecom': 'modemkit.wavecom:Wavecom'}
RECORDING = os.path.join(BUILD, 'qird_stream')


def _load(spec):
    module, name = spec.split(':')
    return getattr(importlib.import_module(module), name)


class _Recorder:
    """Taps the emulator's Wire: module output, and where each command line ended in it."""

    def __init__(self, wire):
        self.on = False
        self.down = bytearray()
        self.cuts = []
        self.commands = []
        self._cmd = bytearray()
        to_dte, from_dte = wire.to_dte, wire.from_dte

        def tap_down(data):
            if self.on:
                self.down += data
            to_dte(data)

        def tap_up(data):
            if self.on:
                if data[:2] == b'AT':
                    self._cmd = bytearray()      # a command line starts (data phases do not)
                self._cmd += data
                if self._cmd.startswith(b'AT') and self._cmd.endswith(b'\r'):
                    self.commands.append(bytes(self._cmd[:-1]))
                    self.cuts.append(len(self.down))
                    self._cmd = bytearray()
            from_dte(data)

        wire.to_dte, wire.from_dte = tap_down, tap_up


def transfer(dialect, servers, size=SIZE, record=False):
    """Upload then download `size` random bytes through `dialect`; the wire counts of each."""
    from modemkit.fakeuart import FakeClock, FakeUart
    from modemkit.sched import Scheduler, Return
    from mktools.sim.core.frontends import in_process

    sim_spec, sim_cfg = SIM[dialect]
    clock = FakeClock()
    sched = Scheduler(clock)
    uart = FakeUart(clock, chunk=64, size=1 << 17, marks=4096)
    cfg = dict(sim_cfg, hosts={'sink.test': '127.0.0.1', 'source.test': '127.0.0.1'},
               turnaround_s=TURNAROUND_MS / 1000.0, activation_s=0.05)
    fe = in_process(_load(sim_spec), uart, cfg, baud=BAUD)
    wire = fe.wire
    rec = _Recorder(wire) if record else None
    logs = []
    board = dict(BOARD, **({'variant': sim_cfg['variant']} if dialect == 'wavecom' else {}))
    drv = _load(DRIVER[dialect])(sched, uart, board, log=logs.append)
    drv.start()
    up_data = random.Random(1).randbytes(size)
    seed = 2
    out = {}

    def settle(s):
        # the transfer is over once the driver has finished its last exchange for it
        for _ in range(5000):
            if not drv.chan.busy() and not s.pending:
                return
            yield sched.sleep_ms(1)

    def main():
        yield drv.wait_ready(120000)
        s = yield drv.open('sink.test', servers.sink_port, timeout_ms=60000)
        u0, d0 = wire.count_up, wire.count_down
        for i in range(0, size, PIECE):
            yield s.send(up_data[i:i + PIECE], 60000)
            # A UART sends no faster than its baud rate; the fake one takes any write at once.
            # Without flow control (Wavecom's data mode) the whole MiB would sit on the line
            # and overflow it, so write the next piece once the line has carried this one.
            for _ in range(10 * PIECE):
                if wire.in_flight() <= PIECE:
                    break
                yield sched.sleep_ms(1)
        yield settle(s)
        out['up'] = (wire.count_up - u0, wire.count_down - d0)
        yield s.close()
        s = yield drv.open('source.test', servers.source_port, timeout_ms=60000)
        u0, d0 = wire.count_up, wire.count_down
        if rec is not None:
            rec.on = True
        yield s.send(b'%d %d\n' % (size, seed), 60000)
        h = hashlib.sha256()
        buf = bytearray(1024)
        got = 0
        while got < size:
            n = yield s.recv_into(buf, 60000)
            if not n:
                raise RuntimeError('%s: stream ended after %d bytes' % (dialect, got))
            h.update(buf[:n])
            got += n
        yield settle(s)
        if rec is not None:
            rec.on = False
        out['down'] = (wire.count_up - u0, wire.count_down - d0)
        out['down_sha'] = h.hexdigest()
        out['dropped'] = s.dropped
        yield s.close()
        raise Return(out)

    try:
        sched.run(main())
    except Exception as e:
        raise RuntimeError('%s: %r; driver log: %s' % (dialect, e, ' | '.join(logs[-8:])))
    n, sha = servers.report('sink')
    if n != size or sha != hashlib.sha256(up_data).hexdigest():
        raise RuntimeError('%s: the sink received %d bytes, not the %d sent' % (dialect, n, size))
    n, sha = servers.report('source')
    if sha != out['down_sha']:
        raise RuntimeError('%s: download corrupted (%d bytes dropped)' % (dialect, out['dropped']))
    out['fake_s'] = clock.now / 1000.0
    if rec is not None:
        _save_recording(rec)
    return out


def _save_recording(rec):
    # The recording starts with the request (AT+QISEND, its data, SEND OK): keep what follows
    # SEND OK, so that the stream holds the download alone, URCs included.
    if not rec.commands or not rec.commands[0].startswith(b'AT+QISEND='):
        raise RuntimeError('recorded download does not start with its request')
    start = rec.down.find(b'SEND OK\r\n', rec.cuts[0]) + 9
    commands, cuts = rec.commands[1:], [c - start for c in rec.cuts[1:]]
    bad = [c for c in commands if not c.startswith(b'AT+QIRD=')]
    if start < 9 or bad or min(cuts) < 0:
        raise RuntimeError('recorded download holds other commands: %r' % bad[:3])
    down = rec.down[start:]
    os.makedirs(BUILD, exist_ok=True)
    with open(RECORDING + '.bin', 'wb') as f:
        f.write(down)
    with open(RECORDING + '.cuts', 'w') as f:
        f.write(''.join('%d\n' % c for c in cuts))
    with open(RECORDING + '.json', 'w') as f:
        json.dump({'payload_bytes': SIZE, 'stream_bytes': len(down), 'commands': len(commands),
                   'baud': BAUD, 'turnaround_ms': TURNAROUND_MS, 'board': BOARD,
                   'first_command': commands[0].decode()}, f)


def run(ctx):
    """wire_efficiency.<dialect>.<up|down> for every dialect."""
    results, missing = {}, {}
    for dialect in ctx.dialects:
        try:
            t = transfer(dialect, ctx.servers, record=dialect == 'quectel')
        except Exception as e:
            for d in ('up', 'down'):
                missing['wire_efficiency.%s.%s' % (dialect, d)] = '%s: %r' % (dialect, e)
            continue
        for d in ('up', 'down'):
            up, down = t[d]
            line = up if d == 'up' else down
            method = {
                'interpreter': 'CPython %s (driver lib/modemkit) + emulator in-process, one '
                               'fake clock' % ctx.cpython,
                'payload_bytes': SIZE, 'payload': 'random bytes, sha256-verified at the far end',
                'line_bytes': line, 'other_direction_bytes': down if d == 'up' else up,
                'counted_by': 'mktools.sim.core.wire.Wire.count_%s (exact)' % d,
                'window': 'upload: from the first payload byte until the driver ended its last '
                          'exchange for it (send() in %d-byte pieces, each once the line had '
                          'carried the previous one); download: from the request line until '
                          'the last fetch exchange ended' % PIECE,
                'baud': BAUD, 'turnaround_ms': TURNAROUND_MS, 'network_latency_ms': 0,
                'heap_bytes': None, 'board': BOARD,
                'variant': SIM[dialect][1].get('variant'), 'repetitions': 1,
                'note': 'byte counts, no timing'}
            results['wire_efficiency.%s.%s' % (dialect, d)] = figure(
                round(SIZE / float(line), 4), 'payload/line bytes', method)
    return results, missing


def main(argv):
    """Run on its own (the benchmark runs it as a separate process, so that this CPU-bound
    emulation shares no interpreter lock with the rest): write results and missing as JSON."""
    import argparse
    import platform
    from bench.common import Servers
    p = argparse.ArgumentParser(prog='python -m bench.wire_efficiency')
    p.add_argument('--out', required=True)
    p.add_argument('--dialects', default='quectel,telit,wavecom')
    args = p.parse_args(argv)

    class Ctx(object):
        dialects = args.dialects.split(',')
        cpython = platform.python_version()

    ctx = Ctx()
    ctx.servers = Servers()
    try:
        results, missing = run(ctx)
    finally:
        ctx.servers.stop()
    with open(args.out, 'w') as f:
        json.dump({'results': results, 'missing': missing}, f)
    return 0


if __name__ == '__main__':
    import sys
    sys.exit(main(sys.argv[1:]))
