"""`Modem`: the dialect-independent DCE (see docs/emulator.md).

It owns the serial-port state machine.  `modem.mode` is one of:

- `command`: bytes are echoed and collected into a command line;
- `busy`:    a command line is executing; DTE bytes are held until its final result code;
- `prompt`:  a data phase (`prompt()`) collects bytes for a handler;
- `online`:  transparent mode, DTE bytes go to the peer, `+++` with guard times escapes;
- `raw`:     a dialect's own data mode (`take_input()`);
- `off`:     rebooting; DTE bytes are lost.

A dialect subclasses it and declares `COMMANDS` (merged with the base classes' tables, see
`command_table()`), and may extend `reset()` (its own power-on state), `power_on()` (start-up
URCs), `drop_connections()`, `identity()` (ATI), `unknown_command()`, `bad_arg()`,
`frame_result()`, and set `DEFAULTS`, `RESULT_CODES` (ATV0 numbers), `CME_ERRORS`,
`CME_PREFIX`, `ESCAPE_TO_PEER`, `STARTUP_URCS`.  Timers for pending work should be made with
`self.later()` so that a reboot cancels them.  `modem.results` counts the final result codes
sent (the test harness waits on it).
"""

import logging
from collections import deque

from mktools.sim.core.atparse import Command, ParseError, Quoted, parse_line
from mktools.sim.core import gsm
from mktools.sim.core.online import OnlineMode
from mktools.sim.core.sms import SmsCommands

__all__ = ['Modem', 'BadArg', 'PENDING', 'REQUIRED', 'Quoted', 'Command']

log = logging.getLogger('mktools.sim')


class _Marker:
    def __init__(self, name):
        self.name = name

    def __repr__(self):
        return self.name


PENDING = _Marker('PENDING')     # a handler's result: it will call self.finish() later
REQUIRED = _Marker('REQUIRED')   # arg_int/arg_str default: the argument must be present

CTRL_Z, ESC = 0x1A, 0x1B
TIMERS_PRUNE = 256


class BadArg(ValueError):
    """A command argument is missing, malformed or out of range."""


class Modem(OnlineMode, gsm.CommonCommands, SmsCommands):
    """The DCE core: parser, dispatch, result framing, data phases, online mode, faults."""

    dialect = 'base'

    DEFAULTS = {
        'manufacturer': 'Generic', 'model': 'SIM', 'revision': '1.0', 'imei': '350000000000001',
        'operator': 'Emulated', 'act': 7, 'csq': 20, 'reg_stat': 1, 'lac': '0001', 'ci': '00000001',
        'pin_state': 'READY', 'ip_pool': ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'],
        'hosts': {}, 'activation_s': 1.0, 'turnaround_s': 0.0, 'guard_s': 1.0,
        'rx_buffer': 65536, 'baud': None, 'cmee': 0, 'boot_s': 2.0,
    }
    RESULT_CODES = {'OK': 0, 'CONNECT': 1, 'RING': 2, 'NO CARRIER': 3, 'ERROR': 4,
                    'NO DIALTONE': 6, 'BUSY': 7, 'NO ANSWER': 8}
    CME_PREFIX = '+CME ERROR: '
    ESCAPE_TO_PEER = False      # Telit passes the +++ on to the peer (GT-8); Quectel does not
    STARTUP_URCS = ()
    LINE_MAX = 1024
    HELD_MAX = 8192
    URC_MAX = 64
    PROMPT_LIMIT = 4096
    EVENTS_MAX = 2000
    WAITERS_MAX = 64            # sources waiting for the DTE to take output again

    @classmethod
    def command_table(cls):
        """Command name -> handler method name, merged from every class's `COMMANDS` (a
        subclass wins; mapping a name to None removes it)."""
        if '_table' not in cls.__dict__:
            table = {}
            for klass in reversed(cls.__mro__):
                table.update(klass.__dict__.get('COMMANDS', {}))
            cls._table = {name: method for name, method in table.items() if method}
        return cls._table

    def __init__(self, loop, net, config=None):
        self.loop = loop
        self.net = net
        self.config = {**self.DEFAULTS, **(config or {})}
        self.wire = None
        self.events = deque(maxlen=self.EVENTS_MAX)
        self.results = 0
        self._timers = set()
        self.reset()

    # -- state ------------------------------------------------------------------------------

    def reset(self):
        """Power-on state.  Dialects extend it (call super) to reset their own tables."""
        for handle in self._timers:
            handle.cancel()
        self._timers = set()
        self.mode = 'command'
        self._line = bytearray()
        self._line_overflow = False
        self._held = bytearray()
        self._urcs = deque()
        self._queue = deque()
        self._current = None
        self._done = None
        self._dispatching = False
        self._then = None
        self._prompt = None
        self._online = None
        self._raw = None
        self._pending_to_dte = bytearray()
        self._dte_waiters = []
        self.set_cts(True)
        self.reset_settings()
        self.reset_network_state()
        self.reset_sms()

    def reset_settings(self):
        """`ATZ` / `AT&F`: echo, verbose results, result codes on, +CMEE, S-registers."""
        self.echo = True
        self.verbose = True
        self.quiet = False
        self.cmee = self.config['cmee']
        self.guard_s = self.config['guard_s']
        self.sregs = {3: 13, 4: 10, 5: 8, 12: round(self.guard_s * 50)}

    def attach(self, wire):
        """Send output to `wire` and take the DTE's bytes from it."""
        self.wire = wire
        wire.dce = self

    def log(self, event, **kw):
        """Record a fault or notable event in `self.events` (bounded)."""
        entry = {'t': round(self.loop.now(), 6), 'event': event, **kw}
        self.events.append(entry)
        log.info('%s %s', self.dialect, entry)

    def later(self, delay_s, fn, *args):
        """`loop.call_later` whose timer a reboot cancels."""
        def fire():
            self._timers.discard(handle)
            fn(*args)
        handle = self.loop.call_later(delay_s, fire)
        if len(self._timers) >= TIMERS_PRUNE:
            self._timers = {h for h in self._timers if not h.cancelled}
        self._timers.add(handle)
        return handle

    @property
    def command(self):
        """The `Command` being executed, or None."""
        return self._current

    # -- output -----------------------------------------------------------------------------

    def send(self, data):
        """Raw bytes to the DTE."""
        if self.wire is not None and data:
            self.wire.to_dte(bytes(data))

    def line(self, text):
        """An information line of the current response."""
        self.send((f'\r\n{text}\r\n' if self.verbose else f'{text}\r\n').encode('latin-1'))

    def frame_result(self, text):
        """The bytes of a result code or URC: V.250 framing by ATV (dialects may override)."""
        if self.verbose:
            return f'\r\n{text}\r\n'.encode('latin-1')
        if text in self.RESULT_CODES:
            return f'{self.RESULT_CODES[text]}\r'.encode('latin-1')
        return f'{text}\r\n'.encode('latin-1')

    def urc(self, text):
        """An unsolicited result code: now in command mode, else held until command mode."""
        if self.mode == 'command':
            self.send(self.frame_result(text))
        elif self.mode == 'off':
            self.log('urc_lost', text=text)
        elif len(self._urcs) < self.URC_MAX:
            self._urcs.append(text)
        else:
            self.log('urc_overflow', text=text)

    def cme(self, code_or_text):
        """The final text of an error for the current +CMEE setting (0/1/2)."""
        if isinstance(code_or_text, int):
            code, text = code_or_text, self.CME_ERRORS.get(code_or_text, 'unknown')
        else:
            text = code_or_text
            code = next((c for c, t in self.CME_ERRORS.items() if t == text), 100)
        if self.cmee == 0:
            return 'ERROR'
        return f'{self.CME_PREFIX}{code if self.cmee == 1 else text}'

    # -- flow control (RTS/CTS on the serial line, see wire.py) -----------------------------

    def dte_stopped(self):
        """True while the DTE holds the flow off (RTS): data sources feeding the DTE pause
        (a TCP socket stops being read) until `when_dte_resumes()` calls them back."""
        return not getattr(self.wire, 'rts', True)     # an ATRUN channel has no flow control

    def when_dte_resumes(self, fn):
        """Call `fn()` once, when the DTE takes output again (at once if it does now)."""
        if not self.dte_stopped():
            fn()
        elif fn not in self._dte_waiters:
            if len(self._dte_waiters) >= self.WAITERS_MAX:
                raise RuntimeError('too many sources waiting for the DTE')
            self._dte_waiters.append(fn)

    def dte_resumed(self):
        """The wire: the DTE's RTS is on again."""
        waiters, self._dte_waiters = self._dte_waiters, []
        for fn in waiters:
            fn()

    def set_cts(self, on):
        """Take DTE input (True) or hold it off (False: a frontend stops reading its DTE)."""
        set_cts = getattr(self.wire, 'set_cts', None)
        if set_cts is not None:
            set_cts(on)

    # -- input ------------------------------------------------------------------------------

    def receive(self, data):
        """Bytes from the DTE, in any chunking."""
        data = bytes(data)
        if self._held and self.mode != 'busy':
            data, self._held = bytes(self._held) + data, bytearray()
        while data:
            if self.mode == 'busy':
                self._hold(data)
                return
            if self.mode == 'off':
                self.log('input_lost', size=len(data))
                return
            data = getattr(self, self._RX[self.mode])(data)

    def _hold(self, data):
        room = self.HELD_MAX - len(self._held)
        self._held += data[:room]
        if len(data) > room:
            self.log('input_overflow', lost=len(data) - room)

    def _drain_held(self):
        if self._held and self.mode != 'busy':
            self.receive(b'')

    def _rx_command(self, data):
        cr, bs = self.sregs[3], self.sregs[5]
        for i, b in enumerate(data):
            if b == cr:
                if self.echo:
                    self.send(data[:i + 1])
                line, self._line = bytes(self._line), bytearray()
                self._execute_line(line)
                return data[i + 1:]
            if b == 0x0A:
                continue
            if b == bs:
                del self._line[-1:]
            elif len(self._line) < self.LINE_MAX:
                self._line.append(b)
            else:
                self._line_overflow = True
        if self.echo:
            self.send(data)
        return b''

    def _rx_prompt(self, data):
        p = self._prompt
        if p['size'] is not None:
            need = p['size'] - len(p['buf'])
            self._take_prompt_bytes(data[:need])
            if len(p['buf']) < p['size']:
                return b''
            return self._prompt_done(bytes(p['buf']), data[need:])
        stops = [i for i in (data.find(CTRL_Z) if p['ctrl_z'] else -1,
                             data.find(ESC) if p['esc'] else -1) if i >= 0]
        end = min(stops) if stops else len(data)
        room = self.PROMPT_LIMIT - len(p['buf'])
        self._take_prompt_bytes(data[:min(end, room)])
        if end > room:
            self.log('prompt_overflow', lost=end - room)
        if not stops:
            return b''
        body = None if data[end] == ESC else bytes(p['buf'])
        return self._prompt_done(body, data[end + 1:])

    def _take_prompt_bytes(self, data):
        self._prompt['buf'] += data
        if self._prompt['echo']:
            self.send(data)

    def _rx_raw(self, data):
        return self._raw(data) or b''

    _RX = {'command': '_rx_command', 'prompt': '_rx_prompt', 'online': '_rx_online',
           'raw': '_rx_raw'}

    # -- command lines ----------------------------------------------------------------------

    def _execute_line(self, raw):
        text = raw.decode('latin-1').strip(' \x00')
        overflow, self._line_overflow = self._line_overflow, False
        if text[:2].upper() != 'AT':
            if text:
                self.log('ignored_line', text=text[:80])
            return
        self.mode = 'busy'
        try:
            if overflow:
                raise ParseError('line too long')
            self._queue = deque(parse_line(text[2:]))
        except ParseError as e:
            self.log('parse_error', text=text[:80], why=str(e))
            self._end_line('ERROR')
            return
        self._run_line()

    def _run_line(self):
        while True:
            if self._current is None:
                if not self._queue:
                    self._end_line('OK')
                    return
                self._current = self._queue.popleft()
                self._dispatching = True
                try:
                    result = self._dispatch(self._current)
                finally:
                    self._dispatching = False
                if isinstance(result, str):
                    self._done = result
            if self._done is None:
                return
            text, self._done, self._current = self._done, None, None
            if text != 'OK':
                self._queue.clear()
                self._end_line(text)
                return

    def _dispatch(self, cmd):
        method = self.command_table().get(cmd.name)
        if method is None:
            return self.unknown_command(cmd)
        try:
            return getattr(self, method)(cmd.op, cmd.args)
        except BadArg as e:
            return self.bad_arg(cmd, e)

    def unknown_command(self, cmd):
        """The final result for a command not in the table (V.250: ERROR)."""
        return 'ERROR'

    def bad_arg(self, cmd, exc):
        """The final result when a handler raised `BadArg`; dialects override for their form."""
        return self.cme(50)

    def finish(self, text):
        """End the current command with a final result (for handlers that returned PENDING)."""
        if self._current is None:
            self.log('stray_finish', text=text)
            return
        self._done = text
        if not self._dispatching:
            self._run_line()

    def _end_line(self, text):
        delay = self.config['turnaround_s']
        if delay > 0:
            self.later(delay, self._complete_line, text)
        else:
            self._complete_line(text)

    def _complete_line(self, text):
        if not self.quiet:
            self.send(self.frame_result(text))
        self.results += 1
        self.mode = 'command'
        then, self._then = self._then, None
        if then:
            then()
        self._enter_command_mode()

    def _enter_command_mode(self):
        if self.mode != 'command':
            return
        while self._urcs and self.mode == 'command':
            self.send(self.frame_result(self._urcs.popleft()))
        if self._held:
            self.loop.call_later(0, self._drain_held)

    def _after_line(self, fn):
        """Run `fn` now, or right after the executing line's final result code."""
        if self.mode == 'busy':
            self._then = fn
        else:
            fn()

    # -- arguments --------------------------------------------------------------------------

    @staticmethod
    def arg_int(args, i, lo=None, hi=None, default=REQUIRED):
        """Argument `i` as an int in [lo, hi] (quoted integers accepted)."""
        value = args[i] if i < len(args) else None
        if value is None:
            if default is REQUIRED:
                raise BadArg(f'argument {i} missing')
            return default
        try:
            number = int(value, 10)
        except ValueError:
            raise BadArg(f'argument {i} not an integer: {value!r}') from None
        if (lo is not None and number < lo) or (hi is not None and number > hi):
            raise BadArg(f'argument {i} out of range: {number}')
        return number

    @staticmethod
    def arg_str(args, i, maxlen=None, default=REQUIRED):
        """Argument `i` as a str of at most `maxlen` characters."""
        value = args[i] if i < len(args) else None
        if value is None:
            if default is REQUIRED:
                raise BadArg(f'argument {i} missing')
            return default
        if maxlen is not None and len(value) > maxlen:
            raise BadArg(f'argument {i} longer than {maxlen}')
        return value

    # -- data phases ------------------------------------------------------------------------

    def prompt(self, prompt, on_data, size=None, ctrl_z=True, esc_cancels=True, timeout_s=None,
               echo=False):
        """Send `prompt` and collect the DTE's bytes for `on_data(data or None)`; returns PENDING.

        With `size`, exactly that many bytes; otherwise up to Ctrl-Z (not included), ESC
        cancelling.  `echo=True` echoes the bytes as they come (e.g. Quectel AT+QISDE=1)."""
        self._prompt = {'on_data': on_data, 'size': size, 'ctrl_z': ctrl_z, 'esc': esc_cancels,
                        'buf': bytearray(), 'echo': echo, 'timer': None}
        if timeout_s is not None:
            self._prompt['timer'] = self.later(timeout_s, self._prompt_timeout)
        self.mode = 'prompt'
        self.send(prompt)
        if self._held:
            self.loop.call_later(0, self._drain_held)
        return PENDING

    def _prompt_timeout(self):
        if self._prompt is not None:
            self.log('prompt_timeout', got=len(self._prompt['buf']))
            self._prompt_done(None, b'')

    def _prompt_done(self, data, rest):
        p, self._prompt = self._prompt, None
        if p['timer'] is not None:
            p['timer'].cancel()
        self.mode = 'busy'
        result = p['on_data'](data)
        if isinstance(result, str):
            self.finish(result)
        return rest

    def take_input(self, fn):
        """Route every DTE byte to `fn(data)` until `release_input()`.  `fn` may return bytes it
        did not consume (after releasing input); they are processed in command mode."""
        def enter():
            self._raw = fn
            self.mode = 'raw'
        self._after_line(enter)

    def release_input(self, final=None):
        """Back to command mode from `take_input`, optionally with a final result code."""
        self._raw = None
        self._leave_data_mode(final)

    def _leave_data_mode(self, final):
        if final is None:
            self.mode = 'command'
            self._enter_command_mode()
        else:
            self.mode = 'busy'
            self._end_line(final)

    # -- faults -----------------------------------------------------------------------------

    def reboot(self, delay_s=None):
        """Drop every connection, lose all state, come back after `delay_s` with start-up URCs."""
        delay = self.config['boot_s'] if delay_s is None else delay_s
        self.log('reboot', delay_s=delay)
        self.drop_connections()
        self.reset()
        self.mode = 'off'
        self.later(delay, self._boot)

    def _boot(self):
        self.mode = 'command'
        self.power_on()

    def power_on(self):
        """Start-up URCs after a reboot (`STARTUP_URCS`); dialects override for timed ones."""
        for text in self.STARTUP_URCS:
            self.urc(text)

    def drop_connections(self):
        """Close every real socket at once (reboot); the dialect's `reset()` forgets them."""
        self.net.close_all()

    def pdp_deactivate(self, cid):
        """The network deactivates PDP context `cid` (dialects implement)."""
        raise NotImplementedError(f'{self.dialect}: pdp_deactivate')

    def peer_close(self, sock_id):
        """The remote end closes socket `sock_id` (FIN) (dialects implement)."""
        raise NotImplementedError(f'{self.dialect}: peer_close')

    def peer_reset(self, sock_id):
        """The remote end resets socket `sock_id` (RST) (dialects implement)."""
        raise NotImplementedError(f'{self.dialect}: peer_reset')

    def stall(self, sock_id, on=True):
        """Stop (or restart) moving data on socket `sock_id` (dialects implement)."""
        raise NotImplementedError(f'{self.dialect}: stall')

    def fill_rx(self, sock_id):
        """Fill socket `sock_id`'s receive buffer to `rx_buffer` (dialects implement)."""
        raise NotImplementedError(f'{self.dialect}: fill_rx')

