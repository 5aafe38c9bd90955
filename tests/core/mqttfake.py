"""A fake network for MQTT tests on every interpreter: a modem whose sockets are modemkit
Sockets with rings, and a broker task at the other end that answers CONNECT, PUBLISH (QoS 1),
SUBSCRIBE, UNSUBSCRIBE and PINGREQ, and records what it received. Portable subset."""
from modemkit.sched import Scheduler, Event, Return
from modemkit.fakeuart import FakeClock
from modemkit.sock import Socket, TCP, OPEN, CLOSED


class FakeModem(object):
    SEND_CHUNK = 1460

    def __init__(self, tx_size=256, rx_size=256):
        self.clock = FakeClock()
        self.sched = Scheduler(self.clock)
        self.tx_ev = Event(self.sched)
        self.ready = Event(self.sched)
        self.ready.set()             # the network is always up
        self.tx_size = tx_size
        self.rx_size = rx_size
        self.logs = []
        self.sock = None
        self.opens = 0
        self.refuse = 0              # CONNACK return code to give
        self.answer = True           # False: a dead broker that reads but never answers
        self.broker = None

    def log(self, msg):
        self.logs.append(msg)


    def kick(self):
        self.tx_ev.set()             # a socket queued data (or has room): the broker reads

    def open(self, host, port, kind=TCP, timeout_ms=None, rx_size=None, tx_size=None):
        s = Socket(self, kind, rx_size or self.rx_size, tx_size or self.tx_size)
        s.state = OPEN
        s.id = self.opens
        self.opens += 1
        self.sock = s
        if self.broker is None:
            self.broker = Broker(self)
            self.sched.spawn(self.broker.run(), 'broker', parent=False)
        self.broker.attach(s)
        raise Return(s)
        yield

    def close(self, s):
        s.state = CLOSED
        if False:
            yield


class Broker(object):
    """Parses what the client queues and answers through the socket's receive ring."""

    def __init__(self, modem):
        self.modem = modem
        self.sock = None
        self.buf = bytearray(512)
        self.n = 0
        self.packets = []            # (type byte, body bytearray) -- recording allocates
        self.record = True
        self.count = 0               # packets seen, counted without allocating
        self.out = bytearray(8)

    def attach(self, s):
        self.sock = s
        self.n = 0

    def run(self):
        m = self.modem
        while True:
            s = self.sock
            if s is None or not s.tlen:
                m.tx_ev.clear()
                yield m.tx_ev.wait(1000)
                continue
            k = s.tlen
            for i in range(k):
                self.buf[self.n + i] = s.tx[(s.thead + i) % len(s.tx)]
            self.n += k
            s.sent(k)
            self._parse()
            yield

    def _parse(self):
        buf = self.buf
        while self.n >= 2:
            size = 0
            shift = 0
            i = 1
            while True:
                size |= (buf[i] & 0x7F) << shift
                shift += 7
                i += 1
                if not buf[i - 1] & 0x80:
                    break
            if self.n < i + size:
                return
            self._packet(buf[0], i, size)
            end = i + size
            for j in range(self.n - end):
                buf[j] = buf[end + j]
            self.n -= end

    def _packet(self, first, start, size):
        self.count += 1
        buf = self.buf
        if self.record:
            self.packets.append((first, buf[start:start + size]))      # a bytearray copy
        kind = first & 0xF0
        if not self.modem.answer:
            return
        out = self.out
        if kind == 0x10:
            self._reply(b'\x20\x02\x00', self.modem.refuse)
        elif kind == 0x30 and first & 0x06:
            tlen = buf[start] << 8 | buf[start + 1]
            out[0] = 0x40
            out[1] = 2
            out[2] = buf[start + 2 + tlen]
            out[3] = buf[start + 3 + tlen]
            self.sock.put(out, 0, 4)
        elif kind in (0x80, 0xA0):
            out[0] = 0x90 if kind == 0x80 else 0xB0
            out[1] = 3 if kind == 0x80 else 2
            out[2] = buf[start]
            out[3] = buf[start + 1]
            out[4] = 0
            self.sock.put(out, 0, out[1] + 2)
        elif kind == 0xC0:
            out[0] = 0xD0
            out[1] = 0
            self.sock.put(out, 0, 2)

    def _reply(self, head, last):
        for i in range(len(head)):
            self.out[i] = head[i]
        self.out[len(head)] = last
        self.sock.put(self.out, 0, len(head) + 1)

    def send_publish(self, topic, payload, qos=0):
        """The broker delivers a message to the client."""
        body = bytearray()
        body.append(0x30 | qos << 1)
        rem = 2 + len(topic) + len(payload) + (2 if qos else 0)
        body.append(rem)
        body.append(len(topic) >> 8)
        body.append(len(topic) & 0xFF)
        body.extend(topic)
        if qos:
            body.extend(b'\x00\x07')
        body.extend(payload)
        self.sock.put(body, 0, len(body))


def client(m, **kw):
    """An MQTT client on the fake modem, started; small buffers (tests run in a small heap)."""
    from modemkit.mqtt import MQTT
    kw.setdefault('log', m.log)
    kw.setdefault('max_packet', 128)
    kw.setdefault('window', 2)
    c = MQTT(m, 'broker', client_id='dev1', **kw)
    c.start()
    return c
