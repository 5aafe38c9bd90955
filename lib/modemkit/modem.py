"""The modem lifecycle shared by every dialect, as named states:

    off -> power -> sync -> config -> sim -> register -> attach -> ready
                                                                    |
    recover (growing back-off, then a module reset)  <--- failures -+--- trouble: a reboot URC,
                                                                         PDP lost, registration lost

Each transition is logged as `old -> new (event)`. Leaving `ready` fails every socket with
NetDown, so waiters wake with a typed error instead of hanging. A dialect subclasses Modem and
overrides what differs from 3GPP: configure(), activate(), its socket operations and its URCs.

Board configuration (a dict, see boardcfg/): apn, user, password, auth, power (pin, pulse_ms,
boot_ms), reg_timeout_ms, backoff_ms, rx_size, tx_size, reserved (connection ids left alone,
e.g. the one TCPATRUN uses), ladder (file, steps: the recovery ladder below).

With "ladder" the failures climb a ladder kept on flash (modemkit.ladder): a connection that
cannot be opened, or a step of the lifecycle that fails, counts; the rung says what to do:
reconnect (the caller retries; a failed step is tried again), re-attach (back to attach, the
context deactivated first), module reset (AT+CFUN=1,1), power cycle (the power key; a reset
without one). Resets and power cycles wait as BACKOFF_MS says, counted over restarts of the MCU
too. An opened connection puts the ladder back at the bottom. Without "ladder": a failure waits
as BACKOFF_MS says, then resets (or power-cycles) the module.
"""
from modemkit import at, port, sock, unload
from modemkit.sched import Event, Return, Cancelled
from modemkit.sock import NetError
# sock.X and at.X rather than imported names: each global takes a slot in this module's
# table, which every dialect loads (README, "Memory")

STATE_NAMES = ('off', 'power', 'sync', 'config', 'sim', 'register', 'attach', 'ready', 'recover')
OFF = 0
POWER = 1
SYNC = 2
CONFIG = 3
SIM = 4
REGISTER = 5
ATTACH = 6
READY = 7
RECOVER = 8

# QL s1.1 reboot schedule: three quick retries, then 10 min, 30 min, 1 h between resets.
BACKOFF_MS = (0, 0, 0, 600000, 1800000, 3600000)


class Modem(object):
    CAPS = ()                  # 'tcp', 'udp', 'listen', 'dns', 'ping', 'ntp'
    MAX_SOCKETS = 1
    SEND_CHUNK = 1460
    BOOT_URCS = ()             # lines a module prints when it (re)starts
    RESET = b'AT+CFUN=1,1'     # 3GPP TS 27.007 s8.2: reset the module
    REG_QUERIES = ((b'AT+CEREG?', b'+CEREG:'), (b'AT+CREG?', b'+CREG:'))
    CMEE = b'AT+CMEE=1'
    SEND_CMD = None            # e.g. b'AT+QISEND=': the I/O task sends <cmd><id>,<n> + data
    SEND_FULL = None           # the final result code that means "buffer full, try again"
    POLL_MS = None             # how often poll() runs in `ready` besides after each wake-up
    _io_t = None               # the I/O task, once started
    UP = None                  # the dialect's module with configure(m) and activate(m) in
                               # place of the methods, e.g. 'modemkit.quectel_up' (see _step;
                               # a literal path: the Telit bundler flattens it)

    def __init__(self, sched, uart, cfg=None, log=None, **chan_args):
        self.sched = sched
        self.cfg = cfg if cfg is not None else {}
        self.log = log if log is not None else _print_log
        self.chan = at.Channel(sched, uart, log=self.log, **chan_args)
        self.state = OFF
        self.ready = Event(sched)
        self.wake = Event(sched)       # trouble for the supervisor
        self.work = Event(sched)       # sockets with data to fetch or to send, for the I/O task
        self.tx_size = self.cfg.get('tx_size', 1024) if self.SEND_CMD else 0
        self.trouble = None            # (state to return to, reason)
        self.failures = 0
        lad = self.cfg.get('ladder')
        if lad:
            # only on boards that have one: every field or method more on Modem takes heap on
            # every board (read with getattr(self, 'ladder', None))
            from modemkit.ladder import Ladder
            self.ladder = Ladder(port.data_path(lad.get('file', 'ladder')),
                                 tuple(lad.get('steps', (2, 2, 2))))
        self.ip = None
        self.socks = [None] * self.MAX_SOCKETS
        self.rx_size = self.cfg.get('rx_size', 1024)
        self._c = at.Cmd(size=192, timeout_ms=1000)      # the supervisor's command
        self._c_io = at.Cmd(size=48)     # the I/O task's fetch and send commands, one at a time
        for line in self.BOOT_URCS:
            self.chan.on(line, self._on_boot)
        self.chan.on(b'+CREG:', self._on_reg)
        self.chan.on(b'+CEREG:', self._on_reg)
        self.chan.on(b'+CGREG:', self._on_reg)

    # -- running ---------------------------------------------------------------------------
    def start(self):
        """Spawn the reader, the supervisor and the I/O tasks."""
        s = self.sched
        s.spawn(self.chan.run(), 'at-rx', parent=False)
        s.spawn(self._supervise(), 'modem', parent=False)
        self._io_t = s.spawn(self._io(), 'io', parent=False)

    def wait_ready(self, timeout_ms=None):
        if self.state != READY:
            if not (yield self.ready.wait(timeout_ms)):
                raise sock.TimedOut(sock.ETIMEDOUT,
                                    'modem not ready (%s)' % STATE_NAMES[self.state])

    def _set(self, state, why):
        self.log('modem: %s -> %s (%s)' % (STATE_NAMES[self.state], STATE_NAMES[state], why))
        self.state = state
        if state == READY:
            self.ready.set()
        else:
            self.ready.clear()

    def _supervise(self):
        self._set(POWER, 'start')
        while True:
            st = self.state
            try:
                if st == READY:
                    self.wake.clear()
                    if self.trouble is None:
                        yield self.wake.wait(self.cfg.get('poll_ms', self.POLL_MS))
                        if self.trouble is None:
                            yield self.poll()
                else:
                    why = yield _step(self, st)
                    # the step's code leaves the heap (README, "Memory")
                    unload('modem_up')
                    if self.UP is not None:
                        unload(self.UP[9:])       # after 'modemkit.'
                    if st == ATTACH:
                        self.failures = 0
                    if st != RECOVER and self.trouble is None:
                        self._set(st + 1, why or 'ok')
                if self.trouble is not None:
                    back, why = self.trouble
                    self.trouble = None
                    self._lost(why)
                    self._set(back, why)         # before cleanup: no new sockets meanwhile
                    yield self.cleanup(back)
            except NetError as e:
                self.failures += 1
                lad = getattr(self, 'ladder', None)
                if lad is not None:
                    lad.failed_at = st
                    lad.fail()
                self._lost('failure')
                self._set(RECOVER, '%s: %s' % (STATE_NAMES[st], e))

    def _lost(self, why):
        if self.dm is not None:
            self.dm.lost()
        err = sock.NetDown(sock.ENETDOWN, 'network down: ' + why)
        for i in range(len(self.socks)):
            s = self.socks[i]
            if s is not None:
                s.fail(err)
                self.socks[i] = None

    def _trouble(self, back, why):
        # Called from URC handlers, which must not block: the supervisor acts on it as soon as
        # its current step ends. The earliest state asked for wins.
        if self.state == RECOVER or self.state < back:
            return
        if self.trouble is None or back < self.trouble[0]:
            self.trouble = (back, why)
        self.wake.set()

    def _on_boot(self, line):
        if self.state >= CONFIG:
            self._trouble(SYNC, 'module restarted (%s)' % line.bytes().decode())

    def _on_reg(self, line):
        # +CREG: <stat> as a URC (one field; the query answer has two and goes to the command)
        stat = line.num(0, -1)
        if line.num(1, -1) == -1 and stat not in (1, 5) and self.state == READY:
            self._trouble(REGISTER, 'registration lost')

    # -- the steps -------------------------------------------------------------------------
    def q(self, text, timeout_ms=1000, expect=None, ok=True, secret=False):
        """The supervisor's exchanges: build, send, and (ok=True) insist on OK; `secret`: the
        arguments carry a password, errors name the command alone."""
        c = self._c
        c.clear().add(text)
        c.timeout_ms = timeout_ms
        c.expect = expect
        r = yield self.chan.send(c)
        if ok and r.status != at.OK:
            raise fail(c, r, secret)
        raise Return(r)

    def configure(self):
        """The 3GPP part of the configuration, which a dialect's configure() starts with."""
        yield self.q('ATE0')
        yield self.q(self.CMEE)
        for query, prefix in self.REG_QUERIES:
            # registration URCs (+CREG: <stat>) tell us when coverage is lost
            yield self.q(query[:-1] + b'=1', ok=False)
        raise Return('configured')

    def activate(self):
        raise Return('no data context')

    def poll(self):
        """In `ready`, after a wake-up without trouble or every POLL_MS: a dialect whose module
        does not report a restart or a lost context by itself checks here (and calls
        _trouble())."""
        if False:
            yield

    def cleanup(self, back):
        """After trouble, before going back to state `back` (a dialect frees what it holds)."""
        if False:
            yield

    # -- sockets: the generic part ---------------------------------------------------------
    def need(self, cap):
        if cap not in self.CAPS:
            raise sock.Unsupported(sock.EOPNOTSUPP,
                                   '%s: no %s on this module' % (type(self).__name__, cap))

    def new_socket(self, kind, timeout_ms, rx_size=None, tx_size=None):
        yield self.wait_ready(timeout_ms)
        reserved = self.cfg.get('reserved', ())   # ids another user of the module owns
        if tx_size is None or not self.tx_size:
            tx_size = self.tx_size          # 0: this dialect sends without a transmit ring
        for i in range(len(self.socks)):
            if self.socks[i] is None and self.first_id + i not in reserved:
                s = sock.Socket(self, kind, rx_size or self.rx_size, tx_size)
                s.id = self.first_id + i
                self.socks[i] = s
                raise Return(s)
        raise sock.Unsupported(sock.EOPNOTSUPP, 'all %d sockets in use' % len(self.socks))

    first_id = 0

    def sock_by_id(self, cid):
        i = cid - self.first_id
        if 0 <= i < len(self.socks):
            return self.socks[i]
        return None

    def forget(self, s):
        i = s.id - self.first_id
        if 0 <= i < len(self.socks) and self.socks[i] is s:
            self.socks[i] = None

    def open(self, host, port_, kind=sock.TCP, timeout_ms=30000, rx_size=None, tx_size=None,
             data=False):
        """A connected TCP (kind=TCP) or UDP (kind=UDP) socket to host:port. Its receive and
        transmit rings have the board's rx_size/tx_size, or these sizes (e.g. small ones for a
        connection that only carries short lines), or are these bytearrays: a client that
        reconnects allocates its rings once, before the heap is fragmented, and reuses them
        (the socket they served must be closed). data=True: a TCP connection in the module's
        data mode, the UART carrying its payload alone (modemkit.datamode)."""
        if data:
            s = yield self.datamode().open(host, port_, timeout_ms, rx_size)
            raise Return(s)
        self.need('udp' if kind else 'tcp')
        s = yield self.new_socket(kind, timeout_ms, rx_size, tx_size)
        try:
            yield self.connect(s, host, port_, timeout_ms)
        except BaseException as e:
            self.forget(s)
            s.state = sock.CLOSED
            lad = getattr(self, 'ladder', None)
            if (lad is not None and self.state == READY and isinstance(e, NetError)
                    and not isinstance(e, sock.Unsupported)):
                # a connection through the module failed: one rung up; above reconnect, the
                # supervisor acts (re-attach, or reset / power cycle from RECOVER)
                rung = lad.fail()
                self.log('modem: open failed (%s): failure %d on the recovery ladder'
                         % (e, lad.failures))
                if rung == 1:
                    self._trouble(ATTACH, 'recovery ladder: re-attach')
                elif rung > 1:
                    self.trouble = (RECOVER, 'recovery ladder')
                    self.wake.set()
            raise
        lad = getattr(self, 'ladder', None)
        if lad is not None:
            lad.ok()                       # the data path works: the ladder starts again
        raise Return(s)

    # -- data mode (modemkit.datamode, loaded on first use) --------------------------------
    dm = None

    def datamode(self):
        if self.dm is None:
            from modemkit.datamode import DataMode
            self.dm = DataMode(self)
        return self.dm

    def data_cmd(self, s, host, port_):
        """The command line that opens (host given) or resumes (host None) socket s in the
        module's data mode; its CONNECT starts the stream."""
        raise sock.Unsupported(sock.EOPNOTSUPP, '%s: no data mode' % type(self).__name__)

    def send(self, s, data, n, timeout_ms):
        return self.datamode().send(s, data, n, timeout_ms)

    def escape(self, s):
        """Leave the data mode of socket s, keeping its connection (+++, guard times)."""
        return self.datamode().escape(s)

    def resume(self, s):
        """Back to the data mode of socket s after escape()."""
        return self.datamode().resume(s)

    def kick(self):
        """Wake the I/O task: a socket has room for data the module holds, or data to send."""
        t = self._io_t
        if t is not None and t.done():
            # It ended anyway (e.g. out of memory in its own error handler, or cancelled):
            # a modem without it would never send or fetch again.
            self.log('modem: I/O task ended (%r), started again' % (t.exc,))
            self._io_t = self.sched.spawn(self._io(), 'io', parent=False)
        self.work.set()

    def _io(self):
        """The I/O task: fetch what the module holds for sockets that have room (back-pressure
        otherwise), and send what sockets queued, a chunk per socket and pass: <SEND_CMD><id>,
        <n>, the prompt, n bytes, the module's acknowledgement. One task, and one generator for
        the life of the modem, so that steady-state I/O allocates nothing."""
        c = self._c_io
        chan = self.chan
        refused = 0
        while True:
            self.work.clear()
            busy = False
            for s in self.socks:
                if s is None or s.err is not None:
                    continue
                # Whatever goes wrong in one exchange ends that socket's operations with a typed
                # error; the task goes on, or every socket of the modem would be left deaf.
                try:
                    if self.dm is not None:
                        # a data mode has the UART: its socket's ring goes straight to it,
                        # other sockets wait (their commands would wait in the channel)
                        t = self.dm.takes(s)
                        if t:
                            if t == 2:
                                busy = True
                                yield self.dm.flush(s)
                            continue
                    if s.pending and s.room() > 0:
                        busy = True
                        yield self.fetch(s)
                    if not (s.tlen or s.xn > 0) or s.err is not None or s.tx is None:
                        continue
                    if self.dm is not None and self.dm.takes(s):
                        busy = True        # the data mode began or has these bytes: next pass
                        continue
                    busy = True
                    # One command carries as much as the command allows and the bytes are
                    # there: the ring's (across its end), then the rest of a waiting send()'s
                    # buffer. Taken now: the command announces k + kx bytes whatever happens.
                    k = s.tlen
                    if k > self.SEND_CHUNK:
                        k = self.SEND_CHUNK
                    kx = self.SEND_CHUNK - k
                    if kx > s.xn:
                        kx = s.xn if s.xn > 0 else 0
                    xb = s.xbuf
                    xo = s.xoff
                    c.clear().add(self.SEND_CMD).add(s.id).add(b',').add(k + kx)
                    c.timeout_ms = 10000
                    c.expect = None
                    c.prompt = at.PROMPT_GT
                    r = yield chan.send(c)
                    if r.status == at.PROMPT:
                        # OSError if the prompt was given up meanwhile (see Channel.send_data)
                        r = yield chan.send_data(s.tx, k, None, False, s.thead, xb, kx, xo)
                        if r.status == at.OK:
                            s.sent(k, kx)
                            refused = 0
                            continue
                        if self.SEND_FULL is not None and r.final_is(self.SEND_FULL):
                            yield self.sched.sleep_ms(100)     # the module's buffer is full
                            continue
                    elif refused < 3 and (yield self.send_refused(s)):
                        refused += 1
                        continue
                    s.fail(sock.Closed(sock.ECONNRESET,
                                       'socket %d: send: %s' % (s.id, r.error())))
                except Cancelled:
                    raise
                except Exception as e:
                    self.log('modem: I/O on socket %d failed: %r' % (s.id, e))
                    s.fail(e if isinstance(e, NetError) else NetError(sock.EIO, str(e)))
            if not busy:
                yield self.work.wait()

    def send_refused(self, s):
        """The send command got no prompt: True if the connection is still up and the
        command should be retried (a dialect may check; by default it is over)."""
        raise Return(False)
        yield


def shown(text, secret):
    """A command as errors and logs may name it: without its arguments when they carry a
    password (APN, MQTT, FTP), which must never reach a log or an exception text."""
    return text.split('=')[0] + '=...' if secret else text


def fail(cmd, resp, secret=False):
    """A NetError for a FAIL or TIMEOUT exchange, naming the command and the modem's words."""
    if resp.status == at.TIMEOUT:
        return sock.TimedOut(sock.ETIMEDOUT,
                             '%s: no answer in %d ms' % (shown(cmd.text(), secret), cmd.timeout_ms))
    return NetError(sock.EIO, '%s: %s' % (shown(cmd.text(), secret), resp.error()))


def _step(m, st):
    """The generator of the step that takes the modem out of state st (POWER..ATTACH, or
    RECOVER). Steps are code a running device no longer needs: the module of each is imported
    when it starts and dropped when it ends, so that one step's code at most is in the heap,
    and none once the modem is ready. configure() and activate() come from the dialect's
    module UP when it has one, else from its methods; the others from modem_up."""
    if st == CONFIG or st == ATTACH:
        if m.UP is None:
            return m.configure() if st == CONFIG else m.activate()
        d = __import__(m.UP, None, None, ('configure',))
        return d.configure(m) if st == CONFIG else d.activate(m)
    from modemkit import modem_up
    return modem_up.step(m, st, BACKOFF_MS)


def _print_log(msg):
    print('modemkit.' + msg)
