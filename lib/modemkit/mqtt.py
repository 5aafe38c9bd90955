"""An MQTT 3.1.1 client over modemkit's socket interface, in bounded memory.

    c = MQTT(modem, 'broker.example', client_id='dev1', keepalive=60,
             will=('t/dev1/status', b'offline', 1, True), on_message=handler)
    c.start()                                  # the connection task: connect, read, reconnect
    yield c.wait_up(30000)
    pid = c.publish_nowait(b't/dev1/x', b'21.5')          # QoS 0: no waiting, no allocation
    yield c.publish(b't/dev1/x', b'21.5', qos=1)          # returns once PUBACK came

Packets are built in place: a QoS 0 publish writes its header, topic and payload straight into
the socket's transmit ring. QoS 1 messages stay in an in-flight window (`window` slots of
`max_packet` bytes) until their PUBACK, and are sent again with DUP after a reconnect. A packet
larger than `max_packet` is refused (PacketTooLarge) when publishing, and skipped when received,
keeping the connection. A peer that says nothing for 1.5 x keepalive is taken for dead.

PUBACK deadline: a QoS 1 message without its PUBACK after `ack_timeout_ms` (default 30 s) takes
the connection down (TimedOut), as mqtt_as does after its retries; the reconnection sends the
window again with DUP. On a healthy link a PUBACK takes a round trip; one that does not come was
lost (e.g. swallowed by an incoming PUBLISH cut short by lost bytes), and a message left waiting
would hold its window slot until some other reconnection.

Packets MQTT 3.1.1 calls malformed (reserved flags set, wrong remaining length, packet identifier
0, a received topic empty or with wildcards or U+0000...) raise ProtocolError and reset the
connection; reconnecting backs off (1 s doubling to `backoff_max_ms`, with jitter).
"""
from modemkit.port import const, ticks_add, ticks_diff
from modemkit.sched import Event, Return
from modemkit.sock import NetError, TimedOut, EOF, ECONNRESET

DOWN = 0
CONNECTING = 1
UP = 2
STATE_NAMES = ('down', 'connecting', 'up')

_CONNECT = const(0x10)
_CONNACK = const(0x20)
_PUBLISH = const(0x30)
_PUBACK = const(0x40)
_SUBSCRIBE = const(0x82)
_SUBACK = const(0x90)
_UNSUBSCRIBE = const(0xA2)
_UNSUBACK = const(0xB0)
_PINGREQ = const(0xC0)
_PINGRESP = const(0xD0)
_DISCONNECT = const(0xE0)

CONNACK_TEXT = ('accepted', 'unacceptable protocol version', 'identifier rejected',
                'server unavailable', 'bad user name or password', 'not authorized')


class MQTTError(Exception):
    pass


class ProtocolError(MQTTError):
    """The broker sent something MQTT 3.1.1 does not allow."""


class ConnectRefused(MQTTError):
    """CONNACK with a non-zero return code (MQTT 3.1.1 s3.2.2.3)."""


class PacketTooLarge(MQTTError):
    pass


class NotConnected(MQTTError):
    pass


def _put_str(buf, i, s):
    n = len(s)
    buf[i] = n >> 8
    buf[i + 1] = n & 0xFF
    for k in range(n):
        buf[i + 2 + k] = s[k]
    return i + 2 + n


class MQTT(object):
    # Fields most clients never set stay on the class until one does: the instance's own table
    # holds 37 (a step of MicroPython's table sizes: one more and it takes 47 slots, 160 bytes).
    _out = None                              # QoS 0 packets for dialects without a tx ring
    skipped = 0                              # incoming packets over max_packet, skipped
    last_error = None
    def __init__(self, modem, host, port=1883, client_id='modemkit', user=None, password=None,
                 keepalive=60, clean=True, will=None, on_message=None, on_ack=None,
                 max_packet=512, window=4, backoff_max_ms=60000, ack_timeout_ms=30000,
                 log=None):
        self.modem = modem
        self.sched = modem.sched
        self.host = host
        self.port = port
        self.client_id = _b(client_id)
        self.user = _b(user)
        self.password = _b(password)
        self.keepalive = keepalive
        self.clean = clean
        self.will = will
        self.on_message = on_message
        self.on_ack = on_ack
        self.max_packet = max_packet
        self.backoff_max_ms = backoff_max_ms
        self.ack_ms = ack_timeout_ms
        self.log = log if log is not None else modem.log
        self.state = DOWN
        self.sock = None
        self.up = Event(self.sched)
        self.acked = Event(self.sched)       # a PUBACK, SUBACK or UNSUBACK arrived
        self._rx = bytearray(max_packet)
        # the socket's rings, allocated now and reused by every connection: allocated at each
        # reconnect they would need contiguous room in a heap that has fragmented by then
        self._rings = (bytearray(modem.rx_size), bytearray(modem.tx_size) if modem.tx_size else 0)
        self._hdr = bytearray(5)             # fixed header + packet id scratch
        self._win_pid = [0] * window         # QoS 1 in flight: packet id (0 = free slot)
        self._win_len = [0] * window
        self._win_t = [0] * window           # when it was sent (ticks), for the PUBACK deadline
        self._win_buf = [bytearray(max_packet) for _ in range(window)]
        # publish()'s request: [its generator, busy, topic, msg, qos, retain, deadline]
        self._preq = [None, False, None, None, 0, False, None]
        self._pid = 0
        self._sub_pid = 0                    # SUBSCRIBE/UNSUBSCRIBE waiting for its ack
        self.subs = []                       # (topic, qos), sent again after a reconnect
        self._last_rx = 0
        self._last_tx = 0
        self._seed = 0
        self.connects = 0

    # -- sending ---------------------------------------------------------------------------
    def _room(self, n):
        s = self.sock
        return self._open() and s.tx is not None and len(s.tx) - s.tlen >= n

    def _open(self):
        # up, and the socket still takes data: the broker may have closed it (EOF) before
        # the reader, which then takes the connection down, has run
        s = self.sock
        return self.state == UP and s is not None and s.err is None and s.state < EOF

    def _now(self):
        return self.sched.clock.ticks_ms()

    def _next_pid(self):
        self._pid = self._pid % 65535 + 1
        return self._pid

    def _header(self, first, remaining):
        h = self._hdr
        h[0] = first
        i = 1
        while True:
            b = remaining & 0x7F
            remaining >>= 7
            h[i] = b | 0x80 if remaining else b
            i += 1
            if not remaining:
                return i

    def publish_nowait(self, topic, msg, qos=0, retain=False):
        """Queue a PUBLISH (topic and msg are bytes) if the client is up and the socket's
        transmit ring has room; returns the packet id (0 for QoS 0), or -1 (not up, no room,
        the QoS 1 window full, or a dialect without a transmit ring: use publish()).
        Allocates nothing."""
        remaining = self._check(topic, msg, qos)
        if qos and self._free_slot() < 0:
            return -1
        n = self._header(_PUBLISH | qos << 1 | (1 if retain else 0), remaining)
        if not self._room(n + remaining):
            return -1
        s = self.sock
        if qos == 0:
            s.write(self._hdr, n)
            h = self._hdr
            h[0] = len(topic) >> 8
            h[1] = len(topic) & 0xFF
            s.write(h, 2)
            s.write(topic)
            s.write(msg)
            self._last_tx = self._now()
            return 0
        slot = self._free_slot()
        pid = self._next_pid()
        k = self._build(self._win_buf[slot], n, topic, msg, pid)
        self._win_pid[slot] = pid
        self._win_len[slot] = k
        s.write(self._win_buf[slot], k)
        self._last_tx = self._win_t[slot] = self._now()
        return pid

    def _check(self, topic, msg, qos):
        if qos not in (0, 1):
            raise ValueError('QoS must be 0 or 1')
        remaining = 2 + len(topic) + len(msg) + (2 if qos else 0)
        if remaining + 5 > self.max_packet:
            raise PacketTooLarge('publish of %d bytes > max_packet %d'
                                 % (remaining, self.max_packet))
        return remaining

    def _build(self, buf, n, topic, msg, pid):
        """A PUBLISH whose fixed header (n bytes) is in self._hdr, into buf; its length."""
        for i in range(n):
            buf[i] = self._hdr[i]
        i = _put_str(buf, n, topic)
        if pid:
            buf[i] = pid >> 8
            buf[i + 1] = pid & 0xFF
            i += 2
        for k in range(len(msg)):
            buf[i + k] = msg[k]
        return i + len(msg)

    def _free_slot(self):
        for i in range(len(self._win_pid)):
            if not self._win_pid[i]:
                return i
        return -1

    def in_flight(self):
        n = 0
        for p in self._win_pid:
            if p:
                n += 1
        return n

    def publish(self, topic, msg, qos=0, retain=False, timeout_ms=None):
        """Publish, waiting for the connection and room; with qos=1, until its PUBACK.
        `yield` what it returns: the packet id. Allocates nothing while no other task is in
        a publish(): it hands out the same generator each time (_publisher)."""
        deadline = None if timeout_ms is None else ticks_add(self._now(), timeout_ms)
        req = self._preq
        if req[1]:
            # another task's publish is under way: a generator of its own (allocates)
            return self._publisher([None, True, topic, msg, qos, retain, deadline])
        req[1] = True
        req[2] = topic
        req[3] = msg
        req[4] = qos
        req[5] = retain
        req[6] = deadline
        if req[0] is None:
            req[0] = self._publisher(req)
        return req[0]

    def _publisher(self, req):
        # One generator serving every publish() of the client's life: a new generator per
        # call, with its frame and its `raise Return`, took about 420 bytes. It hands the
        # packet id back with sched.ret(), which leaves it suspended, not finished, and goes on
        # with the request in req when publish() hands it out again.
        try:
            while True:
                topic = req[2]
                msg = req[3]
                qos = req[4]
                while True:
                    if self._open() and self.sock.tx is None:
                        pid = yield self._publish_direct(topic, msg, qos, req[5])
                    else:
                        pid = self.publish_nowait(topic, msg, qos, req[5])
                    if pid >= 0:
                        break
                    yield self._wait(req[6], self.up if self.state != UP else self.sock.ev)
                while qos and pid in self._win_pid:
                    yield self._wait(req[6], self.acked)
                req[1] = False
                req[2] = req[3] = topic = msg = None     # not kept alive meanwhile
                yield self.sched.ret(pid)
        finally:
            # ended by an error, a cancel or close(): publish() makes a new one
            req[0] = req[2] = req[3] = None
            req[1] = False

    def _publish_direct(self, topic, msg, qos, retain):
        # dialects without a transmit ring (Wavecom's data mode): build, then send
        remaining = self._check(topic, msg, qos)
        slot = self._free_slot()
        if qos and slot < 0:
            raise Return(-1)
        n = self._header(_PUBLISH | qos << 1 | (1 if retain else 0), remaining)
        pid = self._next_pid() if qos else 0
        if qos:
            buf = self._win_buf[slot]
        else:
            if self._out is None:
                self._out = bytearray(self.max_packet)
            buf = self._out
        k = self._build(buf, n, topic, msg, pid)
        if qos:
            self._win_pid[slot] = pid
            self._win_len[slot] = k
        yield self.sock.send(buf, 30000, k)
        self._last_tx = self._now()
        if qos:
            self._win_t[slot] = self._last_tx
        raise Return(pid)

    def _send_packet(self, head, n, body, timeout_ms):
        """Queue head[:n] + body as one unit: other tasks' packets never land in between."""
        s = self.sock
        total = n + (len(body) if body is not None else 0)
        if s.tx is None:
            yield s.send(head, timeout_ms, n)
            if body is not None:
                yield s.send(body, timeout_ms)
        else:
            deadline = ticks_add(self._now(), timeout_ms)
            while len(s.tx) - s.tlen < total:
                yield s._wait_tx(max(1, ticks_diff(deadline, self._now())))
            s.write(head, n)
            if body is not None:
                s.write(body)
        self._last_tx = self._now()

    def _wait(self, deadline, ev):
        # a wait for `yield`, not a generator: one frame fewer while publish() waits
        ev.clear()
        left = None if deadline is None else ticks_diff(deadline, self._now())
        if left is not None and left <= 0:
            raise NotConnected('publish timed out (%s)' % STATE_NAMES[self.state])
        return ev.wait(left if left is None else min(left, 1000))

    def subscribe(self, topic, qos=0, timeout_ms=10000):
        if (topic, qos) not in self.subs:
            self.subs.append((topic, qos))
        if self.state == UP:
            yield self._sub(_SUBSCRIBE, topic, qos, timeout_ms)

    def unsubscribe(self, topic, timeout_ms=10000):
        self.subs = [s for s in self.subs if s[0] != topic]
        if self.state == UP:
            yield self._sub(_UNSUBSCRIBE, topic, -1, timeout_ms)

    def _sub(self, kind, topic, qos, timeout_ms, wait=True):
        topic = _b(topic)
        pid = self._next_pid()
        body = bytearray(4 + len(topic) + (1 if qos >= 0 else 0))
        body[0] = pid >> 8
        body[1] = pid & 0xFF
        i = _put_str(body, 2, topic)
        if qos >= 0:
            body[i] = qos
        n = self._header(kind, len(body))
        self._sub_pid = pid
        yield self._send_packet(self._hdr, n, body, timeout_ms)
        if not wait:
            return
        deadline = ticks_add(self._now(), timeout_ms)
        while self._sub_pid == pid:
            yield self._wait(deadline, self.acked)

    # -- the connection task ---------------------------------------------------------------
    def start(self):
        self._seed = self._now() | 1
        return self.sched.spawn(self._run(), 'mqtt', parent=False)

    def wait_up(self, timeout_ms=None):
        if self.state != UP and not (yield self.up.wait(timeout_ms)):
            raise NotConnected('not connected to %s:%d (%s)' % (self.host, self.port,
                                                                 self.last_error))

    def _run(self):
        backoff = 1000
        while True:
            try:
                self.state = CONNECTING
                # wait for the network here, not at the bottom of connect's chain: a task
                # that waits holds every generator frame above its wait (README, "Memory")
                yield self.modem.ready.wait()
                yield self._connect()
                backoff = 1000
                self.state = UP
                self.up.set()
                self.log('mqtt: up (%s:%d)' % (self.host, self.port))
                yield self._read_loop()
            except (NetError, MQTTError, OSError) as e:
                self.last_error = e
                self.log('mqtt: down: %r' % (e,))
            self.state = DOWN
            self.up.clear()
            self.acked.set()
            yield self._drop()
            yield self.sched.sleep_ms(self._jitter(backoff))
            backoff = min(backoff * 2, self.backoff_max_ms)

    def _jitter(self, ms):
        # xorshift: +-25 %, so that a fleet does not reconnect in step
        x = self._seed
        x ^= (x << 13) & 0xFFFFFFFF
        x ^= x >> 17
        x ^= (x << 5) & 0xFFFFFFFF
        self._seed = x
        return ms * 3 // 4 + x % (ms // 2 + 1)

    def _drop(self):
        s = self.sock
        self.sock = None
        if s is not None:
            try:
                yield s.close()
            except NetError:
                pass

    def _connect(self):
        s = self.sock = yield self.modem.open(self.host, self.port, 0, 60000,   # 0: TCP
                                              self._rings[0], self._rings[1])
        w = self.will
        flags = 0x02 if self.clean else 0
        n = 10 + 2 + len(self.client_id)
        if w:
            flags |= 0x04 | w[2] << 3 | (0x20 if w[3] else 0)
            n += 4 + len(w[0]) + len(w[1])
        if self.user is not None:
            flags |= 0x80
            n += 2 + len(self.user)
        if self.password is not None:
            flags |= 0x40
            n += 2 + len(self.password)
        if n + 5 > self.max_packet:
            raise PacketTooLarge('CONNECT of %d bytes > max_packet' % n)
        buf = self._rx
        k = self._header(_CONNECT, n)
        for i in range(k):
            buf[i] = self._hdr[i]
        i = _put_str(buf, k, b'MQTT')
        buf[i] = 4                               # protocol level 3.1.1
        buf[i + 1] = flags
        buf[i + 2] = self.keepalive >> 8
        buf[i + 3] = self.keepalive & 0xFF
        i = _put_str(buf, i + 4, self.client_id)
        if w:
            i = _put_str(buf, i, _b(w[0]))
            i = _put_str(buf, i, _b(w[1]))
        if self.user is not None:
            i = _put_str(buf, i, self.user)
        if self.password is not None:
            i = _put_str(buf, i, self.password)
        yield s.send(buf, 30000, i)
        self._last_tx = self._last_rx = self._now()
        kind, size = yield self._read_packet(30000)
        if kind != _CONNACK or size != 2:
            raise ProtocolError('expected CONNACK, got type 0x%02x' % kind)
        code = self._rx[1]
        if code:
            raise ConnectRefused('broker refused: %s' % (
                CONNACK_TEXT[code] if code < len(CONNACK_TEXT) else 'code %d' % code))
        self.connects += 1
        # MQTT 3.1.1 s4.4: unacknowledged QoS 1 messages go again, with DUP set
        for slot in range(len(self._win_pid)):
            if self._win_pid[slot]:
                buf = self._win_buf[slot]
                buf[0] |= 0x08
                yield s.send(buf, 30000, self._win_len[slot])
                self._win_t[slot] = self._now()
        for topic, qos in self.subs:
            # no reader runs yet: the SUBACKs are read (and dropped) once we are up
            yield self._sub(_SUBSCRIBE, topic, qos, 30000, False)

    def _read_loop(self):
        ka = self.keepalive * 1000
        pids = self._win_pid
        while True:
            now = self._now()
            wait = None
            for i in range(len(pids)):
                if pids[i]:
                    left = self.ack_ms - ticks_diff(now, self._win_t[i])
                    if left <= 0:
                        # the PUBACK deadline (module docstring): reconnect, send it again
                        raise TimedOut(110, 'no PUBACK for message %d in %d ms'
                                       % (pids[i], self.ack_ms))
                    if wait is None or left < wait:
                        wait = left
            if ka:
                quiet = ticks_diff(now, self._last_rx)
                if quiet >= ka * 3 // 2:
                    raise ProtocolError('no packet from the broker for %d s' % (quiet // 1000))
                if ticks_diff(now, self._last_tx) >= ka:
                    self._hdr[0] = _PINGREQ
                    self._hdr[1] = 0
                    yield self._send_packet(self._hdr, 2, None, 10000)
                left = min(ka - ticks_diff(now, self._last_tx), ka * 3 // 2 - quiet)
                if wait is None or left < wait:
                    wait = left
            s = self.sock
            if not s.available():
                # Wait here on the socket's event, not down a chain of sub-generators: a quiet
                # connection holds three generator frames fewer (README, "Memory"). Any wake-up
                # (data, an error, sending progress, time up) goes round the loop again.
                if s.err is not None:
                    raise s.err
                if s.state >= EOF:
                    raise NetError(ECONNRESET, 'broker closed the connection')
                s.ev.clear()
                yield s.ev.wait(wait)
                continue
            k = self._packet_now()
            if k >= 0:
                # the whole packet was there (a PUBACK, most often): read without the
                # generators and the tuple of _read_packet, so a QoS 1 publish costs nothing
                self._dispatch(k & 0xFF, k >> 8)
                continue
            kind, size = yield self._read_packet(10000)
            if kind >= 0:
                self._dispatch(kind, size)

    def _packet_now(self):
        """If the socket holds a whole packet that fits self._rx: read it (its body into
        self._rx) and return its remaining length << 8 | its first byte (one small int: no
        tuple); else -1, reading nothing (_read_packet waits for the rest, skips it or reports
        it malformed)."""
        s = self.sock
        rx = s.rx                            # the socket's receive ring, read in place
        first = rx[s.head]
        size = 0
        shift = 0
        i = 1
        while True:
            if i >= s.n:
                return -1
            b = rx[(s.head + i) % len(rx)]
            size |= (b & 0x7F) << shift
            shift += 7
            i += 1
            if not b & 0x80:
                break
            if i == 5:
                return -1                    # a 5th length byte: malformed
        if size > len(self._rx) or s.available() < i + size:
            return -1
        s.take_into(self._hdr, i)
        if size:
            s.take_into(self._rx, size)
        self._last_rx = self._now()
        return size << 8 | first

    def _read_exact(self, buf, n, timeout_ms):
        got = 0
        while got < n:
            k = yield self.sock.recv_into(buf, timeout_ms, n - got, got)
            if not k:
                raise NetError(ECONNRESET, 'broker closed the connection')
            got += k

    def _read_packet(self, timeout_ms):
        """(first byte, remaining length) with the body in self._rx; (-1, 0) on a quiet
        timeout before a packet starts, or for a packet skipped as too large."""
        h = self._hdr
        s = self.sock
        if not s.available():
            if timeout_ms is not None and timeout_ms <= 0:
                raise Return((-1, 0))
            try:
                n = yield s.recv_into(h, timeout_ms, 1)
            except NetError as e:
                if e.errno == 110:               # ETIMEDOUT: time to ping
                    raise Return((-1, 0))
                raise
            if not n:
                raise NetError(ECONNRESET, 'broker closed the connection')
        else:
            yield self._read_exact(h, 1, 10000)
        first = h[0]
        size = 0
        shift = 0
        for _ in range(4):
            yield self._read_exact(h, 1, 10000)
            size |= (h[0] & 0x7F) << shift
            shift += 7
            if not h[0] & 0x80:
                break
        else:
            raise ProtocolError('remaining length longer than 4 bytes')
        self._last_rx = self._now()
        if size > len(self._rx):
            self.skipped += 1
            self.log('mqtt: skipping a %d-byte packet (max_packet %d)' % (size, len(self._rx)))
            while size:
                k = min(size, len(self._rx))
                yield self._read_exact(self._rx, k, 10000)
                size -= k
            raise Return((-1, 0))
        if size:
            yield self._read_exact(self._rx, size, 10000)
        raise Return((first, size))

    def _dispatch(self, first, size):
        # MQTT 3.1.1 is strict about what a broker sends; anything else is malformed and
        # resets the connection (section 4.8: "close the Network Connection").
        kind = first & 0xF0
        rx = self._rx
        if kind == _PUBLISH:
            qos = (first >> 1) & 3
            tlen = rx[0] << 8 | rx[1] if size >= 2 else 0
            end = 2 + tlen
            start = end + (2 if qos else 0)
            # 3.3.1.2: QoS 3 is malformed (QoS 2 never granted: this client subscribes at
            # QoS 0 or 1); 4.7.3: a topic name has at least one character; 3.3.2.1: no
            # wildcard in a topic name; 1.5.3: no U+0000 in a UTF-8 string
            if (qos > 1 or start > size or not tlen or rx.find(b'+', 2, end) >= 0
                    or rx.find(b'#', 2, end) >= 0 or rx.find(b'\x00', 2, end) >= 0):
                raise ProtocolError('bad PUBLISH (QoS %d, topic %d bytes)' % (qos, tlen))
            if qos and not (rx[end] or rx[end + 1]):
                raise ProtocolError('PUBLISH with packet identifier 0')     # 2.3.1
            if self.on_message is not None:
                self.on_message(bytes(rx[2:end]), bytes(rx[start:size]), first & 1)
            if qos:
                h = self._hdr
                h[0] = _PUBACK
                h[1] = 2
                h[2] = rx[end]
                h[3] = rx[end + 1]
                if self.sock.write(h, 4) != 4:
                    raise NetError(105, 'no room to acknowledge a message')
                self._last_tx = self._now()
        elif kind in (_PUBACK, _SUBACK, _UNSUBACK):
            pid = rx[0] << 8 | rx[1] if size >= 2 else 0
            # 2.2.2: their flags are reserved (0); 3.4.1, 3.11.1: remaining length 2; 3.9.3:
            # SUBACK has one return code per topic filter (this client sends one per
            # SUBSCRIBE), 0x00, 0x01, 0x02 or 0x80; 2.3.1: packet identifiers are non-zero
            if (first & 0x0F or size != (3 if kind == _SUBACK else 2) or not pid
                    or kind == _SUBACK and rx[2] not in (0, 1, 2, 0x80)):
                raise ProtocolError('malformed acknowledgement 0x%02x (%d bytes, id %d)'
                                    % (first, size, pid))
            if kind == _PUBACK:
                for i in range(len(self._win_pid)):
                    if self._win_pid[i] == pid:
                        self._win_pid[i] = 0
                        if self.on_ack is not None:
                            self.on_ack(pid)
            elif pid == self._sub_pid:
                if kind == _SUBACK and rx[2] == 0x80:
                    self.log('mqtt: subscription refused by the broker')
                self._sub_pid = 0
            self.acked.set()
        elif first != _PINGRESP or size:
            # 2.2.2: PINGRESP flags reserved; 3.13.1: remaining length 0
            raise ProtocolError('unexpected packet type 0x%02x (%d bytes)' % (first, size))

    def disconnect(self):
        """Send DISCONNECT (the will is discarded) and close."""
        if self.state == UP:
            self._hdr[0] = _DISCONNECT
            self._hdr[1] = 0
            yield self.sock.send(self._hdr, 10000, 2)
        yield self._drop()
        self.state = DOWN


def _b(s):
    if s is None or not isinstance(s, str):
        return s
    return s.encode()
