"""The soak: the telemetry app on the MicroPython unix port (under its heap cap) sends N QoS 1
samples through the emulated Quectel module to a real mosquitto while M faults of every kind
the emulator has are injected, in turn; an independent subscriber (paho-mqtt) counts what
arrives. Nothing may be lost; duplicates (QoS 1 allows them) are counted and reported, and so
are samples that arrive garbled (bytes the serial line garbled inside AT+QISEND data).

    python -m mktools.dev.soak [--samples N] [--faults M] [--period MS] [--heap SIZE]
                               [--ladder] [--kinds K,...] [--json FILE] [--log FILE]

`make soak` runs it through bench/soak.py, which records the figures in bench/soak.json.

Fault kinds (KINDS, injected round-robin): a restart of the broker (mosquitto, persistent
sessions), the network deactivating the PDP context, a module reboot, garbled bytes and lost
bytes on the serial line (for a moment), a serial line that stops both ways, the broker's end
resetting (RST) or closing (FIN) the TCP connection, a network stall of the connection, and the
module's receive buffer filled with bytes the broker never sent. The faults are spread over the
sampling time; each waits until the subscriber has seen a new sample since the one before (the
app recovered), so none lands on a recovery still in progress.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict

from mktools import ROOT
from mktools.dev import demo

KINDS = ('broker_restart', 'pdp', 'reboot', 'garble', 'drop', 'serial_stall', 'peer_reset',
         'peer_close', 'net_stall', 'fill_rx')
DEVICE = 'sim-ec21'
LINE_HITS = 3             # bytes a garble or drop fault hits
# The heap cap of the soak. The app runs at demo.HEAP (64K) in the demo and the tests, but there
# it is at the edge: under faults, one run in a few ended with a task dead of MemoryError (the
# MQTT client's, or the AT reader's) in a fragmented heap. The soak measures what faults do,
# so it leaves a margin; `--heap 64K` shows the edge.
HEAP = '96K'
RECOVER_S = 180           # a fault the app has not recovered from by then fails the soak


class SoakError(Exception):
    pass


class Soak:
    """The rig: broker, SNTP, subscriber, the fault-controlled emulator, the app."""

    def __init__(self, work, samples, faults, period_ms, heap=HEAP, log=None, kinds=KINDS,
                 ladder=False):
        self.work = work
        self.ladder = ladder
        self.kinds = kinds
        self.samples = samples
        self.faults = faults
        self.period_ms = period_ms
        self.heap = heap
        self.log = log or (lambda msg: print('soak: ' + msg, flush=True))
        self.sim = self.app = self.broker = self.sntp = self.watcher = None
        self.output = []
        self.replies = []
        self.injected = Counter()
        self.ignored = Counter()
        self.recovery = defaultdict(list)  # kind -> seconds from the fault to a new sample
        self.payloads = {}                 # seq -> the first payload that carried it
        self.garbled = []                  # (seq or 'unreadable', payload) that differ
        self.line_faults = Counter()       # bytes the emulator garbled / dropped on the line
        self._reply = threading.Condition()

    # -- parts ------------------------------------------------------------------------------
    def start(self):
        self.broker = demo.Broker(self.work, persistent=True)
        self.sntp = demo.SntpServer()
        self.watcher = demo.Watcher('127.0.0.1', self.broker.port, 'mk', quiet=True,
                                    persistent=True)
        counted = self.watcher.client.on_message
        self.watcher.client.on_message = lambda c, u, msg: (self._check(msg), counted(c, u, msg))
        link = os.path.join(self.work, 'tty')
        self.sim = subprocess.Popen(
            [sys.executable, '-m', 'mktools.dev.faultsim', '--dialect', 'quectel', '--pty', link,
             '--host', 'broker.test=127.0.0.1', '--host', 'time.test=127.0.0.1'],
            cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
            env=demo.tools_env())
        first = self.sim.stdout.readline()
        if 'modemkit sim' not in first:
            raise SoakError('the emulator did not start: %r' % first)
        threading.Thread(target=self._sim_replies, daemon=True).start()
        with open(os.path.join(ROOT, 'boardcfg', 'desktop-quectel.json')) as f:
            cfg = json.load(f)
        cfg['serial']['port'] = link
        if self.ladder:
            # the recovery ladder as rp2040-ec21.json has it (its file lands in the app's folder)
            cfg['ladder'] = {'file': 'ladder', 'steps': [2, 2, 2]}
        # backoff_max_ms: a broker restart costs seconds, not a minute; ack_timeout_ms: a
        # PUBACK lost to garbled bytes costs this long before the client reconnects and resends
        cfg['mqtt'].update(port=self.broker.port, prefix='mk', backoff_max_ms=3000,
                           ack_timeout_ms=10000)
        cfg['telemetry'].update(period_ms=self.period_ms,
                                queue_path=os.path.join(self.work, 'q'),
                                queue_bytes=1 << 20, ntp='time.test', ntp_port=self.sntp.port)
        board = os.path.join(self.work, 'board.json')
        with open(board, 'w') as f:
            json.dump(cfg, f)
        self.app = subprocess.Popen(
            demo.app_command(board, self.samples, self.heap), cwd=self.work,
            env=demo.tools_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        threading.Thread(target=self._collect, daemon=True).start()

    def _check(self, msg):
        # Garbled bytes on the serial line inside AT+QISEND data reach the broker as they are
        # (nothing on that line checks them): a sample can arrive unreadable, or with another
        # sample's number. A resent sample is byte for byte the same; these are not.
        if not msg.topic.endswith('/telemetry'):
            return
        try:
            seq = int(demo.parse_sample(msg.payload)['seq'])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            self.garbled.append(('unreadable', bytes(msg.payload[:160])))
            return
        first = self.payloads.setdefault(seq, bytes(msg.payload))
        if first != msg.payload or not 1 <= seq <= self.samples:
            self.garbled.append((seq, bytes(msg.payload[:160])))

    def _collect(self):
        for line in self.app.stdout:
            line = line.rstrip()
            self.output.append(line)
            if len(self.output) > 20000:
                del self.output[:10000]

    def _sim_replies(self):
        for line in self.sim.stdout:
            with self._reply:
                self.replies.append(line.split())
                self._reply.notify_all()

    def sim_command(self, *words):
        """Send one command to the emulator; its reply's words, or SoakError after 10 s."""
        with self._reply:
            n = len(self.replies)
            self.sim.stdin.write(' '.join(str(w) for w in words) + '\n')
            self.sim.stdin.flush()
            if not self._reply.wait_for(lambda: len(self.replies) > n, 10):
                raise SoakError('the emulator did not answer %r' % (words,))
            return self.replies[n]

    def close(self):
        if self.watcher is not None:
            self.watcher.stop()
        if self.sntp is not None:
            self.sntp.running = False
        for p in (self.app, self.sim):
            demo.stop(p)
        if self.broker is not None:
            self.broker.stop()

    # -- faults -----------------------------------------------------------------------------
    def inject(self, kind):
        """One fault of `kind`; True if it took effect (a socket fault needs a connection)."""
        held = {'serial_stall': 3.0, 'net_stall': 5.0}
        if kind == 'broker_restart':
            self.broker.stop()
            time.sleep(1.0)
            self.broker.start()
            return True
        if kind in ('garble', 'drop'):
            # about one byte in fifty, until a few were hit or 3 s went by (the line may be
            # quiet meanwhile: the app waits for a PUBACK)
            self.sim_command(kind, 0.02)
            end = time.monotonic() + 3
            while time.monotonic() < end:
                time.sleep(0.1)
                if int(self.sim_command('hits', kind)[3]) >= LINE_HITS:
                    break
            reply = self.sim_command(kind, 0)     # 'ok <kind> 0 <bytes affected>'
            self.line_faults[kind] += int(reply[3]) if len(reply) > 3 else 0
            return True
        if kind in ('serial_stall', 'net_stall'):
            reply = self.sim_command(kind, 1)
            if reply[0] != 'ok':
                return False
            time.sleep(held[kind])
            self.sim_command(kind, 0)
            return True
        reply = self.sim_command(*(('pdp', 1) if kind == 'pdp' else (kind,)))
        return reply[0] == 'ok'

    def wait_progress(self, seen, timeout_s):
        """Until the subscriber has more than `seen` samples or the app ended; False if the
        time ran out first."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.watcher.samples > seen or self.app.poll() is not None:
                return True
            time.sleep(0.05)
        return False

    # -- the run ----------------------------------------------------------------------------
    def run(self):
        t0 = time.monotonic()
        self.start()
        if not self.wait_progress(0, 120):
            raise SoakError('no sample arrived in 120 s:\n' + '\n'.join(self.output[-30:]))
        t_first = time.monotonic()
        spacing = self.samples * self.period_ms / 1000.0 / (self.faults + 1)
        i = 0
        while i < self.faults and self.app.poll() is None:
            due = t_first + (i + 1) * spacing
            while time.monotonic() < due and self.app.poll() is None:
                time.sleep(0.05)
            kind = self.kinds[i % len(self.kinds)]
            seen = self.watcher.samples
            # a socket fault needs a connection: while the app is still reconnecting from the
            # fault before, wait for one (bounded), then go on without this fault
            give_up = time.monotonic() + 30
            done = self.inject(kind)
            while not done and time.monotonic() < give_up and self.app.poll() is None:
                time.sleep(0.2)
                done = self.inject(kind)
            i += 1
            if not done:
                self.ignored[kind] += 1
                continue
            self.injected[kind] += 1
            if i % 10 == 0 or i == self.faults:
                self.log('%d faults, %d samples received' % (i, self.watcher.samples))
            t_fault = time.monotonic()
            if self.wait_progress(seen, RECOVER_S):
                self.recovery[kind].append(time.monotonic() - t_fault)
            else:
                raise SoakError('no sample arrived for %d s after fault %d (%s):\n%s'
                                % (RECOVER_S, i, kind, '\n'.join(self.output[-40:])))
        # the rest: until every sample arrived, or the app is gone and had its time to finish
        deadline = time.monotonic() + RECOVER_S + self.samples * self.period_ms / 1000.0
        while self.watcher.samples < self.samples and time.monotonic() < deadline:
            if self.app.poll() is not None:
                deadline = min(deadline, time.monotonic() + 15)
            time.sleep(0.1)
        try:
            self.app.wait(30)
        except subprocess.TimeoutExpired:
            pass
        wall = time.monotonic() - t0
        return self.figures(wall)

    def figures(self, wall):
        seen = self.watcher.seen.get(DEVICE, set())
        lost = sorted(set(range(1, self.samples + 1)) - seen)
        summary = [l for l in self.output if l.startswith('telemetry:') and 'samples sent' in l]
        log = '\n'.join(self.output)
        return {
            'samples': self.samples, 'received': len(seen & set(range(1, self.samples + 1))),
            'lost': len(lost), 'lost_first': lost[:20],
            'duplicates': self.watcher.duplicates,
            # samples that arrived with garbled bytes: unreadable, or unlike the first copy of
            # their number (a resend is byte for byte the same)
            'garbled_arrivals': len(self.garbled),
            'garbled_first': [(k, p.decode('ascii', 'replace')) for k, p in self.garbled[:5]],
            'faults': sum(self.injected.values()), 'faults_by_kind': dict(self.injected),
            'faults_skipped_no_connection': dict(self.ignored),
            'line_bytes_garbled': self.line_faults['garble'],
            'line_bytes_dropped': self.line_faults['drop'],
            # seconds from the end of a fault to the next new sample at the subscriber
            'recovery_s_max_by_kind': dict((k, round(max(v), 1))
                                           for k, v in self.recovery.items()),
            'period_ms': self.period_ms, 'heap': self.heap, 'ladder': self.ladder,
            'wall_s': round(wall, 1),
            'app_exit': self.app.poll(),
            'app_summary': summary[-1] if summary else None,
            'mqtt_connections': log.count('mqtt: up'),
            'module_restarts_seen': log.count('module restarted'),
            'pdp_losses_seen': log.count('PDP context deactivated'),
            'ladder_failures_counted': log.count('on the recovery ladder'),
            'ladder_actions': dict(Counter(l.split(', ')[-1] for l in self.output
                                           if l.startswith('modemkit.modem: recovery ladder'))),
        }


def run(samples, faults, period_ms, heap=HEAP, log=None, keep=None, kinds=KINDS,
        ladder=False):
    """One soak; its figures (a dict). `keep`: a list that receives the app's output lines."""
    work = tempfile.mkdtemp(prefix='modemkit-soak-')
    s = Soak(work, samples, faults, period_ms, heap, log, kinds, ladder)
    try:
        return s.run()
    finally:
        if keep is not None:
            keep.extend(s.output)
        s.close()
        shutil.rmtree(work, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(prog='python -m mktools.dev.soak',
                                 description=__doc__.split('\n\n')[0])
    ap.add_argument('--samples', type=int, default=10000)
    ap.add_argument('--faults', type=int, default=100)
    ap.add_argument('--period', type=int, default=50, help='sampling period in ms (50)')
    ap.add_argument('--heap', default=HEAP, help='MicroPython heap cap (default %(default)s)')
    ap.add_argument('--ladder', action='store_true',
                    help='the board with the recovery ladder (modemkit.ladder)')
    ap.add_argument('--kinds', default=','.join(KINDS),
                    help='fault kinds, comma-separated (default: all: %(default)s)')
    ap.add_argument('--json', metavar='FILE', help='also write the figures to FILE')
    ap.add_argument('--log', metavar='FILE', help='write the app\'s output to FILE')
    args = ap.parse_args(argv)
    kinds = tuple(k for k in args.kinds.split(',') if k)
    bad = set(kinds) - set(KINDS)
    if bad or not kinds:
        ap.error('unknown fault kind(s): %s (known: %s)' % (', '.join(sorted(bad)),
                                                            ', '.join(KINDS)))
    if args.samples < 1 or args.faults < 0 or args.period < 10:
        ap.error('--samples >= 1, --faults >= 0, --period >= 10')
    if not demo.tool('micropython'):
        raise SystemExit('soak: the MicroPython unix port (micropython) is not installed')
    try:
        out = []
        try:
            fig = run(args.samples, args.faults, args.period, args.heap, keep=out,
                      kinds=kinds, ladder=args.ladder)
        finally:
            if args.log:
                with open(args.log, 'w') as f:
                    f.write('\n'.join(out) + '\n')
    except (SoakError, demo.MissingBroker) as e:
        raise SystemExit('soak: failed: %s' % e)
    print(json.dumps(fig, indent=1))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(fig, f, indent=1)
    ok = fig['lost'] == 0 and fig['faults'] == args.faults and fig['received'] == args.samples
    print('soak: %d samples, %d faults, %d lost, %d arrived garbled, %d duplicates, %.0f s: %s'
          % (fig['received'], fig['faults'], fig['lost'], fig['garbled_arrivals'],
             fig['duplicates'], fig['wall_s'], 'PASS' if ok else 'FAIL'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
