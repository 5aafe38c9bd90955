"""The main job, shown live: the telemetry app on the MicroPython unix port (under a heap cap)
drives an emulated Quectel module through a pseudo-terminal; the module's sockets reach a local
mosquitto; an independent subscriber (paho-mqtt) shows what arrives.

    modemkit demo [--count N] [--period MS] [--heap SIZE]    (make demo ARGS="--count 10")
    modemkit demo --serial /dev/ttyUSB0 --board boardcfg/rp2040-ec21.json \\
                  --broker mqtt.example.com:1883        (real module, real broker)

Each received sample prints as a line: device, sequence number, latency (sample time to
arrival, once the device has NTP time; NTP via the module has 1 s resolution, so it reads up to
a second high), gaps and duplicates so far, the modem state the device reported, and its queue
length. At the end, also when interrupted: 'received N samples, L lost, D duplicates'.

The app runs on the MicroPython unix port of this machine: a board's ADC sensors and power-key
pin do not exist here, so the demo simulates those sensors and leaves the power key alone (and
says so).  Interrupting it (Ctrl-C, SIGTERM) at any moment stops every process it started and
removes its temporary folder.
"""
import argparse
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

from mktools import FAILED, ROOT, CommandError
from mktools.dev import romrun
from mktools.device import boardcfg

DEFAULT_BOARD = os.path.join(ROOT, 'boardcfg', 'desktop-quectel.json')
# The heap cap of the telemetry app: its bytecode runs from a ROM filesystem, as from flash on a
# device (mktools.dev.romrun); the heap holds what the code creates (README, "Memory"). Wavecom's
# stack sits at a step of MicroPython's qstr pools: 72K no longer holds it on every run.
HEAP = '80K'
# A board's own buffers (rp2040-ec21: 1 KiB each way) on the 64-bit unix port, whose objects are
# about twice a 32-bit board's, need more.
BIG_HEAP = '128K'


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



_OUT = threading.Lock()


def say(line):
    """Print one line in one write, under one lock: the watcher's thread and the main thread
    never mix their lines, and an interrupt (a signal runs between bytecodes) never falls
    between a line and its newline, so the summary always starts a line of its own."""
    with _OUT:
        sys.stdout.write(line + '\n')
        sys.stdout.flush()

class MissingBroker(RuntimeError):
    pass


class DemoError(CommandError):
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
        try:
            wait_port(self.port, 'mosquitto')
        except BaseException:       # an interrupt while it starts must not leave it running
            self.stop()
            raise

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
        self.connected = threading.Event()
        self.refused = None
        self.prefix = prefix
        self.client.on_connect = self._on_connect
        self.client.on_message = self._on_message
        try:
            self.client.connect(host, port)
        except OSError as e:
            raise DemoError('cannot reach the MQTT broker %s:%d: %s (check --broker HOST:PORT)'
                            % (host, port, e.strerror or e)) from None
        self.client.loop_start()

    def _on_connect(self, client, userdata, flags, rc, props):
        if rc.is_failure:
            self.refused = str(rc)
        else:
            client.subscribe(self.prefix + '/#', qos=1)
        self.connected.set()

    def wait_connected(self, where, timeout_s=10):
        """Raise DemoError unless the broker accepted the subscriber within timeout_s."""
        if not self.connected.wait(timeout_s):
            raise DemoError('the MQTT broker %s did not answer in %d s' % (where, timeout_s))
        if self.refused:
            raise DemoError('the MQTT broker %s refused the connection: %s'
                            % (where, self.refused))

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
            say(line)

    def lost(self):
        return sum(max(s) - len(s) for s in self.seen.values() if s)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def broker_address(text):
    host, sep, port = text.rpartition(':')
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError('%r: expected HOST:PORT' % text)
    return host, int(port)


def register(commands):
    """Add `modemkit demo` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'demo', help='the telemetry app end to end: emulated module, MQTT broker, subscriber',
        description=__doc__.split('\n\n')[0],
        epilog='`make demo` runs it with the defaults; make demo ARGS="--count 10 --period 500" '
               'passes options.')
    p.add_argument('--count', type=int, default=30, help='stop after N samples (default 30)')
    p.add_argument('--period', type=int, default=1000,
                   help='sampling period in ms (default 1000)')
    p.add_argument('--heap',
                   help='MicroPython heap cap (default %s; %s for a board whose rx_size + '
                        'tx_size pass 512 bytes)' % (HEAP, BIG_HEAP))
    p.add_argument('--board', default=DEFAULT_BOARD, metavar='FILE',
                   help='board config (default boardcfg/desktop-quectel.json)')
    p.add_argument('--serial', metavar='DEVICE',
                   help='a real module\'s serial port instead of the emulated module')
    p.add_argument('--broker', type=broker_address, metavar='HOST:PORT',
                   help='a real broker instead of a local mosquitto')
    p.add_argument('--quiet', action='store_true', help='print only the summary line')
    p.add_argument('--trace', metavar='FILE',
                   help='the emulated module writes its serial line\'s byte trace to FILE '
                        '(watch it with: modemkit trace --follow FILE)')
    p.set_defaults(run=run, parser=p)
    return p


def for_unix_port(cfg):
    """What of the board exists only on the board: ADC sensors become simulated ones and the
    power key is left alone (the unix port has no machine.ADC or Pin).  Returns the notes."""
    notes = []
    real = [s for s in cfg.get('sensors', []) if s.get('kind') != 'sim']
    if real:
        cfg['sensors'] = [s if s.get('kind') == 'sim' else
                          {'name': s['name'], 'kind': 'sim', 'base': 20.0, 'swing': 1.0}
                          for s in cfg['sensors']]
        notes.append('sensors %s (%s) exist only on the board: simulated here (use "kind": '
                     '"sim" sensors in the board config to choose the values)'
                     % (', '.join(s['name'] for s in real),
                        ', '.join(sorted({s['kind'] for s in real}))))
    if cfg.pop('power', None) is not None:
        notes.append('the power-key pin exists only on the board: not driven here (power '
                     'the module yourself)')
    return notes


def run(args, env=None):
    """`modemkit demo` with parsed `args`; returns the exit status (0: every sample arrived)."""
    cfg = boardcfg.load(args.board)
    if 'mqtt' not in cfg:
        raise DemoError('%s: no "mqtt" section; the telemetry app publishes there' % args.board)
    if args.count < 1 or args.period < 1:
        raise DemoError('--count and --period must be at least 1')
    main_thread = threading.current_thread() is threading.main_thread()
    state = {'work': None, 'procs': [], 'broker': None, 'watcher': None}
    if main_thread:
        previous_term = signal.signal(signal.SIGTERM, _interrupt)
        old_int = signal.signal(signal.SIGINT, _interrupt)

    def hold():
        # from the first interrupt on, a second one must not cut the summary or the clean-up
        if main_thread:
            for s in QUIT:
                signal.signal(s, signal.SIG_IGN)

    interrupted = False
    try:
        return _run(args, cfg, state)
    except KeyboardInterrupt:
        hold()
        interrupted = True
        watcher = state['watcher']
        if watcher is not None:
            watcher.stop()              # nothing more printed after the summary
            state['watcher'] = None
            say('received %d samples, %d lost, %d duplicates (interrupted)'
                % (watcher.samples, watcher.lost(), watcher.duplicates))
        return 130
    finally:
        hold()
        try:
            if state['watcher'] is not None:
                state['watcher'].stop()
            for p in state['procs']:
                stop(p)
            if state['broker'] is not None:
                state['broker'].stop()
            if state['work']:
                shutil.rmtree(state['work'], ignore_errors=True)
        finally:
            # Interrupted, the command ends here: SIGINT and SIGTERM stay ignored. Restored, a
            # second Ctrl-C that lands after a quick clean-up would meet Python's own handler
            # outside every `except`, and the process would die of SIGINT (status -2, not 130).
            if main_thread and not interrupted:
                signal.signal(signal.SIGINT, old_int)
                signal.signal(signal.SIGTERM, previous_term)


QUIT = (signal.SIGINT, signal.SIGTERM)


def _interrupt(signum, frame):
    # The first Ctrl-C or SIGTERM ends the demo; the ones after it are ignored from this very
    # moment, so a quick second one cannot land before the summary and the clean-up.
    for s in QUIT:
        signal.signal(s, signal.SIG_IGN)
    raise KeyboardInterrupt


def _run(args, cfg, state):
    work = state['work'] = tempfile.mkdtemp(prefix='modemkit-demo-')
    procs = state['procs']
    if not args.heap:
        big = cfg.get('rx_size', 1024) + cfg.get('tx_size', 1024) > 512
        args.heap = BIG_HEAP if big else HEAP
    if args.serial and not args.broker:
        raise DemoError('--serial: a real module cannot reach the local broker on 127.0.0.1; '
                        'give --broker HOST:PORT (a broker it can reach)')
    for note in for_unix_port(cfg):
        say('demo: ' + note)
    if args.broker:
        mhost, mport = args.broker
        cfg['mqtt'].update(host=mhost, port=mport)
    else:
        try:
            state['broker'] = broker = Broker(work)
        except MissingBroker as e:
            raise DemoError('%s, or pass --broker HOST:PORT' % e) from None
        mhost, mport = '127.0.0.1', broker.port
        # the emulator maps broker.test to 127.0.0.1 (below), whatever the board names
        cfg['mqtt'].update(host='broker.test', port=broker.port)
    watcher = state['watcher'] = Watcher(mhost, mport, cfg['mqtt'].get('prefix', 'modemkit'),
                                         args.quiet)
    watcher.wait_connected('%s:%d' % (mhost, mport))
    tcfg = cfg.setdefault('telemetry', {})
    tcfg.update(period_ms=args.period, queue_path=os.path.join(work, 'queue'))
    serial = cfg.setdefault('serial', {})
    if args.serial:
        serial['port'] = args.serial
    else:
        sntp = SntpServer()
        tcfg.update(ntp='time.test', ntp_port=sntp.port)
        link = os.path.join(work, 'ttyMODEM')
        serial['port'] = link
        sim = subprocess.Popen(
            [sys.executable, '-m', 'mktools.sim.cli', '--dialect', cfg['dialect'],
             '--pty', link, '--host', 'broker.test=127.0.0.1',
             '--host', 'time.test=127.0.0.1']
            + (['--variant', cfg['variant']] if cfg.get('variant') else [])
            + (['--trace', os.path.abspath(args.trace)] if args.trace else []),
            cwd=ROOT, stdout=subprocess.PIPE, text=True,
            env=tools_env())
        procs.append(sim)
        started = sim.stdout.readline().strip()
        if not started:
            raise DemoError('the module emulator did not start (its message is above)')
        say(started)
    board = os.path.join(work, 'board.json')
    with open(board, 'w') as f:
        json.dump(cfg, f)
    say('demo: telemetry app on MicroPython (heap %s), %d samples every %d ms'
        % (args.heap, args.count, args.period))
    app = subprocess.Popen(app_command(board, args.count, args.heap), cwd=work,
                           env=tools_env(),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    procs.append(app)
    deadline = time.monotonic() + 60 + args.count * args.period / 1000 * 3
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in app.stdout] + [lines.put(None)],
                     daemon=True).start()
    while True:
        left = deadline - time.monotonic()
        try:
            line = lines.get(timeout=max(left, 0.01))
        except queue.Empty:
            line = ''
        if line is None:
            break
        if line and not args.quiet:
            say('device: ' + line.rstrip())
        if time.monotonic() > deadline:
            say('demo: time is up')
            break
    stop(app)
    end = time.monotonic() + 10
    while watcher.samples < args.count and time.monotonic() < end:
        time.sleep(0.1)
    lost = watcher.lost() + max(0, args.count - watcher.samples - watcher.lost())
    say('received %d samples, %d lost, %d duplicates'
        % (watcher.samples, lost, watcher.duplicates))
    return 0 if watcher.samples == args.count and lost == 0 else FAILED


def main(argv=None):
    """`modemkit demo ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['demo'] + list(sys.argv[1:] if argv is None else argv))


if __name__ == '__main__':
    sys.exit(main())
