"""A small MQTT 3.1.1 client that runs on the emulator's loop over `Net` (QoS 0 and 1).

It is the network side of the Telit native MQTT commands (T-IPE §13): the emulated module talks
to a real broker with it.  Every request takes a `done(error)` callback, called once with `None`
on success or a short reason; `on_message(topic, payload)` reports incoming publishes and
`on_lost(reason)` a connection that ended without `disconnect()`.
"""

import struct

from mktools.sim.core import tls

CONNECT, CONNACK, PUBLISH, PUBACK = 1, 2, 3, 4
SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK = 8, 9, 10, 11
PINGREQ, PINGRESP, DISCONNECT = 12, 13, 14

MAX_PACKET = 256 * 1024          # largest packet accepted from the broker
MAX_INFLIGHT = 16                # outstanding acknowledged requests


class MqttError(Exception):
    """A malformed packet from the broker."""


def encode_length(n):
    """MQTT 'remaining length' variable-byte integer."""
    out = bytearray()
    while True:
        byte, n = n % 128, n // 128
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def utf8_field(text):
    data = text.encode() if isinstance(text, str) else bytes(text)
    return struct.pack('!H', len(data)) + data


def packet(kind, flags, body):
    return bytes([kind << 4 | flags]) + encode_length(len(body)) + body


def split_packet(buf):
    """Return (kind, flags, body, consumed) for the first complete packet in `buf`, or None."""
    length, multiplier, pos = 0, 1, 1
    while True:
        if pos >= len(buf):
            return None
        byte = buf[pos]
        length += (byte & 0x7F) * multiplier
        pos += 1
        if not byte & 0x80:
            break
        multiplier *= 128
        if multiplier > 128 ** 3:
            raise MqttError('bad remaining length')
    if length > MAX_PACKET:
        raise MqttError('packet too large')
    if len(buf) < pos + length:
        return None
    return buf[0] >> 4, buf[0] & 0x0F, bytes(buf[pos:pos + length]), pos + length


class MqttClient:
    """One MQTT 3.1.1 session to a broker, driven by the emulator's loop."""

    def __init__(self, loop, net, on_message, on_lost, tls_ctx=None):
        self.loop = loop
        self.net = net
        self.tls_ctx = tls_ctx          # #MQCFG <sslEn> 1: TLS to the broker (core.tls)
        self.on_message = on_message
        self.on_lost = on_lost
        self.conn = None
        self.connected = False
        self.rx = bytearray()
        self.waiting = {}            # (ack kind, packet id) -> (done, timer)
        self.next_id = 1
        self.keepalive_s = 0
        self.pkt_timeout_s = 10
        self.ping_timer = None
        self.pending_connect = b''

    # -- requests ---------------------------------------------------------------------------

    def connect(self, host, port, client_id, username, password, keepalive_s, clean,
                will, pkt_timeout_s, done):
        """Open TCP to the broker and send CONNECT; `will` is None or (topic, msg, qos, retain)."""
        self.keepalive_s = keepalive_s
        self.pkt_timeout_s = pkt_timeout_s
        flags = 0x02 if clean else 0
        payload = utf8_field(client_id)
        if will:
            topic, message, qos, retain = will
            flags |= 0x04 | qos << 3 | (0x20 if retain else 0)
            payload += utf8_field(topic) + utf8_field(message)
        if username:
            flags |= 0x80
            payload += utf8_field(username)
            if password:
                flags |= 0x40
                payload += utf8_field(password)
        body = utf8_field('MQTT') + bytes([4, flags]) + struct.pack('!H', keepalive_s) + payload
        self.pending_connect = packet(CONNECT, 0, body)
        self._arm_wait((CONNACK, 0), done)
        if self.tls_ctx is None:
            self.conn = self.net.tcp_connect(host, port, self)
        else:
            self.conn = tls.tcp_connect(self.net, host, port, self, self.tls_ctx)

    def publish(self, topic, payload, qos, retain, done):
        """QoS 0 completes once queued; QoS 1 when PUBACK arrives."""
        body = utf8_field(topic)
        if qos:
            pid = self._new_id()
            body += struct.pack('!H', pid)
            if not self._arm_wait((PUBACK, pid), done):
                return
        self._send(packet(PUBLISH, qos << 1 | (1 if retain else 0), body + payload))
        if not qos:
            done(None)

    def subscribe(self, topic, qos, done):
        pid = self._new_id()
        if self._arm_wait((SUBACK, pid), done):
            self._send(packet(SUBSCRIBE, 2, struct.pack('!H', pid) + utf8_field(topic) + bytes([qos])))

    def unsubscribe(self, topic, done):
        pid = self._new_id()
        if self._arm_wait((UNSUBACK, pid), done):
            self._send(packet(UNSUBSCRIBE, 2, struct.pack('!H', pid) + utf8_field(topic)))

    def disconnect(self):
        """Send DISCONNECT and close; no callback is due afterwards."""
        if self.conn is not None and self.connected:
            self._send(packet(DISCONNECT, 0, b''))
        self._teardown(None, close=True)

    def abort(self):
        """Drop the TCP connection without DISCONNECT (module reboot)."""
        self._teardown(None, close=False)

    # -- Net events -------------------------------------------------------------------------

    def on_connect(self, conn):
        if conn is self.conn:
            self._send(self.pending_connect)

    def on_error(self, conn, why):
        if conn is self.conn:
            self._fail('connect: %s' % why)

    def on_data(self, conn, data):
        if conn is not self.conn:
            return
        self.rx += data
        try:
            while True:
                parsed = split_packet(self.rx)
                if parsed is None:
                    break
                kind, flags, body, used = parsed
                del self.rx[:used]
                self._handle(kind, flags, body)
                if self.conn is None:
                    return
        except (MqttError, struct.error, IndexError, UnicodeDecodeError) as exc:
            self._fail('protocol: %s' % exc)
            return
        if len(self.rx) > MAX_PACKET + 5:
            self._fail('protocol: oversized packet')

    def on_close(self, conn, reset):
        if conn is self.conn:
            self._fail('closed by broker' + (' (reset)' if reset else ''))

    # -- internals --------------------------------------------------------------------------

    def _handle(self, kind, flags, body):
        if kind == CONNACK:
            if len(body) < 2:
                raise MqttError('short CONNACK')
            if body[1] != 0:
                self._fail('CONNACK return code %d' % body[1])
                return
            self.connected = True
            self._schedule_ping()
            self._resolve((CONNACK, 0), None)
        elif kind == PUBLISH:
            self._on_publish(flags, body)
        elif kind in (PUBACK, UNSUBACK):
            self._resolve((kind, struct.unpack('!H', body[:2])[0]), None)
        elif kind == SUBACK:
            pid = struct.unpack('!H', body[:2])[0]
            granted = body[2:3]
            self._resolve((SUBACK, pid), 'subscription refused' if granted == b'\x80' else None)
        elif kind == PINGRESP:
            self._resolve((PINGRESP, 0), None)
        else:
            raise MqttError('unexpected packet type %d' % kind)

    def _on_publish(self, flags, body):
        qos = (flags >> 1) & 3
        tlen = struct.unpack('!H', body[:2])[0]
        topic = body[2:2 + tlen].decode()
        pos = 2 + tlen
        if qos:
            pid = struct.unpack('!H', body[pos:pos + 2])[0]
            pos += 2
            if qos == 1:
                self._send(packet(PUBACK, 0, struct.pack('!H', pid)))
            else:
                raise MqttError('QoS 2 delivery was not subscribed for')
        self.on_message(topic, body[pos:])

    def _new_id(self):
        pid = self.next_id
        self.next_id = pid % 65535 + 1
        return pid

    def _arm_wait(self, key, done):
        """Wait for the packet `key` within the packet timeout; False when too many wait."""
        if len(self.waiting) >= MAX_INFLIGHT:
            done('too many requests in flight')
            return False
        timer = self.loop.call_later(self.pkt_timeout_s, self._timeout, key)
        self.waiting[key] = (done, timer)
        return True

    def _resolve(self, key, error):
        entry = self.waiting.pop(key, None)
        if entry:
            entry[1].cancel()
            entry[0](error)

    def _timeout(self, key):
        if key in self.waiting:
            self._fail('packet timeout')

    def _send(self, data):
        if self.conn is None:
            return
        self.conn.send(data)
        self._schedule_ping()

    def _schedule_ping(self):
        if self.ping_timer:
            self.ping_timer.cancel()
            self.ping_timer = None
        if self.connected and self.keepalive_s:
            self.ping_timer = self.loop.call_later(self.keepalive_s, self._ping)

    def _ping(self):
        self.ping_timer = None
        if (PINGRESP, 0) not in self.waiting:
            self._arm_wait((PINGRESP, 0), lambda error: None)
        self._send(packet(PINGREQ, 0, b''))

    def _fail(self, reason):
        was_connected = self.connected
        self._teardown(reason, close=False)
        if was_connected:
            self.on_lost(reason)

    def _teardown(self, reason, close):
        conn, self.conn = self.conn, None
        self.connected = False
        if self.ping_timer:
            self.ping_timer.cancel()
            self.ping_timer = None
        waiting, self.waiting = self.waiting, {}
        for done, timer in waiting.values():
            timer.cancel()
            if reason:
                done(reason)
        if conn is not None:
            if close:
                conn.close()
            else:
                conn.abort()
