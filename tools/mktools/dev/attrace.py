"""`modemkit trace`: an AT log shown as exchanges.

Reads the emulator's byte trace (`modemkit sim --trace FILE`: one line per write,
`SECONDS > b'...'` from the DTE, `SECONDS < b'...'` from the modem) and its event log
(`modemkit sim --log FILE`: `DATE TIME LOGGER MESSAGE`, the message a dict with the same clock's
`'t'`), or a device's log sink: lines in the trace form are decoded like the emulator's, any other
line is shown as a note.  Several files are merged on that clock.

Each command becomes one exchange: when it was sent, how long its final result code took, its
response lines and its final result; an error final (ERROR, +CME ERROR, NO CARRIER, SEND FAIL...)
or a command that never got one is marked.  Unsolicited lines are URCs.  Data phases (after a `>`
prompt, a length header such as `+QIRD: N` / `#SRECV: C,N` / `CONNECT N`, or in online data mode
after CONNECT) are summarised as byte counts, never shown.  `--follow` keeps reading a file that
grows (a live `modemkit sim --trace` or demo) until interrupted.
"""
import ast
import os
import re
import signal
import sys
import time
from dataclasses import dataclass, field

from mktools import CommandError

TRACE_LINE = re.compile(r'^(\d+(?:\.\d+)?) ([<>]) (b([\'"]).*\4)\s*$')
LOG_LINE = re.compile(r'^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d)[,.]\d+ (\S+) (.*)$')
TIMED_NOTE = re.compile(r'^(\d+\.\d+) (.*)$')
LOG_T = re.compile(r"'t': (\d+(?:\.\d+)?)")

FINAL_OK = ('OK', 'SEND OK', 'CONNECT')
FINAL_ERROR = ('ERROR', 'NO CARRIER', 'NO DIALTONE', 'BUSY', 'NO ANSWER', 'SEND FAIL')
FINAL_ERROR_PREFIX = ('+CME ERROR', '+CMS ERROR')
# response lines after which the modem writes exactly N raw bytes (QL: +QIRD, push-mode
# "recv" URC, CONNECT <len> of +QFREAD/+QHTTPREAD; Telit: #SRECV; Telit/Quectel SSL reads)
LENGTH_HEADERS = (
    re.compile(r'^\+QIRD: (\d+)(?:,"[^"]*",\d+)?$'),
    re.compile(r'^\+QSSLRECV: (\d+)$'),
    re.compile(r'^\+QIURC: "recv",\d+,(\d+)(?:,"[^"]*",\d+)?$'),
    re.compile(r'^#SRECV: ?\d+,(\d+)$'),
    re.compile(r'^#SRECV: ?"[^"]*",\d+,\d+,(\d+),\d+$'),       # UDP: from whom, what is left
    re.compile(r'^#SSLRECV: ?\d+,(\d+)$'),
    re.compile(r'^CONNECT (\d+)$'),
)
# online data mode ends with one of these from the modem (Wavecom/Sierra +KTCPSND/+KTCPRCV
# end their data with the EOF pattern; a dropped connection says NO CARRIER)
ONLINE_END = (b'--EOF--Pattern--', b'\r\nNO CARRIER\r\n')
ESCAPES = (b'+++', b'--EOF--Pattern--')
CTRL_Z, ESC = 0x1a, 0x1b
BARE_URCS = ('RING', 'RDY', 'POWERED DOWN', 'NO CARRIER', '+PBREADY', 'SMS Ready', 'Call Ready')
NOTE_ERROR = re.compile(r'drop|garble|overflow|error|fail|lost|refused|timed out|crash|limit|'
                        r'reboot', re.I)
LINE_MAX = 4096          # a response "line" longer than this is binary data without a header


@dataclass
class Exchange:
    t: float
    command: str
    lines: list = field(default_factory=list)
    final: str = ''
    end: float = None
    up: int = 0                # data bytes the DTE sent in this exchange
    down: int = 0              # data bytes the modem sent in this exchange

    @property
    def error(self):
        return not self.final or is_error(self.final)

    @property
    def duration(self):
        return None if self.end is None else self.end - self.t


@dataclass
class Urc:
    t: float
    text: str
    down: int = 0


@dataclass
class Data:
    t: float
    direction: str             # 'up' (DTE to modem) or 'down'
    size: int


@dataclass
class Note:
    t: float
    text: str
    error: bool = False


def is_error(final):
    return final in FINAL_ERROR or final.startswith(FINAL_ERROR_PREFIX)


def is_final(line):
    return line in FINAL_OK or line.startswith('CONNECT') or is_error(line)


class Decoder:
    """Turns trace records (time, direction, bytes) into Exchange/Urc/Data items for `emit`."""

    def __init__(self, emit):
        self.emit = emit
        self.exchange = None
        self.down = bytearray()
        self.up = bytearray()
        self.last_up = None
        self.echo = bytearray()     # data-phase bytes the modem may echo back (ATE1), bounded
        self.up_mode = 'cmd'        # 'cmd' | 'data' (after a prompt) | 'online'
        self.down_mode = 'line'     # 'line' | 'count' | 'online'
        self.count = 0              # bytes of a length-announced block still to come
        self.count_owner = None     # the Exchange or Urc the block belongs to
        self.online_up = 0
        self.online_down = 0
        self.online_t = 0.0

    # -- the DTE's bytes ---------------------------------------------------------------------

    def from_dte(self, t, data):
        for b in data:
            if self.up_mode == 'data':
                # until the modem answers: a fixed-length send may carry Ctrl-Z as data
                self.last_up = b
                if self.exchange:
                    self.exchange.up += 1
                    if len(self.echo) < LINE_MAX:
                        self.echo.append(b)
                continue
            if self.up_mode == 'online':
                self.up.append(b)
                escape = next((e for e in ESCAPES if self.up.endswith(e)), None)
                if escape:
                    self.online_up += len(self.up) - len(escape)
                    self.up.clear()
                    self.end_online(t, by_dte=True)
                elif len(self.up) > 32:
                    self.online_up += len(self.up) - 16
                    del self.up[:-16]
                continue
            if b in b'\r':
                self.command(t, self.up.decode('latin-1').strip())
                self.up.clear()
            elif b != 0x0a and len(self.up) < LINE_MAX:
                self.up.append(b)

    def command(self, t, text):
        if not text:
            return
        if self.exchange:                     # sent before the previous one ended
            self.close(t, '')
        self.exchange = Exchange(t, text)

    # -- the modem's bytes -------------------------------------------------------------------

    def from_dce(self, t, data):
        self.down += data
        while self.down:
            if self.down_mode == 'count':
                take = min(self.count, len(self.down))
                del self.down[:take]
                self.count -= take
                self.count_owner.down += take
                if self.count:
                    return
                self.down_mode = 'line'
                if isinstance(self.count_owner, Urc):
                    self.emit(self.count_owner)     # shown once its data is counted
                continue
            if self.down_mode == 'online':
                if not self.online_data(t):
                    return
                continue
            if not self.next_line(t):
                return

    def next_line(self, t):
        if self.echo:
            n = 0
            while n < min(len(self.echo), len(self.down)) and self.echo[n] == self.down[n]:
                n += 1
            if n:
                del self.echo[:n]
                del self.down[:n]
                return bool(self.down)
            self.echo.clear()             # not echoed (ATE0)
        while self.down[:2] == b'\r\n' or self.down[:1] == b'\n':
            del self.down[:2 if self.down[:2] == b'\r\n' else 1]
        if not self.down:
            return False
        if self.exchange and (self.down[:2] == b'> ' or self.down[:3] == b'>>>'):
            del self.down[:3 if self.down[:3] == b'>>>' else 2]
            if self.exchange:
                self.exchange.lines.append('>')
            self.up_mode = 'data'
            return True
        end = self.down.find(b'\r\n')
        if end < 0:
            if len(self.down) > LINE_MAX:
                self.emit(Data(t, 'down', len(self.down)))
                self.down.clear()
            return False
        line = self.down[:end].decode('latin-1').strip('\r\n ')
        del self.down[:end + 2]
        self.line(t, line)
        return True

    def line(self, t, line):
        if not line:
            return
        if self.up_mode == 'data':        # the modem answered: the data phase is over
            self.end_data()
        x = self.exchange
        if x and line == x.command and not x.lines:
            return                        # the echo of the command (ATE1)
        size = next((int(m.group(1)) for m in (h.match(line) for h in LENGTH_HEADERS) if m),
                    None)
        if x and is_final(line) and size is None:
            if line.startswith('CONNECT'):
                x.lines.append(line)
                self.start_online(t)
                return
            self.close(t, line)
            return
        if x and not self.looks_unsolicited(line, x):
            x.lines.append(line)
            owner = x
        else:
            owner = Urc(t, line)
            if not size:
                self.emit(owner)
        if size:
            self.down_mode, self.count, self.count_owner = 'count', size, owner

    def end_data(self):
        self.up_mode = 'cmd'
        x = self.exchange
        if x and x.up and self.last_up in (CTRL_Z, ESC):
            # the end (or cancel) character of a variable-length send is not data, unless the
            # command gave the length (QL AT+QISEND=<id>,<len>; Telit AT#SSENDEXT=<id>,<len>)
            m = re.search(r',\s*(\d+)\s*$', x.command)
            if not (m and int(m.group(1)) == x.up):
                x.up -= 1

    @staticmethod
    def looks_unsolicited(line, x):
        if line in BARE_URCS and line != 'NO CARRIER':
            return True
        m = re.match(r'^([+#$%^][A-Z0-9]+):', line)
        return bool(m) and m.group(1) not in x.command.upper()

    def close(self, t, final):
        x = self.exchange
        x.final, x.end = final, (t if final else None)
        self.exchange = None
        self.emit(x)

    # -- online data mode ---------------------------------------------------------------------

    def start_online(self, t):
        self.down_mode = self.up_mode = 'online'
        self.online_up = self.online_down = 0
        self.online_t = t
        self.up.clear()

    def online_data(self, t):
        for end in ONLINE_END:
            i = self.down.find(end)
            if i >= 0:
                self.online_down += i
                del self.down[:i + len(end)]
                # after the EOF pattern the modem's OK follows in command mode
                self.end_online(t, None if end.startswith(b'--') else end.strip().decode())
                return True
        keep = max(len(e) for e in ONLINE_END) - 1
        if len(self.down) > keep:
            self.online_down += len(self.down) - keep
            del self.down[:-keep]
        return False

    def end_online(self, t, final=None, by_dte=False):
        """Online data mode ends: the DTE escaped (+++, or its EOF pattern), or the modem ended
        its data (its EOF pattern; `final` None) or the connection (`final` NO CARRIER)."""
        x = self.exchange
        if by_dte:
            # what the modem sent so far was data; its OK (or NO CARRIER) comes in command mode
            self.online_down += len(self.down)
            self.down.clear()
        else:
            self.online_up += len(self.up)
        if x:
            x.up += self.online_up
            x.down += self.online_down
        else:
            self.emit(Data(self.online_t, 'up', self.online_up))
            self.emit(Data(self.online_t, 'down', self.online_down))
        self.online_up = self.online_down = 0
        self.up.clear()
        self.up_mode, self.down_mode = 'cmd', 'line'
        if final is not None and x:
            self.close(t, final)

    def flush(self, t):
        if self.exchange:
            self.close(t, '')


def parse_record(text):
    """One line of a log -> (t, kind, payload): kind '>' / '<' (bytes), 'log' or 'note'."""
    text = text.rstrip('\n')
    m = TRACE_LINE.match(text)
    if m:
        try:
            data = ast.literal_eval(m.group(3))
        except (ValueError, SyntaxError):
            data = None
        if isinstance(data, bytes):
            return float(m.group(1)), m.group(2), data
    m = LOG_LINE.match(text)
    if m:
        t = LOG_T.search(m.group(3))
        return (float(t.group(1)) if t else None), 'log', f'{m.group(2)} {m.group(3)}'
    m = TIMED_NOTE.match(text)            # e.g. the trace's "SECONDS trace limit reached"
    if m:
        return float(m.group(1)), 'note', m.group(2)
    return None, 'note', text


class View:
    """Renders items with rich: one line each, errors in red and marked with '!'."""

    def __init__(self, console, raw_times=False):
        self.console = console
        self.t0 = None
        self.raw_times = raw_times
        self.counts = {'exchanges': 0, 'errors': 0, 'urcs': 0, 'up': 0, 'down': 0}
        self.slowest = None

    def when(self, t):
        if t is None:
            return ' ' * 9
        if self.t0 is None:
            self.t0 = t
        return f'{t:9.3f}' if self.raw_times else f'{t - self.t0:9.3f}'

    def show(self, item):
        from rich.text import Text
        line = Text()
        c = self.counts
        if isinstance(item, Exchange):
            c['exchanges'] += 1
            c['up'] += item.up
            c['down'] += item.down
            bad = item.error
            c['errors'] += bad
            if item.duration is not None and (self.slowest is None
                                              or item.duration > self.slowest.duration):
                self.slowest = item
            line.append('!' if bad else ' ', style='bold red')
            line.append(f'{self.when(item.t)} ')
            took = f'{item.duration * 1000:8.1f} ms' if item.duration is not None else \
                '       -   '
            line.append(took, style='dim')
            line.append('  ')
            line.append(item.command, style='bold')
            middle = [ln for ln in item.lines if ln != '>']
            if '>' in item.lines:
                line.append('  >', style='magenta')
            if item.up:
                line.append(f'  [{item.up} B sent]', style='magenta')
            if middle:
                line.append('  ' + ' | '.join(shorten(ln) for ln in middle))
            if item.down:
                line.append(f'  [{item.down} B received]', style='magenta')
            line.append('  ')
            if item.final:
                line.append(item.final, style='bold red' if bad else 'green')
            else:
                line.append('no final result code', style='bold red')
        elif isinstance(item, Urc):
            c['urcs'] += 1
            c['down'] += item.down
            line.append(f' {self.when(item.t)} ')
            line.append('   URC    ', style='cyan')
            line.append('  ' + shorten(item.text), style='cyan')
            if item.down:
                line.append(f'  [{item.down} B received]', style='magenta')
        elif isinstance(item, Data):
            c['up' if item.direction == 'up' else 'down'] += item.size
            line.append(f' {self.when(item.t)} ')
            line.append('   data   ', style='magenta')
            line.append(f'  [{item.size} B {"sent" if item.direction == "up" else "received"}]',
                        style='magenta')
        else:
            c['errors'] += item.error
            line.append('!' if item.error else ' ', style='bold red')
            line.append(f'{self.when(item.t)} ')
            line.append('   note   ', style='yellow')
            line.append('  ' + shorten(item.text, 160), style='bold red' if item.error else 'dim')
        self.console.print(line, soft_wrap=True, highlight=False)

    def summary(self):
        c = self.counts
        slow = (f', slowest {self.slowest.command} {self.slowest.duration * 1000:.1f} ms'
                if self.slowest else '')
        self.console.print(
            f'{c["exchanges"]} exchanges, {c["errors"]} errors, {c["urcs"]} URCs, '
            f'{c["up"]} B data sent, {c["down"]} B data received{slow}', highlight=False,
            soft_wrap=True, style='bold red' if c['errors'] else 'bold')


def shorten(text, limit=100):
    return text if len(text) <= limit else text[:limit - 3] + '...'


class Feeder:
    """Records in, items out through a Decoder to a View."""

    NOTES_HELD = 100

    def __init__(self, view):
        self.view = view
        self.decoder = Decoder(view.show)
        self.last_t = None
        self.held = []           # notes that arrived during an exchange: shown after its line

    def record(self, t, kind, payload):
        if t is not None:
            self.last_t = t
        if kind == '>':
            self.decoder.from_dte(t, payload)
        elif kind == '<':
            self.decoder.from_dce(t, payload)
        elif payload.strip():
            self.held.append(Note(t, payload.strip(), bool(NOTE_ERROR.search(payload))))
        if self.decoder.exchange is None or len(self.held) > self.NOTES_HELD:
            self.show_held()

    def show_held(self):
        for note in self.held:
            self.view.show(note)
        self.held.clear()

    def end(self):
        self.decoder.flush(self.last_t)
        self.show_held()


def read_records(paths):
    """Every file's records merged on their clock (records without a time stay behind the one
    before them in their file)."""
    merged = []
    for n, path in enumerate(paths):
        try:
            with open(path, encoding='utf-8', errors='replace') as f:
                last = 0.0
                for i, text in enumerate(f):
                    t, kind, payload = parse_record(text)
                    last = t if t is not None else last
                    merged.append(((last, n, i), t, kind, payload))
        except OSError as e:
            raise CommandError(f'{path}: cannot read it ({e.strerror}); give the file '
                               'modemkit sim --trace or --log wrote') from None
    merged.sort(key=lambda r: r[0])
    return [r[1:] for r in merged]


def follow(path, feeder, poll_s=0.2, stop=None):
    """Feed `path` as it grows until interrupted (or `stop()` is true); starts at its top."""
    try:
        f = open(path, 'rb')
    except OSError as e:
        raise CommandError(f'{path}: cannot read it ({e.strerror}); start modemkit sim '
                           '--trace FILE first') from None
    partial = b''
    with f:
        while stop is None or not stop():
            chunk = f.readline(LINE_MAX * 4)
            if not chunk:
                try:
                    if f.tell() > os.stat(path).st_size:     # truncated: a new session began
                        f.seek(0)
                        partial = b''
                except OSError:
                    pass
                time.sleep(poll_s)
                continue
            partial += chunk
            if not partial.endswith(b'\n') and len(partial) < LINE_MAX * 4:
                continue
            feeder.record(*parse_record(partial.decode('utf-8', 'replace')))
            partial = b''


def register(commands):
    """Add `modemkit trace` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'trace', help='show an AT log as exchanges, URCs and data phases',
        description='Show an AT log (modemkit sim --trace FILE, its --log FILE, or a device\'s '
                    'log sink) as exchanges: when each command was sent, how long its final '
                    'result code took, its response lines; URCs on their own lines; data '
                    'phases as byte counts; errors marked with "!" (and in red on a terminal).')
    p.add_argument('files', nargs='+', metavar='FILE',
                   help='trace or log files; several are merged on their clock')
    p.add_argument('--follow', '-f', action='store_true',
                   help='keep reading FILE as it grows (a live modemkit sim --trace) until '
                        'Ctrl-C')
    p.add_argument('--raw-times', action='store_true',
                   help='show the log\'s own clock instead of seconds since its first record')
    p.add_argument('--width', type=int, metavar='N', help='terminal width (default: detected)')
    p.set_defaults(run=run, parser=p)
    return p


def run(args, env=None):
    """`modemkit trace` with parsed `args`; returns the exit status."""
    from rich.console import Console
    if args.follow and len(args.files) != 1:
        raise CommandError('--follow reads one file; give the --trace file alone')
    view = View(Console(width=args.width, highlight=False), raw_times=args.raw_times)
    feeder = Feeder(view)
    if args.follow:
        # Ctrl-C ends following between two records, never inside the console's write
        stopped = []
        previous = {sig: signal.signal(sig, lambda *_: stopped.append(1))
                    for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            follow(args.files[0], feeder, stop=lambda: stopped)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
    else:
        for record in read_records(args.files):
            feeder.record(*record)
    feeder.end()
    view.summary()
    return 0


def main(argv=None):
    """`modemkit trace ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['trace'] + list(sys.argv[1:] if argv is None else argv))


if __name__ == '__main__':
    sys.exit(main())
