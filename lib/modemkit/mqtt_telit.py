"""The MQTT client interface of mqtt.MQTT, backed by the Telit module's own client (#MQ*,
IP Easy s13; Platform ID 30/37), so an on-module script leaves MQTT to the module.

The module takes the message as a quoted AT string argument (s13.5.1), so payloads must be text
without double quotes or line breaks (the telemetry app then sends key=value samples), and
received payloads arrive as one line after `<<<` (s13.7.1). The module keeps the session; this
class configures it (#MQEN, #MQCFG, #MQCFG2, #MQWCFG), connects (#MQCONN), publishes
(#MQPUBS: with QoS 1 its OK means the broker acknowledged), subscribes (#MQSUB/#MQUNS), reads
what #MQRING announces (#MQREAD), and checks `#MQCONN?` every keepalive/2 to notice a lost
connection, reconnecting with the same back-off as mqtt.MQTT. tls=True sets #MQCFG <sslEn>:
the module speaks TLS to the broker and checks its certificate against the module's own trust
store (nothing of it passes through this class).
"""
from modemkit.at import Cmd, OK
from modemkit.mqtt import (DOWN, CONNECTING, UP, STATE_NAMES, MQTTError, NotConnected,
                           PacketTooLarge)
from modemkit.port import ticks_add, ticks_diff
from modemkit.modem import shown
from modemkit.sched import Event, Return

MESSAGE_MAX = 256


class TelitMQTT(object):
    def __init__(self, modem, host, port=1883, client_id='modemkit', user=None, password=None,
                 keepalive=60, clean=True, will=None, on_message=None, on_ack=None,
                 backoff_max_ms=60000, log=None, instance=1, tls=False, **unused):
        self.modem = modem
        self.sched = modem.sched
        self.host = host
        self.port = port
        self.client_id = client_id
        self.user = user or ''
        self.password = password or ''
        self.keepalive = keepalive
        self.clean = clean
        self.will = will
        self.on_message = on_message
        self.on_ack = on_ack
        self.backoff_max_ms = backoff_max_ms
        self.log = log if log is not None else modem.log
        self.inst = instance
        self.tls = 1 if tls else 0     # #MQCFG <sslEn> (s13.2.1): the module's TLS to the broker
        self.state = DOWN
        self.up = Event(self.sched)
        self.acked = Event(self.sched)
        self.connects = 0
        self.last_error = None
        self.subs = []
        self._ring = []              # message ids #MQRING announced, not yet read (bounded)
        self._ring_ev = Event(self.sched)
        self._pid = 0
        modem.chan.on(b'#MQRING:', self._on_ring)

    def _q(self, text, timeout_ms=30000, expect=None, secret=False):
        c = Cmd(text, timeout_ms=timeout_ms, expect=expect)
        r = yield self.modem.chan.send(c)
        if r.status != OK:
            raise MQTTError('%s: %s' % (shown(text, secret), r.error()))
        raise Return(r)

    def _on_ring(self, line):
        # #MQRING: <inst>,<mId>,<topic>,<len>; '#MQRING: 0' when the module's 30 slots are full
        if line.num(0, -1) == self.inst and len(self._ring) < 30:
            self._ring.append(line.num(1, 0))
            self._ring_ev.set()
        elif line.num(0, -1) == 0:
            self.log('mqtt: the module\'s message slots are full')

    # -- the interface of mqtt.MQTT --------------------------------------------------------
    def start(self):
        self.sched.spawn(self._reader(), 'mqtt-read', parent=False)
        return self.sched.spawn(self._run(), 'mqtt', parent=False)

    def wait_up(self, timeout_ms=None):
        if self.state != UP and not (yield self.up.wait(timeout_ms)):
            raise NotConnected('not connected to %s:%d (%s)' % (self.host, self.port,
                                                                 self.last_error))

    def publish_nowait(self, topic, msg, qos=0, retain=False):
        return -1                    # every #MQPUBS is an AT exchange: use publish()

    def publish(self, topic, msg, qos=0, retain=False, timeout_ms=None):
        msg = _text(msg)
        if len(msg) > MESSAGE_MAX or '"' in msg or '\r' in msg or '\n' in msg:
            raise PacketTooLarge('the module takes text up to %d characters without quotes or '
                                 'line breaks' % MESSAGE_MAX)
        clock = self.sched.clock
        deadline = None if timeout_ms is None else ticks_add(clock.ticks_ms(), timeout_ms)
        while True:
            while self.state != UP:
                left = None if deadline is None else \
                    max(0, ticks_diff(deadline, clock.ticks_ms()))
                if not (yield self.up.wait(left)):
                    raise NotConnected('publish timed out (%s)' % STATE_NAMES[self.state])
            try:
                yield self._q('AT#MQPUBS=%d,"%s",%d,%d,"%s"' % (self.inst, _text(topic),
                                                                 1 if retain else 0, qos, msg))
                break
            except MQTTError as e:
                # refused: the module's client lost the broker (after a PDP loss: +CME ERROR
                # operation not allowed). QoS 1 promises delivery, as mqtt.MQTT's publish()
                # does: again once reconnected, until timeout_ms
                self._lost(e)
                if not qos:
                    raise
        self._pid = self._pid % 65535 + 1
        if qos and self.on_ack is not None:
            self.on_ack(self._pid)
        raise Return(self._pid)

    def subscribe(self, topic, qos=0, timeout_ms=10000):
        if (topic, qos) not in self.subs:
            self.subs.append((topic, qos))
        if self.state == UP:
            yield self._q('AT#MQSUB=%d,"%s"' % (self.inst, _text(topic)), timeout_ms)

    def unsubscribe(self, topic, timeout_ms=10000):
        self.subs = [s for s in self.subs if s[0] != topic]
        if self.state == UP:
            yield self._q('AT#MQUNS=%d,"%s"' % (self.inst, _text(topic)), timeout_ms)

    def in_flight(self):
        return 0

    def disconnect(self):
        if self.state == UP:
            yield self._q('AT#MQDISC=%d' % self.inst)
        self.state = DOWN
        self.up.clear()

    # -- the connection task ---------------------------------------------------------------
    def _lost(self, why):
        if self.state == UP:
            self.log('mqtt: down: %r' % (why,))
        self.last_error = why
        self.state = DOWN
        self.up.clear()

    def _run(self):
        backoff = 1000
        while True:
            try:
                self.state = CONNECTING
                yield self.modem.wait_ready()
                yield self._connect()
                backoff = 1000
                self.state = UP
                self.up.set()
                self.log('mqtt: up (%s:%d, module client %d)' % (self.host, self.port,
                                                                 self.inst))
                while self.state == UP:
                    yield self.sched.sleep_ms(max(1000, self.keepalive * 500))
                    r = yield self._q('AT#MQCONN?', 10000, b'#MQCONN:')
                    for i in range(r.nlines):
                        if r.num(i, 0) == self.inst and r.num(i, 1) != 1:
                            raise MQTTError('the module lost the broker')
            except (MQTTError, OSError) as e:
                self._lost(e)
            self.state = DOWN
            self.up.clear()
            yield self.sched.sleep_ms(backoff)
            backoff = min(backoff * 2, self.backoff_max_ms)

    def _connect(self):
        i = self.inst
        r = yield self._q('AT#MQEN?', 5000, b'#MQEN:')
        enabled = False
        for k in range(r.nlines):
            if r.num(k, 0) == i and r.num(k, 1) == 1:
                enabled = True
        if enabled:
            # a client left connected by an earlier run: start from a clean state
            yield self.modem.chan.send(Cmd('AT#MQDISC=%d' % i, timeout_ms=10000))
        else:
            yield self._q('AT#MQEN=%d,1' % i)
        cid = self.modem.cfg.get('context', 1)
        yield self._q('AT#MQCFG=%d,"%s",%d,%d,%d' % (i, self.host, self.port, cid, self.tls))
        yield self._q('AT#MQCFG2=%d,%d,%d' % (i, self.keepalive, 1 if self.clean else 0))
        w = self.will
        if w:
            yield self._q('AT#MQWCFG=%d,1,%d,%d,"%s","%s"' % (i, 1 if w[3] else 0, w[2],
                                                               _text(w[0]), _text(w[1])))
        yield self._q('AT#MQCONN=%d,"%s","%s","%s"' % (i, self.client_id, self.user,
                                                        self.password), 60000, secret=True)
        self.connects += 1
        for topic, qos in self.subs:
            yield self._q('AT#MQSUB=%d,"%s"' % (i, _text(topic)))

    def _reader(self):
        """Read the messages #MQRING announced (the module keeps them in numbered slots)."""
        while True:
            if not self._ring:
                self._ring_ev.clear()
                yield self._ring_ev.wait()
                continue
            mid = self._ring.pop(0)
            try:
                r = yield self._q('AT#MQREAD=%d,%d' % (self.inst, mid), 10000)
            except MQTTError as e:
                self.log('mqtt: %r' % (e,))
                continue
            # #MQREAD: <inst>,<topic>,<len> / <<< / <payload>   (s13.7.1)
            if r.nlines >= 3 and self.on_message is not None:
                topic = r.text(0, 1)
                if topic is None:
                    # a header line the UART garbled: no topic to hand on
                    self.log('mqtt: #MQREAD %d: no topic in %r' % (mid, r.line(0)[:40]))
                    continue
                self.on_message(topic.encode(), r.line(2), 0)


def _text(x):
    return x if isinstance(x, str) else bytes(x).decode()
