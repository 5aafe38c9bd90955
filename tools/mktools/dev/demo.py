"""The main job, shown live: the telemetry app on the MicroPython unix port (under a heap cap)
drives an emulated Quectel module through a pseudo-terminal; the module's sockets reach a local
mosquitto; an independent subscriber (paho-mqtt) shows what arrives.

    python -m mktools.dev.demo [--count N] [--period MS] [--heap SIZE]
    python -m mktools.dev.demo --serial /dev/ttyUSB0 --board boardcfg/rp2040-ec21.json \\
                           --broker mqtt.example.com:1883        (real module, real broker)

Each received sample prints as a line: device, sequence number, latency (sample time to
arrival, once the device has NTP time; NTP via the module has 1 s resolution, so it reads up to
a second high), gaps and duplicates so far, the modem state the device reported, and its queue
length. At the end: 'received N samples, L lost, D duplicates'.
"""
import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from mktools import ROOT
from mktools.dev import romrun

DEFAULT_BOARD = os.path.join(ROOT, 'boardcfg', 'desktop-quectel.json')
# The heap cap of the telemetry app: its bytecode runs from a ROM filesystem, as from flash on a
# device (mktools.dev.romrun); the heap holds what the code creates (README, "Memory").
HEAP = '64K'


def tool(name):
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


def app_command(board, count, heap=HEAP):
    """The telemetry app (apps/telemetry + lib/modemkit) on the MicroPython unix port, its code
    in a ROM filesystem outside the heap as on a device (mktools.dev.romrun), under `heap`."""
    return romrun.command(heap, 'import main; main.main(%r, %d)' % (board, count),
                          rom=[os.path.join(ROOT, 'apps', 'telemetry')])


tools_env = romrun.child_env


class MissingBroker(RuntimeError):
    pass


class Broker:
    """A local mosquitto on 127.0.0.1 (a fresh port), which can be restarted on that port."""

    def __init__(self, workdir, persistent=False, extra=''):
        self.exe = shutil.which('mosquitto') or '/usr/sbin/mosquitto'
        if not os.path.exists(self.exe):
            raise MissingBroker('mosquitto is not installed (run `make sysdeps` as root)')
        self.port = free_port()
        self.conf = os.path.join(workdir, 'mosquitto.conf')
        # persistent: sessions and queued QoS 1 messages survive a restart (saved on SIGTERM);
        # started as root, mosquitto drops to its own user, which must be able to write there
        keep = 'persistence false\n'
        if persistent:
            store = os.path.join(workdir, 'mosquitto-db')
            os.makedirs(store, exist_ok=True)
            os.chmod(store, 0o777)
            keep = 'persistence true\npersistence_location %s/\n' % store
            if hasattr(os, 'geteuid') and os.geteuid() == 0:
                keep += 'user root\n'     # stay the user who owns the store's parent folders
        with open(self.conf, 'w') as f:
            f.write('listener %d 127.0.0.1\nallow_anonymous true\n%s%s\n'
                    % (self.port, keep, extra or 'log_dest none'))
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen([self.exe, '-c', self.conf], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        wait_port(self.port, 'mosquitto')

    def stop(self):
        stop(self.proc)


class SntpServer(threading.Thread):
    """Answers SNTP requests with this host's clock, so the device's samples carry real time."""

    def __init__(self):
        super().__init__(daemon=True)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.running = True
        self.start()

    def run(self):
        import struct
        while self.running:
            try:
                data, addr = self.sock.recvfrom(512)
            except OSError:
                continue
            now = time.time() + 2208988800
            secs, frac = int(now), int((now % 1) * (1 << 32))
            if len(data) >= 48:
                self.sock.sendto(struct.pack('!BBbb11I', 0x24, 2, 6, -20, 0, 0, 0, secs, frac,
                                             *struct.unpack('!II', data[40:48]),
                                             secs, frac, secs, frac), addr)


def wait_port(port, what, timeout_s=10):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(('127.0.0.1', port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError('%s did not start on port %d' % (what, port))


def stop(proc):
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()


def parse_sample(payload):
    """A telemetry sample: JSON, or the key=value text of the Telit module's own MQTT client."""
    if payload[:1] == b'{':
        return json.loads(payload)
    sample = {}
    for part in payload.decode().split():
        key, _, value = part.partition('=')
        try:
            sample[key] = float(value) if '.' in value else int(value)
        except ValueError:
            sample[key] = value
    return sample


class Watcher:
    """The independent subscriber: counts sequence numbers, gaps, duplicates, latency."""

    def __init__(self, host, port, prefix, quiet=False, persistent=False):
        import paho.mqtt.client as mqtt
        self.seen = {}          # device -> set of seq
        self.last = {}
        self.samples = 0
        self.duplicates = 0
        self.status = {}
        self.quiet = quiet
        self.lock = threading.Lock()
        # persistent: what arrives while the watcher reconnects is kept for it by the broker
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id='modemkit-demo-watcher', clean_session=not persistent)
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(prefix + '/#', qos=1)
        self.client.on_message = self._on_message
        self.client.connect(host, port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        parts = msg.topic.split('/')
        device, kind = parts[-2], parts[-1]
        if kind == 'status':
            self.status[device] = msg.payload.decode(errors='replace')
            self._print('%-10s status %s' % (device, self.status[device]))
            return
        if kind != 'telemetry':
            return
        try:
            sample = parse_sample(msg.payload)
            seq = int(sample['seq'])
        except (ValueError, KeyError, TypeError):
            self._print('%-10s malformed sample %r' % (device, msg.payload[:60]))
            return
        with self.lock:
            seen = self.seen.setdefault(device, set())
            dup = seq in seen
            if dup:
                self.duplicates += 1
            else:
                seen.add(seq)
                self.samples += 1
            gaps = max(seen) - len(seen)
        latency = ('%5d ms' % (time.time() * 1000 - sample['t'])) if 't0' not in sample else \
            '    n/a'
        values = ' '.join('%s=%s' % (k, v) for k, v in sample.items()
                          if k not in ('seq', 't', 't0', 'm', 'q'))
        self._print('%-10s seq %5d  latency %s  gaps %d  dups %d  modem %-8s queue %3d  %s'
                    % (device, seq, latency, gaps, self.duplicates, sample.get('m', '?'),
                       sample.get('q', 0), values) + ('  (duplicate)' if dup else ''))

    def _print(self, line):
        if not self.quiet:
            print(line, flush=True)

    def lost(self):
        return sum(max(s) - len(s) for s in self.seen.values() if s)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def main(argv=None):
    ap = argparse.ArgumentParser(prog='make demo', description=__doc__.split('\n\n')[0])
    ap.add_argument('--count', type=int, default=30, help='stop after N samples (default 30)')
    ap.add_argument('--period', type=int, default=1000,
                    help='sampling period in ms (default 1000)')
    ap.add_argument('--heap', default=HEAP,
                    help='MicroPython heap cap (default %s)' % HEAP)
    ap.add_argument('--board', default=DEFAULT_BOARD, help='board config (JSON)')
    ap.add_argument('--serial', help='a real serial port instead of the emulated module')
    ap.add_argument('--broker', help='HOST:PORT of a real broker instead of a local mosquitto')
    ap.add_argument('--quiet', action='store_true', help='print only the summary line')
    args = ap.parse_args(argv)

    work = tempfile.mkdtemp(prefix='modemkit-demo-')
    procs = []
    broker = watcher = None
    try:
        with open(args.board) as f:
            cfg = json.load(f)
        if args.broker:
            host, _, port = args.broker.rpartition(':')
            mhost, mport = host, int(port)
            cfg['mqtt'].update(host=host, port=mport)
        else:
            try:
                broker = Broker(work)
            except MissingBroker as e:
                raise SystemExit('demo: %s, or pass --broker HOST:PORT' % e)
            mhost, mport = '127.0.0.1', broker.port
            cfg['mqtt']['port'] = broker.port
        tcfg = cfg.setdefault('telemetry', {})
        tcfg.update(period_ms=args.period, queue_path=os.path.join(work, 'queue'))
        if args.serial:
            cfg['serial']['port'] = args.serial
        else:
            sntp = SntpServer()
            tcfg.update(ntp='time.test', ntp_port=sntp.port)
            link = os.path.join(work, 'ttyMODEM')
            cfg['serial']['port'] = link
            sim = subprocess.Popen(
                [sys.executable, '-m', 'mktools.sim.cli', '--dialect', cfg['dialect'],
                 '--pty', link, '--host', 'broker.test=127.0.0.1',
                 '--host', 'time.test=127.0.0.1']
                + (['--variant', cfg['variant']] if cfg.get('variant') else []),
                cwd=ROOT, stdout=subprocess.PIPE, text=True,
                env=tools_env())
            procs.append(sim)
            print(sim.stdout.readline().strip(), flush=True)
        board = os.path.join(work, 'board.json')
        with open(board, 'w') as f:
            json.dump(cfg, f)
        watcher = Watcher(mhost, mport, cfg['mqtt'].get('prefix', 'modemkit'), args.quiet)
        print('demo: telemetry app on MicroPython (heap %s), %d samples every %d ms'
              % (args.heap, args.count, args.period), flush=True)
        app = subprocess.Popen(app_command(board, args.count, args.heap), cwd=work,
                               env=tools_env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(app)
        deadline = time.monotonic() + 60 + args.count * args.period / 1000 * 3
        for line in app.stdout:
            if not args.quiet:
                print('device: ' + line.rstrip(), flush=True)
            if time.monotonic() > deadline:
                print('demo: time is up', flush=True)
                break
        app.wait(10)
        end = time.monotonic() + 10
        while watcher.samples < args.count and time.monotonic() < end:
            time.sleep(0.1)
        lost = watcher.lost() + max(0, args.count - watcher.samples - watcher.lost())
        print('received %d samples, %d lost, %d duplicates'
              % (watcher.samples, lost, watcher.duplicates), flush=True)
        return 0 if watcher.samples == args.count and lost == 0 else 1
    except KeyboardInterrupt:
        return 130
    finally:
        if watcher is not None:
            watcher.stop()
        for p in procs:
            stop(p)
        if broker is not None:
            broker.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == '__main__':
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))
    sys.exit(main())
