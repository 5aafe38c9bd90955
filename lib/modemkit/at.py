"""The AT channel: one command in flight, queued callers, final result codes, URCs, prompts,
fixed-length binary reads and open-ended data streams -- on a fixed amount of memory.

    chan = Channel(sched, uart)
    sched.spawn(chan.run(), 'at-rx')             # the reader task
    chan.on(b'+QIURC:', on_qiurc)                # URC handler: on_qiurc(line), at any time
    CSQ = Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=300)
    resp = yield chan.send(CSQ)                  # inside a task
    if resp.status == OK: rssi = resp.num(0, 0)

An exchange is data: a Cmd holds the command text, the prefix of its response lines, its
timeout, whether it opens a data phase (`prompt`), and where a length-prefixed binary payload
goes (`sink`). Every exchange ends in exactly one of OK (with its lines), FAIL (with the modem's
error code and text) or TIMEOUT, never on silence. The Response and the Line handed to URC
handlers are the channel's own buffers: copy what you need before the task yields again.

Memory: the line buffer, the response line store and the read chunk are allocated once. A line
longer than the line buffer, or one with bytes no modem prints, is counted (`overlong`,
`garbage`), logged and dropped; nothing grows and nothing wedges the channel.
"""
from modemkit.port import const, ticks_add, ticks_diff
from modemkit.sched import WAIT, READY

OK = 0
FAIL = 1
TIMEOUT = 2
PROMPT = 3
STATUS_NAMES = ('OK', 'FAIL', 'TIMEOUT', 'PROMPT')

NO_PROMPT = 0
PROMPT_GT = 1        # "> " (a space may follow; it is skipped)
PROMPT_GT3 = 3       # ">>>" (Telit #WSCRIPT, #HTTPSND)

_CR = bytearray(b'\r')
_ESC = bytearray(b'\x1b')
_IDLE = const(0)
_SENT = const(1)            # command written, waiting for lines and a final result code
_DATA = const(2)            # prompt seen: the caller owns the line until it sends the data

# Final result codes every modem uses (ITU-T V.250, 3GPP TS 27.007); dialects add their own.
# Flat pairs (text, how), how = the status, plus _MORE when the text may go on (an error code, a
# rate): one tuple, not one per code.
_MORE = const(4)
_STREAM_READS = const(16)   # chunks the reader takes in one turn while a data stream runs
_FULL_MS = const(2)         # how often a full data-mode consumer is asked for room again
_IDLE_MS = const(50)        # silence after which a data-mode consumer gives up a held prefix
BASE_FINALS = (
    b'OK', OK,
    b'ERROR', FAIL,
    b'+CME ERROR:', FAIL + _MORE,
    b'+CMS ERROR:', FAIL + _MORE,
    b'NO CARRIER', FAIL,
    b'CONNECT', OK,
    b'CONNECT ', OK + _MORE,         # CONNECT <rate or text>
    b'NO DIALTONE', FAIL,
    b'BUSY', FAIL,
    b'NO ANSWER', FAIL,
)


class Fields(object):
    """Field access on a line `buf[s:e]` of the form `+NAME: a,"b",3`, numbers without
    allocating. Field k counts from the first character after ': ' (or the line start)."""

    def _span(self, buf, s, e, k):
        # Sets self._a/self._b to field k's bounds; a tuple result would cost an allocation.
        i = buf.find(b': ', s, e)
        i = s if i < 0 else i + 2
        quoted = False
        start = i
        while i < e:
            c = buf[i]
            if c == 34:                       # '"'
                quoted = not quoted
            elif c == 44 and not quoted:      # ','
                if k == 0:
                    break
                k -= 1
                start = i + 1
            i += 1
        if k > 0:
            return False
        while start < i and buf[start] == 32:
            start += 1
        self._a = start
        self._b = i
        return True

    def _num(self, buf, s, e, k, default):
        if not self._span(buf, s, e, k):
            return default
        a = self._a
        b = self._b
        sign = 1
        v = 0
        digits = 0
        if a < b and buf[a] == 45:            # '-'
            sign = -1
            a += 1
        while a < b:
            c = buf[a]
            if 48 <= c <= 57:
                v = v * 10 + c - 48
                digits += 1
            elif c != 34 and c != 32:
                return default
            a += 1
        return sign * v if digits else default

    def _text(self, buf, s, e, k):
        if not self._span(buf, s, e, k):
            return None
        a = self._a
        b = self._b
        if b - a >= 2 and buf[a] == 34 and buf[b - 1] == 34:
            a += 1
            b -= 1
        return bytes(buf[a:b]).decode()


class Line(Fields):
    """The line a URC handler receives: the channel's buffer, valid during the call only."""

    def __init__(self, buf):
        self.buf = buf
        self.n = 0
        self._a = self._b = 0    # field bounds scratch (see Fields._span)

    def startswith(self, prefix):
        return len(prefix) <= self.n and self.buf.startswith(prefix)

    def num(self, k, default=None):
        return self._num(self.buf, 0, self.n, k, default)

    def text(self, k):
        return self._text(self.buf, 0, self.n, k)

    def bytes(self):
        return bytes(self.buf[:self.n])


class Response(Fields):
    """Outcome of an exchange: status, the modem's error code/text, intermediate lines."""

    def __init__(self, max_lines, store_bytes, final_bytes=64):
        self.status = OK
        self.code = -1           # number after '+CME ERROR: ' (or a dialect's error prefix)
        self.nlines = 0
        self.dropped = 0         # lines beyond max_lines or the store
        self.nraw = 0            # binary payload bytes written to the command's sink
        self.overflow = 0        # payload bytes that did not fit the sink (discarded)
        self._store = bytearray(store_bytes)
        self._off = [0] * (max_lines + 1)
        self._final = bytearray(final_bytes)
        self._nfinal = 0
        self._a = self._b = 0

    def _reset(self):
        self.status = OK
        self.code = -1
        self.nlines = 0
        self.dropped = 0
        self.nraw = 0
        self.overflow = 0
        self._nfinal = 0

    def _add(self, buf, n):
        k = self.nlines
        start = self._off[k]
        if k + 1 >= len(self._off) or start + n > len(self._store):
            self.dropped += 1
            return False
        store = self._store
        for i in range(n):
            store[start + i] = buf[i]
        self._off[k + 1] = start + n
        self.nlines = k + 1
        return True

    def _set_final(self, buf, n):
        cap = len(self._final)
        if n > cap:
            n = cap
        f = self._final
        for i in range(n):
            f[i] = buf[i]
        self._nfinal = n

    def _check(self, i):
        if i < 0 or i >= self.nlines:
            raise IndexError('response has %d lines' % self.nlines)

    def line(self, i):
        self._check(i)
        return bytes(self._store[self._off[i]:self._off[i + 1]])

    def lines(self):
        return [self.line(i) for i in range(self.nlines)]

    def num(self, i, k=0, default=None):
        """Integer field k of line i, without allocating."""
        self._check(i)
        return self._num(self._store, self._off[i], self._off[i + 1], k, default)

    def text(self, i, k=0):
        """Field k of line i as a str, without its quotes (None if the line has no field k)."""
        self._check(i)
        return self._text(self._store, self._off[i], self._off[i + 1], k)

    def final(self):
        return bytes(self._final[:self._nfinal])

    def final_is(self, text):
        """Whether the final result code was exactly `text`, without allocating."""
        return self._nfinal == len(text) and self._final.startswith(text)

    def error(self):
        """What went wrong, for messages: the modem's final text for FAIL ('ERROR',
        '+CME ERROR: 552'...), 'timeout', or the unexpected outcome."""
        if self.status == TIMEOUT:
            return 'timeout'
        text = bytes(self._final[:self._nfinal]).decode()
        if self.status == FAIL:
            return text
        return 'unexpected %s %s' % (STATUS_NAMES[self.status], text)


class Cmd(object):
    """One AT exchange as data. The text lives in a bytearray so it can be rebuilt in place:
        QIRD = Cmd(size=24, expect=b'+QIRD:', sink=buf)
        QIRD.clear().add(b'AT+QIRD=').add(conn_id).add(b',1500')
    """

    # The options most commands leave unset stay on the class until one sets them: each field
    # an instance sets costs 16 bytes or more in its attribute table.
    expect = None                 # prefix of this command's own response lines
    prompt = NO_PROMPT
    sink = None                   # bytearray/memoryview for a length-prefixed payload
    length_field = 0              # which field of the `expect` line holds the length
    put = None                    # or put(buf, start, end) receives the payload
    stream = None                 # consumer of an open-ended stream its OK opens
    body = None                   # consumer of an answer that starts with payload, not lines
    hold = False                  # that stream owns the UART: no command starts until release()

    def __init__(self, text=None, timeout_ms=1000, expect=None, prompt=NO_PROMPT,
                 sink=None, length_field=0, size=None, put=None, stream=None):
        if size is None:
            size = len(text) if text is not None else 32
        self.buf = bytearray(size)
        self.n = 0
        self.timeout_ms = timeout_ms
        if expect is not None:
            self.expect = expect
        if prompt != NO_PROMPT:
            self.prompt = prompt
        if sink is not None:
            self.sink = sink
        if length_field:
            self.length_field = length_field
        if put is not None:
            self.put = put
        if stream is not None:
            self.stream = stream
        self.task = None                  # the task waiting for it
        self.nxt = None                   # link in the channel's queue
        if text is not None:
            self.add(text)

    def clear(self):
        self.n = 0
        return self

    def add(self, x):
        """Append bytes, a str (ASCII) or a non-negative int, in place."""
        if isinstance(x, int):
            return self._add_int(x)
        if isinstance(x, str):
            x = x.encode()
        n = self.n
        if n + len(x) > len(self.buf):
            raise ValueError('command longer than its buffer (%d bytes)' % len(self.buf))
        buf = self.buf
        for i in range(len(x)):
            buf[n + i] = x[i] if not isinstance(x[i], str) else ord(x[i])
        self.n = n + len(x)
        return self

    def _add_int(self, v):
        if v < 0:
            raise ValueError('negative number in a command')
        digits = 1
        p = 10
        while v >= p:
            digits += 1
            p *= 10
        n = self.n
        if n + digits > len(self.buf):
            raise ValueError('command longer than its buffer (%d bytes)' % len(self.buf))
        buf = self.buf
        i = n + digits - 1
        while i >= n:
            buf[i] = 48 + v % 10
            v //= 10
            i -= 1
        self.n = n + digits
        return self

    def text(self):
        return bytes(self.buf[:self.n]).decode()

    def name(self):
        """The command without its arguments, for logs: arguments may carry a password."""
        return self.text().split('=')[0]


class Channel(object):
    # Counters, on the class until the first count (an instance field costs RAM in every
    # channel, a class of its own more).
    overlong = 0            # lines longer than the line buffer (dropped)
    garbage = 0             # lines with bytes no modem prints (dropped)
    unsolicited = 0         # lines nobody expected (no command, no URC handler)
    timeouts = 0
    handler_errors = 0      # URC handlers that raised (logged, channel unaffected)
    _hold = False           # hold(): no command starts until release() or _hold_end
    _hold_end = 0
    held = False            # a data mode owns the UART (Cmd.hold): commands queue meanwhile
    stream_room = None      # with held: free bytes of its consumer (a function, set by it)
    stream_idle = None      # with held: stream_idle(False) says the consumer holds bytes back,
                            # stream_idle(True) after _IDLE_MS of silence makes it give them

    def __init__(self, sched, uart, line_bytes=256, max_lines=12, store_bytes=512,
                 chunk_bytes=64, finals=BASE_FINALS, log=None):
        self.sched = sched
        self.uart = uart
        self._line = bytearray(line_bytes)
        self._ln = 0
        self._bad = False          # current line overflowed or held garbage
        self.line = Line(self._line)
        self.resp = Response(max_lines, store_bytes)
        self._chunk = bytearray(chunk_bytes)
        self._finals = list(finals)
        self._urcs = []
        self._head = None          # queued Cmds (linked through Cmd.nxt)
        self._tail = None
        self._cur = None           # the Cmd in flight
        self._state = _IDLE
        self._deadline = 0
        self._gt = 0               # '>' seen at the start of a line while a prompt is expected
        self._prompted = False     # this exchange had its prompt: a later '>' is only text
        self._stale = False        # the line being read began before the command was written
        self._skip_space = False
        self._raw_left = 0         # payload bytes still to read after a length header
        self._raw_fn = None        # or a URC handler's consumer for them
        self._skip_lf = False      # a header ended on CR: its LF is not payload
        self._reader = None        # the task running run()
        self._answered = None      # the task last handed the Response, until it has run
        self.log = log if log is not None else _print_log

    # -- configuration ---------------------------------------------------------------------
    def add_final(self, text, status, prefix=False):
        """A dialect's extra final result code, e.g. (b'SEND OK', OK) or (b'#CME ERROR:', FAIL,
        True)."""
        self._finals.append(text)
        self._finals.append(status + _MORE if prefix else status)

    def on(self, prefix, handler, idle=False):
        """Call handler(line) for every unsolicited line starting with `prefix`. With idle=True
        only while no command waits for its answer; then the line is that command's (e.g. an
        error a module also prints unsolicited)."""
        self._urcs.append(prefix)            # flat triples: no tuple per handler
        self._urcs.append(handler)
        self._urcs.append(idle)

    def read_raw(self, n, consumer):
        """From a URC handler: the next n bytes are payload, handed to consumer(buf, start, end)
        in pieces, bypassing line parsing (e.g. Quectel direct push '+QIURC: "recv",0,4').
        n < 0: an open-ended stream (a data mode); the consumer returns None while it goes on,
        or how many of the bytes handed to it it used once its stream ended (e.g. on an end
        marker); the bytes after those are parsed as lines again. read_raw(0, None) stops it."""
        self._raw_left = n
        self._raw_fn = consumer

    def hold(self, ms):
        """Start no command for ms, or until release(): the module still owes a line that
        ends something no command of ours started (Wavecom: the OK after the ETX and
        OK_Info_SocketClosed of a data mode's end), and the next command would take it for its
        answer. Called by a URC handler or a stream consumer, in the reader task, as the line
        or byte that starts the wait is parsed; the handler (idle=True) of the owed line
        calls release(). On expiry the queued commands go ahead."""
        self._hold = True
        self._hold_end = ticks_add(self.sched.clock.ticks_ms(), ms)

    def release(self):
        """Commands may start again: the line a hold() waited for came, or a data mode that held
        the UART (Cmd.hold) gave it back (its stream must have ended: the consumer's end marker,
        or read_raw(0, None))."""
        self._hold = False
        self.held = False
        if self._reader is not None:
            self.sched.wake(self._reader, False)   # it may wait on the UART with no deadline

    # -- commands (called from tasks: `resp = yield chan.send(cmd)`) ----------------------
    def send(self, cmd):
        """Queue cmd; the calling task resumes with the Response when the exchange ends."""
        sched = self.sched
        r = self._reader
        if r is not None and r.done():
            # The reader ended anyway (e.g. out of memory in a crowded heap): without it no
            # exchange would end, not even by its deadline, and every task would wait for ever.
            self.log('at: reader ended (%r), started again' % (r.exc,))
            self._reader = sched.spawn(self.run(), 'at-rx', parent=False)
        me = sched._current()
        cmd.task = me
        cmd.nxt = None
        held = self._answered
        if held is not None and (held is me or held.state != READY):
            held = self._answered = None       # it has run since: its Response was read
        if (self._cur is None and self._head is None and not self._hold and not self.held
                and (held is None or held.state != READY)):
            self._start(cmd)
        else:
            # Behind a command in flight, a hold(), or a Response its task has not read yet (it
            # waits in the ready queue): starting now would reset that Response under it. The
            # reader starts this one after letting the answered task run, or when the hold ends.
            if self._cur is None and self._reader is not None:
                sched.wake(self._reader, False)    # it may be waiting without a deadline
            self._queue(cmd)
        sched.suspend(self)
        return WAIT

    def _queue(self, cmd):
        if self._tail is None:
            self._head = self._tail = cmd
        else:
            self._tail.nxt = cmd
            self._tail = cmd

    def send_data(self, data, n=None, timeout_ms=None, cancel=False, off=0, more=None, mn=0,
                  moff=0):
        """After a PROMPT response: write data[off:off+n] (or ESC when cancel) and wait for the
        final result code (e.g. SEND OK). data may be a ring: n bytes from off that pass its
        end go on from its start, in the same command. Then more[moff:moff+mn], if mn (the
        bytes that followed the ring's). `timeout_ms` defaults to the command's. A task that
        gets a prompt must call this within the command's timeout from the prompt, or the
        channel cancels the prompt itself; called without an open prompt it raises
        OSError(EIO), the error services' reconnect paths catch (the channel knows no socket
        errors: sock.NetError is an OSError)."""
        cmd = self._cur
        if cmd is None or self._state != _DATA:
            raise OSError(5, 'send_data() without an open prompt')   # EIO
        me = self.sched._current()
        cmd.task = me
        self._state = _SENT
        self.resp._reset()
        if cancel:
            self.uart.write(_ESC)
        else:
            end = len(data) - off
            if n is None or n <= end:
                if n is None or n:
                    self.uart.write(data, end if n is None else n, off)
            else:
                self.uart.write(data, end, off)
                self.uart.write(data, n - end, 0)
            if mn:
                self.uart.write(more, mn, moff)
        self._deadline = ticks_add(self.sched.clock.ticks_ms(),
                                   cmd.timeout_ms if timeout_ms is None else timeout_ms)
        self.sched.wake(self._reader, False)
        self.sched.suspend(self)
        return WAIT

    def remove(self, task):
        """The scheduler calls this when a waiting task is cancelled: forget its command. A
        command already written still runs to its end; nobody receives the response."""
        prev = None
        c = self._head
        while c is not None:
            if c.task is task:
                if prev is None:
                    self._head = c.nxt
                else:
                    prev.nxt = c.nxt
                if self._tail is c:
                    self._tail = prev
                c.task = None
                return True
            prev = c
            c = c.nxt
        if self._cur is not None and self._cur.task is task:
            self._cur.task = None
            if self._state == _DATA:
                self._abort_data_phase()
            return True
        return False

    def busy(self):
        return self._cur is not None

    # -- the reader task -------------------------------------------------------------------
    def run(self):
        """The task that reads the UART; spawn it once per channel."""
        sched = self.sched
        uart = self.uart
        chunk = self._chunk
        self._reader = sched.cur
        full = False
        while True:
            if self._hold:
                left = ticks_diff(self._hold_end, sched.clock.ticks_ms())
                if left <= 0:
                    self._hold = False
                    self.log('at: the line a hold waited for did not come')
                    continue
                if self._cur is None:
                    yield sched.readable(uart, left)
                    n = uart.readinto(chunk)
                    if n:
                        self._feed(chunk, n)
                    continue
            if self._cur is None and self._head is not None and not self.held:
                # The next command would reuse the Response: let the task just answered run
                # first (it is ahead of us in the ready queue).
                yield
                self._answered = None
                if self._cur is None:
                    self._start_next()
                continue
            if self.held and self._raw_left < 0 and self.stream_room() < len(chunk):
                # the data mode's consumer is full: the bytes stay in the UART, whose flow
                # control (RTS/CTS) holds the module, until the application reads (woken by
                # the bytes just given, it may be next in the ready queue)
                if full:
                    yield sched.sleep_ms(_FULL_MS)
                else:
                    yield
                full = True
                continue
            full = False
            if self._cur is not None:
                left = ticks_diff(self._deadline, sched.clock.ticks_ms())
                if left <= 0:
                    # Bytes received by the deadline count first: they may end the exchange,
                    # or open a prompt (which re-arms the deadline). Only what is there now
                    # is read, so a chattering line cannot hold the expiry off.
                    k = uart.any()
                    while k > 0:
                        n = uart.readinto(chunk)
                        if not n:
                            break
                        self._feed(chunk, n)
                        k -= n
                    if self._cur is not None and \
                            ticks_diff(self._deadline, sched.clock.ticks_ms()) <= 0:
                        self._expire()
                    continue
                yield sched.readable(uart, left)
            elif self.held and self._raw_left < 0 and self.stream_idle(False):
                # the consumer holds bytes that may begin its end marker: if nothing follows
                # soon they were payload (a module prints its result code in one go)
                if not (yield sched.readable(uart, _IDLE_MS)):
                    self.stream_idle(True)
                    continue
            else:
                yield sched.readable(uart)
            n = uart.readinto(chunk)
            k = _STREAM_READS
            while n:
                self._feed(chunk, n)
                # in a data mode (held) the line runs without pauses: take what has come, up
                # to a bound and to the consumer's room, before other tasks run (one chunk a
                # turn would fall behind)
                k -= 1
                if not k or not self.held or self._raw_left >= 0 or \
                        self.stream_room() < len(chunk):
                    break
                n = uart.readinto(chunk)

    # -- internals -------------------------------------------------------------------------
    def _start_next(self):
        cmd = self._head
        if cmd is not None:
            self._head = cmd.nxt
            if self._head is None:
                self._tail = None
            cmd.nxt = None
            self._start(cmd)

    def _start(self, cmd):
        self._cur = cmd
        self._state = _SENT
        self._gt = 0
        self._prompted = False
        # what is already in the line buffer came before the command: it can end as a URC,
        # never as this command's answer (a final whose CR LF was lost, then our OK)
        self._stale = self._ln > 0
        self.resp._reset()
        self.uart.write(cmd.buf, cmd.n)
        self.uart.write(_CR)
        if cmd.body is not None:
            # an answer with no header line before its payload (Telit #HTTPRCV, IP Easy
            # s10.4.1): every byte from here on is the consumer's, as in read_raw(-1), until it
            # returns how many it used; the final result code after them is parsed as a line
            self.read_raw(-1, cmd.body)
        self._deadline = ticks_add(self.sched.clock.ticks_ms(), cmd.timeout_ms)
        if self._reader is not None:
            self.sched.wake(self._reader, False)   # it may be waiting without a deadline

    def _expire(self):
        cmd = self._cur
        self.timeouts += 1
        self.log('at: %s timed out after %d ms' % (cmd.name(), cmd.timeout_ms))
        if self._state == _DATA:
            # The prompt's owner never sent its payload: cancel the prompt and let the modem's
            # answer to that end the exchange, so it is not taken for the next command's.
            self._abort_data_phase()
            self._deadline = ticks_add(self.sched.clock.ticks_ms(), cmd.timeout_ms)
            return
        self._ln = 0
        self._raw_left = 0
        self._complete(TIMEOUT)

    def _abort_data_phase(self):
        # ESC cancels a pending prompt (Quectel QISEND, Telit #SSEND); the exchange then ends
        # on whatever final result code the modem gives.
        self.uart.write(_ESC)
        self._state = _SENT

    def _complete(self, status):
        cmd = self._cur
        resp = self.resp
        resp.status = status
        task = cmd.task
        cmd.task = None
        if status == PROMPT:
            self._prompted = True
            # The prompt's owner gets the command's timeout from now to send its data: the
            # outcome just delivered must not expire with the old deadline (a prompt read in
            # the reader pass that reaches the deadline).
            self._state = _DATA
            self._deadline = ticks_add(self.sched.clock.ticks_ms(), cmd.timeout_ms)
        else:
            self._cur = None
            self._state = _IDLE
            self._answered = task
        if task is not None:
            self.sched.wake(task, resp)

    def _feed(self, chunk, n):
        i = 0
        line = self._line
        cap = len(line)
        while i < n:
            if self._raw_left:
                if self._skip_lf:
                    self._skip_lf = False
                    if chunk[i] == 10:        # the LF of the header line's CR LF
                        i += 1
                        continue
                i = self._take_raw(chunk, i, n)
                continue
            c = chunk[i]
            i += 1
            if c == 13 or c == 10:
                if self._ln or self._bad:
                    self._line_end()
                    self._skip_lf = c == 13 and self._raw_left != 0
                continue
            if self._ln == 0:
                if self._skip_space:
                    self._skip_space = False
                    if c == 32:
                        continue
                if (c == 62 and self._state == _SENT and self._cur.prompt
                        and not self._prompted):                           # '>'
                    self._gt += 1
                    if self._gt >= self._cur.prompt:
                        self._gt = 0
                        self._skip_space = True
                        self._complete(PROMPT)
                    continue
                self._gt = 0
            if c < 32 and c != 9 or c > 126:
                self._bad = True
            if self._ln < cap:
                line[self._ln] = c
                self._ln += 1
            elif not self._bad:
                self._bad = True
                self.overlong += 1

    def _take_raw(self, chunk, i, n):
        take = n - i
        fn = self._raw_fn
        if self._raw_left < 0:
            used = fn(chunk, i, n)
            if used is None:
                return n
            self._raw_left = 0        # the stream ended: back to lines
            self._raw_fn = None
            return i + used
        if take > self._raw_left:
            take = self._raw_left
        if fn is not None:
            fn(chunk, i, i + take)
        else:
            self._sink_raw(chunk, i, take)
        self._raw_left -= take
        if not self._raw_left:
            self._raw_fn = None
        return i + take

    def _sink_raw(self, chunk, i, take):
        resp = self.resp
        cmd = self._cur
        if cmd is not None and cmd.put is not None:
            cmd.put(chunk, i, i + take)
            resp.nraw += take
            return
        sink = cmd.sink if cmd is not None else None
        room = 0 if sink is None else len(sink) - resp.nraw
        k = take if take <= room else room
        off = resp.nraw
        for j in range(k):
            sink[off + j] = chunk[i + j]
        resp.nraw = off + k
        resp.overflow += take - k

    def _line_end(self):
        n = self._ln
        self._ln = 0
        stale = self._stale
        self._stale = False
        line = self._line
        if self._bad:
            self._bad = False
            if n >= len(line):
                self.log('at: dropped a line longer than %d bytes' % len(line))
            else:
                self.garbage += 1
                self.log('at: dropped a garbled line (%d bytes)' % n)
            return
        while n and line[n - 1] == 32:
            n -= 1
        if not n:
            return
        self.line.n = n
        cmd = None if stale else self._cur
        sent = cmd is not None and self._state == _SENT
        if sent:
            if (self.resp.nlines == 0 and n >= 2 and line[0] | 32 == 97
                    and line[1] | 32 == 116):
                return            # the echo of our own command ("AT...")
            exp = cmd.expect
            if exp is not None and len(exp) <= n and line.startswith(exp):
                self._response_line(cmd, n)
                return
        urcs = self._urcs
        for j in range(0, len(urcs), 3):
            prefix = urcs[j]
            if len(prefix) <= n and line.startswith(prefix) and not (urcs[j + 2] and sent):
                try:
                    urcs[j + 1](self.line)
                except Exception as e:
                    self.handler_errors += 1
                    self.log('at: URC handler for %r failed: %r' % (prefix, e))
                return
        if cmd is not None:
            # A final result code while a prompt is open (_DATA) means the module gave the
            # prompt up by itself (QL section 2.1.15, qisend/timeout, "AT+QISEND command will be
            # exited"): the exchange is over, and data sent now would land in command mode.
            finals = self._finals
            for j in range(0, len(finals), 2):
                text = finals[j]
                how = finals[j + 1]
                ln = len(text)
                if (n == ln or how & _MORE and n > ln) and line.startswith(text):
                    self._final(how & 3, ln, n)
                    return
            if sent:
                self._response_line(cmd, n)
                return
        self.unsolicited += 1
        # at most 40 bytes of it: a garbled line can be as long as the line buffer, and its
        # copy and repr in one piece are more than a fragmented 64K heap may have
        self.log('at: unsolicited %r' % bytes(line[:n if n < 40 else 40]))

    def _response_line(self, cmd, n):
        resp = self.resp
        if not resp._add(self._line, n):
            self.log('at: %s: response line dropped (store full)' % cmd.name())
        if ((cmd.sink is not None or cmd.put is not None) and cmd.expect is not None
                and self.line.startswith(cmd.expect)):
            size = self.line.num(cmd.length_field, 0)
            if size > 0:
                self._raw_left = size
                self._raw_fn = None

    def _final(self, status, ln, n):
        resp = self.resp
        resp._set_final(self._line, n)
        if status == FAIL and n > ln:
            resp.code = resp._num(self._line, ln, n, 0, -1)
        elif status == OK and self._cur.stream is not None:
            # the bytes right after this line are the stream (V.250 CONNECT, a data mode)
            self.read_raw(-1, self._cur.stream)
            if self._cur.hold:
                self.held = True
        self._complete(status)


def _print_log(msg):
    print('modemkit.' + msg)
