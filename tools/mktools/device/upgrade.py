"""`modemkit upgrade`: remote script upgrade of Telit modules through TCPATRUN in server mode
(T-RUN §3.9), many modules at once.

For each target (a module whose TCPATRUN listens, §3.2): log in (either authentication mode of
§3.2.2), write the new version under new names (the slot the running script does not use),
read every file back against its SHA-256, AT#ESCRIPT the new boot script, AT#REBOOT, and wait
until the new version says it is alive (its state file over TCPATRUN, or an MQTT message); if
it does not within the deadline, enable the previous script again and reboot into it.  The
steps are `upgrade_flow.Upgrade`; this module reads targets and credentials, runs modules in
parallel (bounded) and reports one line per module.

Fleets go in waves (`upgrade_waves`): a canary, then growing waves, stopped when a wave's
failure rate passes a threshold, resumable from the JSON report (docs/fleet.md).

Credentials never go on the command line: MODEMKIT_ATRUN_USER / MODEMKIT_ATRUN_PASSWORD, or
--credentials FILE with lines `user = ...`, `password = ...` and, for one module only,
`<name>.user = ...`, `<name>.password = ...`.
"""

import os
import stat
import sys
import threading

from mktools import BAD_INPUT, FAILED, CommandError
from mktools.device import boardcfg
from mktools.device.bundle import (BundleError, add_build_options, build, check_target,
                                   options_from, with_previous)
from mktools.device.bundle_graph import SLOTS
from mktools.device.tcpatrun import AUTH_MODES
from mktools.device.upgrade_flow import AtrunSession, Result, Upgrade
from mktools.device.upgrade_waves import (PENDING_REASON, ReportError, as_result, entry,
                                          is_done, load_report, plan_waves, run_waves,
                                          save_report)
from mktools.device.wscript import DeployError

ENV_USER, ENV_PASSWORD = 'MODEMKIT_ATRUN_USER', 'MODEMKIT_ATRUN_PASSWORD'


class ConfigError(CommandError):
    """Targets, credentials or options that cannot be used."""


def parse_address(text):
    host, sep, port = text.rpartition(':')
    if not sep or not host or not port.isdigit():
        raise ConfigError(f'{text!r}: expected HOST:PORT')
    return host, int(port)


def load_targets(path=None, extra=()):
    """[(name, host, port, auth or None)] from a file ('name host:port [auto|step|automatic]'
    per line, '#' comments) and from --to entries ('[name=]host:port')."""
    targets = []
    lines = []
    if path:
        try:
            with open(path) as f:
                lines = [(f'{path}:{n}', line) for n, line in enumerate(f, 1)]
        except OSError as e:
            raise ConfigError(f'cannot read targets file {path}: {e.strerror}') from None
    for where, line in lines:
        words = line.split('#', 1)[0].split()
        if not words:
            continue
        if len(words) not in (2, 3) or (len(words) == 3 and words[2] not in AUTH_MODES):
            raise ConfigError(f'{where}: expected "name host:port [{"|".join(AUTH_MODES)}]"')
        targets.append((words[0], *parse_address(words[1]), words[2] if len(words) > 2 else None))
    for entry in extra:
        name, _, address = entry.rpartition('=')
        host, port = parse_address(address)
        targets.append((name or address, host, port, None))
    names = [t[0] for t in targets]
    if len(set(names)) != len(names):
        raise ConfigError('target names must be unique')
    if not targets:
        raise ConfigError('no targets: give --targets FILE or --to HOST:PORT')
    return targets


def load_credentials(path=None, env=None):
    """{'': (user, password), name: (user, password)...} from a file, else the environment."""
    env = os.environ if env is None else env
    if not path:
        user, password = env.get(ENV_USER), env.get(ENV_PASSWORD)
        if user is None or password is None:
            raise ConfigError(f'no credentials: set {ENV_USER} and {ENV_PASSWORD}, or give '
                              '--credentials FILE')
        return {'': (user, password)}
    try:
        mode = os.stat(path).st_mode
        with open(path) as f:
            text = f.read()
    except OSError as e:
        raise ConfigError(f'cannot read credentials file {path}: {e.strerror}') from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        print(f'modemkit upgrade: warning: {path} is readable by others (chmod 600 it)',
              file=sys.stderr)
    values = {}
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        key, sep, value = line.partition('=')
        if not sep:
            raise ConfigError(f'{path}:{n}: expected "key = value"')
        values[key.strip()] = value.strip()
    for key in values:
        if key.rpartition('.')[2] not in ('user', 'password'):
            raise ConfigError(f'{path}: unknown key {key!r} (user, password, NAME.user, '
                              'NAME.password)')
    creds = {}
    for scope in {k.rpartition('.')[0] for k in values}:
        prefix = f'{scope}.' if scope else ''
        try:
            creds[scope] = (values[prefix + 'user'], values[prefix + 'password'])
        except KeyError as e:
            raise ConfigError(f'{path}: {e.args[0]} is missing') from None
    if not creds:
        raise ConfigError(f'{path}: no credentials in it')
    return creds


class MqttConfirm:
    """Confirmation by MQTT: a message on `topic` whose payload contains `expect` (both may use
    {name} and {version}), published after the module rebooted; retained messages are old news
    and ignored.  Needs paho-mqtt."""

    def __init__(self, address, topic, expect):
        try:
            import paho.mqtt.client as mqtt
        except ImportError:
            raise ConfigError('--confirm mqtt needs paho-mqtt (pip install paho-mqtt)') from None
        self.topic, self.expect_text = topic, expect
        self.wanted = {}            # topic -> (name, expected payload part)
        self.armed = set()
        self.hits = {}
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2,
                                  client_id=f'modemkit-upgrade-{os.getpid()}')
        self.client.on_message = self._message
        host, port = parse_address(address)
        self.client.connect(host, port)
        self.client.loop_start()

    def expect(self, name, version):
        topic = self.topic.format(name=name, version=version)
        with self.lock:
            self.wanted[topic] = (name, self.expect_text.format(name=name, version=version))
        self.client.subscribe(topic, 1)

    def arm(self, name):
        """From now on a matching message counts (the module has just been rebooted)."""
        with self.lock:
            self.hits.pop(name, None)
            self.armed.add(name)

    def _message(self, client, userdata, msg):
        if msg.retain:
            return
        with self.lock:
            name, part = self.wanted.get(msg.topic, (None, None))
            text = msg.payload.decode('utf-8', 'replace')
            if name in self.armed and part in text:
                self.hits[name] = f'{msg.topic} {text[:60]}'

    def seen(self, name):
        with self.lock:
            return self.hits.get(name)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class Quarters:
    """Per-module transfer progress for parallel runs: one note per quarter of the bundle."""

    def __init__(self, note):
        self.note = note
        self.total = 0
        self.done = {}
        self.shown = 0

    def begin(self, bundle):
        self.total, self.done, self.shown = bundle.total, {}, 0

    def __call__(self, name, done, size):
        self.done[name] = done
        sent = sum(self.done.values())
        if self.total and sent * 4 // self.total > self.shown:
            self.shown = sent * 4 // self.total
            self.note(f'written {sent} of {self.total} bytes ({len(self.done)} files)')


def upgrade_fleet(args, targets, creds, out=None, earlier=None, save=None):
    """Upgrade the targets in waves, at most args.parallel at a time; `earlier` ({name: entry}
    of --resume) leaves the modules done with this version alone; `save(entries)` is called
    after every wave.  Returns (entries in target order, stop message or None)."""
    out = out or sys.stderr
    lock = threading.Lock()
    earlier = earlier or {}
    quiet = getattr(args, 'quiet', False)
    # both slots built up front: a bundle that cannot be built stops the run before any module
    bundles = {}
    for slot in ([args.slot] if args.slot else SLOTS):
        opts = options_from(args, slot=slot)
        bundles[slot] = (build(opts), opts)
    first = bundles[next(iter(bundles))][0]
    entries = {}
    for t in targets:
        d = earlier.get(t[0])
        if d is not None and is_done(d, first.version, args.no_reboot):
            entries[t[0]] = d
    todo = [t for t in targets if t[0] not in entries]
    sizes = plan_waves(len(todo), getattr(args, 'canary', 0), getattr(args, 'wave_growth', 2.0),
                       getattr(args, 'max_wave', 0))
    threshold = getattr(args, 'max_failure_rate', 1.0)
    print(f'modemkit upgrade: {first.app} {first.version} to {len(todo)} modules'
          + (f' ({len(entries)} done before)' if entries else '')
          + f', {args.parallel} at a time, waves of {"/".join(map(str, sizes)) or "0"}',
          file=out, flush=True)

    def note(name, text):
        if not quiet:
            with lock:
                print(f'[{name}] {text}', file=out, flush=True)

    def make_bundle(slot, previous):
        bundle, opts = bundles[slot]
        return with_previous(bundle, opts, previous)

    mqtt = None
    if args.confirm == 'mqtt':
        if not args.mqtt:
            raise ConfigError('--confirm mqtt needs --mqtt HOST:PORT')
        mqtt = MqttConfirm(args.mqtt, args.mqtt_topic, args.mqtt_expect)

    def one(target):
        name, host, port, auth = target
        user, password = creds.get(name, creds.get('', (None, None)))
        if user is None:
            return Result(name, reason='no credentials for this module')
        session = AtrunSession(host, port, user, password, auth or args.auth,
                               args.login_timeout, args.chunk, args.prompt_wait)
        return Upgrade(name, session, make_bundle, reboot=not args.no_reboot,
                       confirm_s=args.confirm_s, rollback_s=args.rollback_s,
                       poll_s=args.poll_s, slot=args.slot, mqtt=mqtt, note=note,
                       progress=Quarters(lambda text: note(name, text))).run()

    def ok(r):
        return r.outcome == 'upgraded' or (args.no_reboot and r.ok)

    def ordered():
        return [entries.get(t[0]) or entry(Result(t[0], outcome='pending', reason=PENDING_REASON),
                                           0) for t in targets]

    try:
        stop = run_waves(todo, sizes, one, ok, entries, args.parallel, threshold,
                         getattr(args, 'rate', 0.0), out,
                         (lambda: save(ordered())) if save else None)
    finally:
        if mqtt is not None:
            mqtt.close()
    return ordered(), stop


def report(results, out=None):
    """One line per module, then the totals."""
    out = out or sys.stdout
    width = max([len(r.name) for r in results] + [6])
    print(f'{"module":<{width}}  {"outcome":<11}  {"from":<16}  {"to":<16}  {"time":>6}  reason',
          file=out)
    for r in results:
        reason = r.reason + (f' | last crash: {r.crash.splitlines()[0]}' if r.crash else '')
        print(f'{r.name:<{width}}  {r.outcome:<11}  {r.from_version or "-":<16}  '
              f'{r.to_version or "-":<16}  {r.seconds:>5.1f}s  {reason}', file=out)
    counts = {}
    for r in results:
        counts[r.outcome] = counts.get(r.outcome, 0) + 1
    print(f'{len(results)} modules: ' + ', '.join(f'{n} {k}' for k, n in sorted(counts.items())),
          file=out)


def register(commands):
    """Add `modemkit upgrade` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'upgrade', help='upgrade Telit modules remotely through TCPATRUN',
        description='Upgrade the script of many Telit modules through TCPATRUN (server mode): '
                    'write the new version under new names, verify it by read-back, switch '
                    'AT#ESCRIPT, AT#REBOOT, confirm it is alive, switch back if it is not. '
                    f'Credentials: {ENV_USER}/{ENV_PASSWORD} or --credentials FILE. '
                    'Telit on-module boards only (serial port MDM or MDM2); a MicroPython '
                    'board gets its apps with `modemkit deploy`.')
    add_build_options(p, target_choice=False)
    p.add_argument('--targets', metavar='FILE',
                   help='modules, one per line: "name host:port [auto|automatic|step]"')
    p.add_argument('--to', action='append', default=[], metavar='[NAME=]HOST:PORT',
                   help='one more module (repeatable)')
    p.add_argument('--credentials', metavar='FILE',
                   help='"user = ..." and "password = ..." lines (NAME.user/NAME.password for '
                        'one module); default: the environment')
    p.add_argument('--auth', choices=AUTH_MODES, default='auto',
                   help='TCPATRUN login (T-RUN §3.2.2): automatic (no prompt), step '
                        '(Username:/Password:), or auto: step if "Username:" comes within '
                        '--prompt-wait (default)')
    p.add_argument('--prompt-wait', type=float, default=1.5, metavar='S',
                   help='auto login: how long to wait for "Username:" (default 1.5)')
    p.add_argument('--login-timeout', type=float, default=10.0, metavar='S',
                   help='connect/login/command timeout; silence this long after connecting '
                        'is reported as a firewall drop (default 10)')
    p.add_argument('--parallel', type=int, default=8, metavar='N',
                   help='modules upgraded at the same time (default 8)')
    p.add_argument('--chunk', type=int, default=1024, metavar='BYTES',
                   help='#WSCRIPT data chunk size (default 1024)')
    p.add_argument('--no-reboot', action='store_true',
                   help='write, verify and enable only; the new version starts at the next '
                        'reboot')
    p.add_argument('--confirm', choices=('state', 'mqtt'), default='state',
                   help='how the new version proves it is alive: its boot script\'s state file '
                        'read over TCPATRUN (default), or that plus an MQTT message')
    p.add_argument('--confirm-s', type=float, default=300.0, metavar='S',
                   help='deadline for the new version to be alive (default 300)')
    p.add_argument('--rollback-s', type=float, default=300.0, metavar='S',
                   help='deadline for the previous version to be back (default 300)')
    p.add_argument('--poll-s', type=float, default=2.0, metavar='S',
                   help='seconds between checks while waiting (default 2)')
    p.add_argument('--mqtt', metavar='HOST:PORT', help='--confirm mqtt: the broker')
    p.add_argument('--mqtt-topic', default='modemkit/{name}/version', metavar='TEMPLATE',
                   help='--confirm mqtt: topic, with {name} and {version} '
                        '(default modemkit/{name}/version)')
    p.add_argument('--mqtt-expect', default='{version}', metavar='TEMPLATE',
                   help='--confirm mqtt: text the payload must contain (default {version})')
    p.add_argument('--report', metavar='FILE',
                   help='also write the results as JSON to FILE, rewritten after every wave '
                        '(default with --resume: the report resumed from)')
    waves = p.add_argument_group(
        'waves', 'A fleet goes in waves: the canary, then each wave --wave-growth times the one '
                 'before; a wave whose failure rate passes --max-failure-rate stops the run '
                 '(exit status 3) and the modules after it stay "pending" in the report.')
    waves.add_argument('--canary', type=int, default=10, metavar='N',
                       help='modules in the first wave (default 10; 0: one wave of all)')
    waves.add_argument('--wave-growth', type=float, default=2.0, metavar='F',
                       help='each wave is F times the one before (default 2)')
    waves.add_argument('--max-wave', type=int, default=0, metavar='N',
                       help='at most N modules in a wave (default 0: no cap)')
    waves.add_argument('--max-failure-rate', type=float, default=0.1, metavar='R',
                       help='stop after a wave in which more than this share of modules (0..1) '
                            'was not upgraded; within a wave no module starts once the share '
                            'cannot stay under it (default 0.1)')
    waves.add_argument('--rate', type=float, default=0.0, metavar='PER_S',
                       help='at most this many module upgrades started a second (default 0: '
                            'no limit beyond --parallel)')
    waves.add_argument('--resume', metavar='REPORT',
                       help='a JSON report of an earlier run: modules it shows upgraded to this '
                            'version are left alone, the others (failed, pending) are run')
    p.add_argument('--quiet', action='store_true',
                   help='no per-module progress lines, only one line per wave and the table')
    p.set_defaults(run=run, parser=p)
    return p


def check_wave_options(args):
    for name, value, low in (('--parallel', args.parallel, 1), ('--canary', args.canary, 0),
                             ('--max-wave', args.max_wave, 0)):
        if value < low:
            raise ConfigError(f'{name}: at least {low}')
    if not args.wave_growth >= 1.0:
        raise ConfigError('--wave-growth: at least 1')
    if not 0.0 <= args.max_failure_rate <= 1.0:
        raise ConfigError('--max-failure-rate: a share between 0 and 1')
    if not args.rate >= 0.0:
        raise ConfigError('--rate: 0 or more starts a second')


def run(args, env=None):
    """`modemkit upgrade` with parsed `args`; returns the exit status (0 all upgraded, 1 some
    not, 2 nothing done, 3 stopped at the failure threshold)."""
    path = args.report or args.resume
    try:
        # the board first: a MicroPython board's .mpy files must never reach a script store
        check_target(args.board, boardcfg.load(args.board), 'telit', 'upgrade (TCPATRUN)')
        check_wave_options(args)
        targets = load_targets(args.targets, args.to)
        creds = load_credentials(args.credentials, env)
        earlier = load_report(args.resume) if args.resume else None
        entries, stop = upgrade_fleet(args, targets, creds, earlier=earlier,
                                      save=(lambda e: save_report(path, e)) if path else None)
    except (ConfigError, ReportError, BundleError, DeployError,
            boardcfg.BoardConfigError) as e:
        for line in str(e).splitlines():
            print(f'modemkit upgrade: {line}', file=sys.stderr)
        return BAD_INPUT
    except OSError as e:        # the report could not be written
        print(f'modemkit upgrade: {e.filename or path}: {e.strerror or e}', file=sys.stderr)
        return BAD_INPUT
    report([as_result(d) for d in entries])
    if path:
        save_report(path, entries)
    if stop:
        return 3
    return 0 if all(is_done(d, d.get('to_version'), args.no_reboot) for d in entries) else FAILED


def main(argv=None, env=None):
    """`modemkit upgrade ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['upgrade'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
