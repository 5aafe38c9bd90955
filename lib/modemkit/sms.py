"""SMS on every dialect through the AT channel (3GPP TS 27.005, PDU mode: the same commands on
Quectel, Telit and Wavecom modules; no text-mode character set to agree on).

    sms = Sms(modem)                       # after modem = Quectel(...) / Telit / Wavecom
    sms.start()                            # the receiving task
    mrs = yield sms.send('+15551234', 'hello')        # GSM 7-bit, UCS-2 or concatenated
    yield sms.send_data('+15551234', b'\\x01\\x02')     # 8-bit data
    msg = yield sms.recv(30000)            # a Message, or None on timeout

Receiving: `+CMTI` (AT+CNMI=2,1) names the index, the task reads it (AT+CMGR), deletes it
(AT+CMGD) and puts the message in the inbox; at start, and every `poll_ms`, AT+CMGL=4 lists what
the SIM already holds (an indication lost in a reboot is found again). The PDU line of +CMGR is
taken as a stream straight into a 176-byte buffer (it can be 350 hex characters, more than an AT
line buffer holds).

Wavecom modules take no AT command while a TCP session holds the port in its data mode (C.3;
neither manual has an escape that keeps the session): then receiving waits, messages stay on
the SIM (their +CMTI is kept by the module until the session ends, 27.005 s3.4.1 +CNMI mode 2),
and send() waits up to its timeout. `window_ms` bounds that wait: a session that has held the
port that long while SMS work waits is ended between two writes (`modem.end_session()`), the
exchange runs, and its owner sees the socket Closed and opens another (an MQTT client
reconnects; with QoS 1 nothing is lost); a listener waiting for its client is stopped. None
(the default) waits for the session to end.
While SMS commands run, the Wavecom port is lent to them (`modem.hold` is 'sms'), so a socket
opened meanwhile waits for them instead of having its data mode take their command bytes.

The SIM's store (modemkit.smsstore, loaded only by what uses it): write() stores a message
(AT+CMGW), send_stored() sends it (AT+CMSS), delete(), memory(). A full store makes write()
raise SmsFull (+CMS ERROR: 322); a message arriving for a full SIM is not stored and not
indicated (the network keeps it, 23.040 s3.3.2) until a slot frees, when it comes as usual.
The receiving task reads and deletes only received messages (stat 0 and 1 in AT+CMGL).

Memory and overflow: the inbox holds `inbox` messages; while it is full nothing more is read,
so messages wait on the SIM. A concatenated message is reassembled from at most `max_parts`
parts (one with more is refused: counted in `refused`, logged, deleted); at most `pending`
messages are reassembled at once (a new one drops the oldest: `dropped`). Errors: SmsError with
the +CMS ERROR code (-1 for a bare ERROR or a timeout); SmsFull, a SmsError, for 322.
"""
from modemkit import at, gsm7, smspdu
from modemkit.modem import REGISTER, READY
from modemkit.sched import Event, Return

_HEX = bytearray(b'0123456789ABCDEF')
_CMTI = b'+CMTI:'
_CMGR = b'+CMGR:'
_CMGL = b'+CMGL:'
_CMGS = b'+CMGS:'
_CMGW = b'+CMGW:'


class SmsError(Exception):
    """A 27.005 command failed: `code` is the +CMS ERROR number (s3.2.5; 321 invalid index,
    322 memory full, 331 no network service...), -1 for a bare ERROR or a timeout."""

    def __init__(self, code, text):
        super(SmsError, self).__init__(text)
        self.code = code


class SmsFull(SmsError):
    """+CMS ERROR: 322, memory full (27.005 s3.2.5): the SIM's store has no free slot."""


# s3.2.5 texts a module prints with +CMEE=2 (the Telit driver sets it), for their codes
_TEXTS = ('|302 operation not allowed|303 operation not supported|304 invalid pdu mode '
          'parameter|305 invalid text mode parameter|310 sim not inserted|311 sim pin required|'
          '313 sim failure|314 sim busy|320 memory failure|321 invalid memory index|'
          '322 memory full|330 smsc address unknown|331 no network service|'
          '332 network timeout|')


def _error(r, what):
    """The typed error of a failed exchange: SmsFull for 322, else SmsError with the code."""
    code = -1
    text = r.error()
    if r.status == at.FAIL:
        code = r.code
        k = text.find(': ')
        if code < 0 and k > 0:
            i = _TEXTS.find(' ' + text[k + 2:].lower() + '|')
            if i > 0:
                code = int(_TEXTS[i - 3:i])
    return (SmsFull if code == 322 else SmsError)(code, '%s: %s' % (what, text))


class Message(object):
    """A received SMS: sender, timestamp (yy, mm, dd, hh, mm, ss, tz_quarters), text (str) or
    data (bytes, 8-bit messages), parts."""

    def __init__(self, sender, timestamp, text, data, parts):
        self.sender = sender
        self.timestamp = timestamp
        self.text = text
        self.data = data
        self.parts = parts


class Sms(object):
    refused = 0          # concatenated messages with more than max_parts parts
    dropped = 0          # partial messages given up for a newer one
    bad = 0              # PDUs that did not decode (deleted)
    _last_refused = None
    _retry = -1          # the index read once more after a PDU that did not decode
    window_ms = None     # Wavecom: end a session that held SMS work up this long

    def __init__(self, modem, inbox=4, max_parts=4, pending=2, poll_ms=60000, slots=32,
                 window_ms=None):
        self.modem = modem
        self.sched = modem.sched
        self.chan = modem.chan
        self.max_parts = max_parts
        self.poll_ms = poll_ms
        if window_ms is not None:        # (an instance field only when set: RAM is tight)
            self.window_ms = window_ms
        self._inbox_max = inbox
        self._pending_max = pending
        self._slots = slots
        self.inbox = []
        self._partial = []               # [sender, ref, total, [bodies]]
        self._indexes = []               # SIM indexes to read
        # one buffer: a received PDU (binary, 176 bytes at most), or the hex of one to send
        # with its Ctrl-Z, written once the prompt shows (then no +CMGR streams into it)
        self._pdu = bytearray(2 * smspdu.MAX_PDU + 1)
        self._pn = 0                     # hex digits taken
        self._seen = False               # the PDU line has begun
        self._sink = 0                   # 0 none, 1 read a PDU, 2 discard (a listing), 3 bad
        self._rc = at.Cmd(size=24, timeout_ms=5000)
        self._sc = at.Cmd(size=16, timeout_ms=60000, prompt=at.PROMPT_GT)
        self._ref = 0
        self._sending = False
        self._ok = False                 # PDU mode and indications set up
        self.new = Event(self.sched)     # an index to read
        self.got = Event(self.sched)     # a message in the inbox
        self.room = Event(self.sched)    # the inbox has room
        self.room.set()
        self.chan.on(_CMTI, self._on_cmti)
        self.chan.on(_CMGR, self._on_head)
        self.chan.on(_CMGL, self._on_head)

    def start(self):
        self.sched.spawn(self._run(), 'sms', parent=False)

    # -- AT exchanges ----------------------------------------------------------------------
    def _free(self, timeout_ms):
        # Wavecom: while a session holds the port in its data mode (`modem.hold`) the module
        # takes no AT command (C.3); messages wait on the SIM until the session ends, or until
        # window_ms, when the session is ended for them. Then the port is lent to this
        # exchange ('sms'): a socket opened meanwhile waits (Wavecom._ready).
        m = self.modem
        if not hasattr(m, 'hold'):
            return                         # a module that takes commands during sessions
        waited = 0
        while True:
            hold = m.hold
            if hold is None:
                m.hold = 'sms'
                return
            if hold == 'sms':
                return                     # lent to another SMS exchange already
            if timeout_ms is not None and waited >= timeout_ms:
                raise SmsError(-1, 'module busy with %r' % (hold,))
            if self.window_ms is not None and waited >= self.window_ms:
                m.log('sms: ending the session that held the port %d ms' % waited)
                yield m.end_session()
                waited = 0
                continue
            yield self.sched.sleep_ms(200)
            waited += 200

    def _back(self):
        # the first exchange to end gives the port back: one lent with it has its command
        # queued in the channel already (_free returns to it without waiting), ahead of any
        # socket's
        if getattr(self.modem, 'hold', None) == 'sms':
            self.modem.hold = None

    def _q(self, text, timeout_ms=5000, c=None):
        yield self._free(None)
        if c is None:
            c = self._rc
        try:
            c.clear().add(text)
            c.timeout_ms = timeout_ms
            r = yield self.chan.send(c)
        finally:
            self._back()
        if r.status != at.OK:
            raise _error(r, text)
        raise Return(r)

    def _setup(self):
        # 27.005 s3.2.3 PDU mode; s3.4.1 +CNMI=2,1: +CMTI for each stored message, kept by
        # the module while the line is in data mode
        yield self._q('AT+CMGF=0')
        # s3.2.2: read, write and receive in the SIM ("SM", which every module has), so the
        # index of a +CMTI is one AT+CMGR reads
        yield self._q('AT+CPMS="SM","SM","SM"')
        yield self._q('AT+CNMI=2,1,0,0,0')
        self._ok = True

    def _list(self):
        self._sink = 2
        try:
            yield self._q('AT+CMGL=4', 20000)
        finally:
            self._sink = 0
        self.new.set()

    def _sim_ready(self):
        st = self.modem.state
        return REGISTER <= st <= READY      # the SIM is ready (not off, rebooting, recovering)

    # -- URCs and the PDU stream (in the reader task: no waiting here) ----------------------
    def _on_cmti(self, line):
        self._add_index(line.num(1, -1))

    def _add_index(self, index):
        if index >= 0 and index not in self._indexes and len(self._indexes) < self._slots:
            self._indexes.append(index)
            self.new.set()

    def _on_head(self, line):
        if self._sink == 0:
            return                 # not ours: its PDU line is dropped as an unsolicited one
        if line.startswith(_CMGL) and line.num(1, -1) in (0, 1):
            # received (unread, read); a stored outgoing one (2, 3) is the application's
            self._add_index(line.num(0, -1))
        self._pn = 0
        self._seen = False
        self.chan.read_raw(-1, self._take)

    def _take(self, buf, i, n):
        pdu = self._pdu
        for j in range(i, n):
            c = buf[j]
            if c == 13 or c == 10:
                if self._seen:
                    return j - i   # the line ends: the CR goes back to the line parser
                continue
            self._seen = True
            if self._sink != 1:
                continue
            if 48 <= c <= 57:
                v = c - 48
            elif 65 <= c <= 70 or 97 <= c <= 102:
                v = (c | 32) - 87
            else:
                v = -1
            k = self._pn >> 1
            if v < 0 or k >= smspdu.MAX_PDU:
                self._sink = 3             # not hexadecimal, or longer than any PDU
                continue
            if self._pn & 1:
                pdu[k] = (pdu[k] << 4) | v
            else:
                pdu[k] = v
            self._pn += 1
        return None

    # -- receiving --------------------------------------------------------------------------
    def _run(self):
        while True:
            try:
                if not self._sim_ready():
                    self._ok = False
                    yield self.sched.sleep_ms(500)
                    continue
                if not self._ok:
                    yield self._setup()
                    yield self._list()
                if not (yield self.new.wait(self.poll_ms)):
                    yield self._list()
                self.new.clear()
                while self._indexes and self._ok:
                    yield self.room.wait()
                    # off the list first: deleting it may free the slot for a message that
                    # waited at the centre, whose +CMTI names the same index
                    yield self._read(self._indexes.pop(0))
            except SmsError as e:
                self.modem.log('sms: %s' % e)
                self._ok = False
                yield self.sched.sleep_ms(1000)

    def _read(self, index):
        self._sink = 1
        self._pn = 0
        try:
            r = yield self._q('AT+CMGR=%d' % index)
        except SmsError as e:
            if e.code != 321:          # gone already: nothing to read
                raise
            raise Return(None)
        finally:
            sink, self._sink = self._sink, 0
        got = self._pn // 2 if sink == 1 else 0
        p = None
        if got:
            try:
                p = smspdu.parse(self._pdu[:got])      # a copy, before the buffer is reused
                if p.kind != smspdu.DELIVER:
                    raise ValueError('not an SMS-DELIVER')
            except ValueError as e:
                p = None
                self.modem.log('sms: index %d: %s' % (index, e))
        if p is None:
            if self._retry != index:
                # a module that restarted may be back in text mode: set it up again and read
                # once more before giving the message up
                self._retry = index
                self._ok = False
                self._add_index(index)
                return
            self.bad += 1
        self._retry = -1
        yield self._q('AT+CMGD=%d' % index)
        if p is not None:
            self._arrived(p)

    def _arrived(self, p):
        cc = p.concat()
        if cc is None:
            self._deliver(p, [p.body()], 1)
            return
        ref, total, seq = cc
        if total > self.max_parts or not 1 <= seq <= total:
            if self._last_refused != (p.number, ref):      # count a message, not each part
                self._last_refused = (p.number, ref)
                self.refused += 1
                self.modem.log('sms: refused a %d-part message from %s (at most %d parts)'
                               % (total, p.number, self.max_parts))
            return
        entry = None
        for e in self._partial:
            if e[0] == p.number and e[1] == ref and e[2] == total:
                entry = e
        if entry is None:
            if len(self._partial) >= self._pending_max:
                old = self._partial.pop(0)
                self.dropped += 1
                self.modem.log('sms: gave up a partial message from %s' % old[0])
            entry = [p.number, ref, total, [None] * total]
            self._partial.append(entry)
        entry[3][seq - 1] = p.body()
        if None not in entry[3]:
            self._partial.remove(entry)
            self._deliver(p, entry[3], total)

    def _deliver(self, p, bodies, parts):
        body = bytearray()
        for b in bodies:
            body.extend(b)
        a = p.alphabet()
        if a == smspdu.DATA8:
            m = Message(p.number, p.timestamp, None, bytes(body), parts)
        else:
            text = gsm7.decode(body) if a == smspdu.GSM7 else gsm7.ucs2_decode(body)
            m = Message(p.number, p.timestamp, text, None, parts)
        self.inbox.append(m)
        if len(self.inbox) >= self._inbox_max:
            self.room.clear()
        self.got.set()

    def recv(self, timeout_ms=None):
        """The next received Message, or None after timeout_ms."""
        if not self.inbox:
            self.got.clear()
            if not (yield self.got.wait(timeout_ms)):
                raise Return(None)
        m = self.inbox.pop(0)
        if not self.inbox:
            self.got.clear()
        self.room.set()
        raise Return(m)

    # -- sending ----------------------------------------------------------------------------
    def send(self, number, text, timeout_ms=60000):
        """Send a text: GSM 7-bit when every character is in the default alphabet, else UCS-2;
        in concatenated parts (at most max_parts) when long. Returns the message references."""
        alpha, body = smspdu.text_body(text)
        r = yield self._send(number, alpha, body, timeout_ms)
        raise Return(r)

    def send_data(self, number, data, timeout_ms=60000):
        """Send 8-bit data (DCS 0x04), in concatenated parts when longer than 140 bytes."""
        r = yield self._send(number, smspdu.DATA8, bytearray(data), timeout_ms)
        raise Return(r)

    def _send(self, number, alpha, body, timeout_ms, store=False):
        try:
            parts = smspdu.split(body, alpha, self.max_parts)
        except ValueError as e:
            raise SmsError(-1, str(e))
        smspdu.address(number)                 # ValueError now, not half-way through
        # one exchange at a time (inline: a generator less per message, as the heap is tight)
        waited = 0
        while self._sending or not self._ok:
            if waited >= timeout_ms:
                raise SmsError(-1, 'SMS not ready (module not registered to a SIM)')
            yield self.sched.sleep_ms(50)
            waited += 50
        self._sending = True
        try:
            self._ref = (self._ref + 1) & 0xFF
            mrs = []
            for seq in range(len(parts)):
                udh = None
                if len(parts) > 1:
                    udh = smspdu.concat_header(self._ref, len(parts), seq + 1)
                ud, udl = smspdu.user_data(parts[seq], alpha, udh)
                pdu = smspdu.submit(number, ud, udl, smspdu.DCS[alpha], udhi=udh is not None)
                mr = yield self._submit(pdu, timeout_ms, store)
                mrs.append(mr)
        finally:
            self._sending = False
        raise Return(mrs)

    def _submit(self, pdu, timeout_ms, store):
        # AT+CMGS (s3.5.1: answers +CMGS: <mr>) or AT+CMGW (s3.5.3: +CMGW: <index>)
        yield self._free(timeout_ms)
        try:
            c = self._sc
            c.clear().add(b'AT+CMGW=' if store else b'AT+CMGS=').add(smspdu.tpdu_length(pdu))
            c.expect = _CMGW if store else _CMGS       # its answer line
            c.timeout_ms = timeout_ms
            r = yield self.chan.send(c)
            if r.status == at.PROMPT:
                tx = self._pdu
                n = len(pdu)
                for i in range(n):
                    b = pdu[i]
                    tx[2 * i] = _HEX[b >> 4]
                    tx[2 * i + 1] = _HEX[b & 15]
                tx[2 * n] = 0x1A               # Ctrl-Z sends (27.005 s3.5.1)
                r = yield self.chan.send_data(tx, 2 * n + 1)
        finally:
            self._back()
        if r.status != at.OK:
            raise _error(r, 'AT+CMGW' if store else 'AT+CMGS')
        raise Return(r.num(0, 0, -1) if r.nlines else -1)
