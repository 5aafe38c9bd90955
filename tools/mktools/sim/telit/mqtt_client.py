"""The network side of the Telit native MQTT commands (T-IPE §13): one paho-mqtt client per
`#MQCONN`, driven by the emulator's single-threaded loop through paho's external-loop API.

    session = MqttSession(loop, net, on_message, on_lost)
    session.connect(host, port, client_id, user, password, keepalive_s, clean, will,
                    pkt_timeout_s, done)
    session.publish(topic, payload, qos, retain, done)

Every request takes a `done(error)` callback, called once with `None` on success or a short reason;
`on_message(topic, payload)` reports incoming publishes and `on_lost(reason)` a connection that
ended without `disconnect()`.

paho owns the socket: `on_socket_open` registers it with the loop for reading (`loop_read()`),
`on_socket_register_write` / `on_socket_unregister_write` watch it for writing (`loop_write()`)
while paho has bytes queued, and a loop timer calls `loop_misc()` (keepalive).  The
per-request deadline (`#MQTCFG`) runs on the emulator's clock; paho's keepalive runs on the real
clock.  The broker's name goes through `Net.resolve()` first, so only loopback is dialled; `Net`'s
latency does not apply to this connection, and paho's TCP connect is a blocking call (immediate on
loopback).  With `tls_ctx` (`#MQCFG <sslEn>` 1, s13.2.1) paho speaks TLS with that context (the
module's trust store, `core.tls.context`) and checks the broker's certificate against the name the
module was given, while the socket dials the address `Net` resolved it to.
"""

import logging
import socket
import ssl
import struct

from paho.mqtt import client as paho

from mktools.sim.core.net import NetError

log = logging.getLogger('mktools.sim.telit.mqtt_client')

MISC_PERIOD_S = 0.25             # paho pings once keepalive has passed at its next loop_misc();
                                 # brokers allow 1.5 x keepalive, so this stays well inside
MAX_INFLIGHT = 16                # outstanding acknowledged requests
DISCONNECT_FLUSH_S = 5.0         # how long a DISCONNECT may take to leave before the socket drops


class _Client(paho.Client):
    """paho's client, dialling the address `Net` resolved (`dial`) while `_host` keeps the
    broker's name for TLS (SNI and the certificate check); paho has no public hook for this."""
    dial = None

    def _create_socket_connection(self):
        return socket.create_connection(self.dial, timeout=self._connect_timeout)


class MqttSession:
    """One MQTT 3.1.1 session to a broker (QoS 0 and 1 out, QoS 0 subscriptions)."""

    def __init__(self, loop, net, on_message, on_lost, tls_ctx=None):
        self.loop = loop
        self.tls_ctx = tls_ctx
        self.net = net
        self.on_message = on_message
        self.on_lost = on_lost
        self.client = None
        self.connected = False
        self.waiting = {}            # (kind, mid) -> (done, timer)
        self.pkt_timeout_s = 10
        self._sock = None            # paho's socket while the loop watches it
        self._misc_timer = None
        self._ending = False         # disconnect() or abort() was asked: no on_lost

    # -- requests ---------------------------------------------------------------------------

    def connect(self, host, port, client_id, username, password, keepalive_s, clean,
                will, pkt_timeout_s, done):
        """Open TCP to the broker and send CONNECT; `will` is None or (topic, msg, qos, retain).
        `done` is always called later from the loop, never from inside this call."""
        self.pkt_timeout_s = pkt_timeout_s
        client = _Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id,
                         clean_session=bool(clean), protocol=paho.MQTTv311)
        self.client = client
        client.enable_logger(log)                   # packets at DEBUG (flags, never the password)
        client.on_socket_open = self._socket_open
        client.on_socket_close = self._socket_close
        client.on_socket_register_write = self._register_write
        client.on_socket_unregister_write = self._unregister_write
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_publish = lambda c, u, mid, rc, props: self._resolve(('pub', mid), None)
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = lambda c, u, mid, rcs, props: self._resolve(('unsub', mid), None)
        client.on_message = lambda c, u, msg: self.on_message(msg.topic, msg.payload)
        self._arm_wait(('connack', 0), done)
        try:
            ip = self.net.resolve(host)
            if username:
                client.username_pw_set(username, password or None)
            if will:
                topic, message, qos, retain = will
                client.will_set(topic, message, qos, bool(retain))
            if self.tls_ctx is not None:
                client.tls_set_context(self.tls_ctx)
            client.dial = (ip, port)
            client.connect(host, port, keepalive_s)
        except NetError as exc:                     # 'dns', or not a loopback address
            why = exc.why
        except ssl.SSLError as exc:     # a certificate that does not verify (before ValueError:
                                        # ssl.CertificateError is one)
            self.net.log('tls_refused', remote=(host, port), why=str(exc))
            why = 'tls'
        except ValueError as exc:                   # paho refuses the will topic or client id
            why = str(exc)
        except OSError as exc:
            why = 'refused' if isinstance(exc, ConnectionRefusedError) else 'error'
        else:
            self._misc_timer = self.loop.call_later(MISC_PERIOD_S, self._misc)
            return
        self.loop.call_later(0, self._fail, 'connect: %s' % why)

    def publish(self, topic, payload, qos, retain, done):
        """QoS 0 completes once queued; QoS 1 when PUBACK arrives."""
        if not self._can_wait(done):
            return
        try:
            info = self.client.publish(topic, payload, qos, bool(retain))
        except ValueError as exc:                   # a wildcard or an empty topic
            done('publish: %s' % exc)
            return
        if info.rc != paho.MQTT_ERR_SUCCESS:
            done('publish: %s' % paho.error_string(info.rc))
        elif qos:
            self._arm_wait(('pub', info.mid), done)
        else:
            done(None)

    def subscribe(self, topic, qos, done):
        self._request('sub', lambda: self.client.subscribe(topic, qos), done)

    def unsubscribe(self, topic, done):
        self._request('unsub', lambda: self.client.unsubscribe(topic), done)

    def disconnect(self):
        """Send DISCONNECT and close; no callback is due afterwards."""
        client = self.client
        self._ending = True
        self._stop(None)
        if client is None or self._sock is None:
            return
        if not self.connected:
            self._drop(client)
            return
        self.connected = False
        client.disconnect()                         # paho closes the socket once it is written
        client.loop_write()
        if self._sock is not None:
            self.loop.call_later(DISCONNECT_FLUSH_S, self._drop, client)

    def abort(self):
        """Drop the TCP connection without DISCONNECT (module reboot): the broker sends the will."""
        self._ending = True
        self.connected = False
        self._stop(None)
        if self.client is not None:
            self._drop(self.client)

    # -- paho's external-loop callbacks -----------------------------------------------------

    def _socket_open(self, client, userdata, sock):
        self._sock = sock
        self.net.open.add(self)                     # Net.close_all() (shutdown) aborts it too
        self.loop.add_reader(sock, client.loop_read)

    def _socket_close(self, client, userdata, sock):
        if sock is self._sock:
            self.loop.remove_reader(sock)
            self.loop.remove_writer(sock)
            self._sock = None
            self.net.open.discard(self)

    def _register_write(self, client, userdata, sock):
        if sock is self._sock:
            self.loop.add_writer(sock, client.loop_write)

    def _unregister_write(self, client, userdata, sock):
        if sock is self._sock:
            self.loop.remove_writer(sock)

    def _misc(self):
        self._misc_timer = None
        if self.client is None or self._sock is None:
            return
        self.client.loop_misc()
        if self._sock is not None:
            self._misc_timer = self.loop.call_later(MISC_PERIOD_S, self._misc)

    # -- paho's protocol callbacks ----------------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason, props):
        if reason.is_failure:
            self._fail('CONNACK refused: %s' % reason)
            return
        self.connected = True
        self._resolve(('connack', 0), None)

    def _on_subscribe(self, client, userdata, mid, reasons, props):
        refused = any(reason.is_failure for reason in reasons)
        self._resolve(('sub', mid), 'subscription refused' if refused else None)

    def _on_disconnect(self, client, userdata, flags, reason, props):
        if client is self.client and not self._ending:
            self._fail('closed by broker (%s)' % reason)

    # -- internals --------------------------------------------------------------------------

    def _request(self, kind, call, done):
        if not self._can_wait(done):
            return
        try:
            rc, mid = call()
        except ValueError as exc:                   # an empty or malformed topic filter
            done('%s: %s' % (kind, exc))
            return
        if rc != paho.MQTT_ERR_SUCCESS:
            done('%s: %s' % (kind, paho.error_string(rc)))
        else:
            self._arm_wait((kind, mid), done)

    def _can_wait(self, done):
        if self.client is None or not self.connected:
            done('not connected')
            return False
        if len(self.waiting) >= MAX_INFLIGHT:
            done('too many requests in flight')
            return False
        return True

    def _arm_wait(self, key, done):
        """Wait for the acknowledgement `key` within the packet timeout (#MQTCFG)."""
        timer = self.loop.call_later(self.pkt_timeout_s, self._timeout, key)
        self.waiting[key] = (done, timer)

    def _resolve(self, key, error):
        entry = self.waiting.pop(key, None)
        if entry:
            entry[1].cancel()
            entry[0](error)

    def _timeout(self, key):
        if key in self.waiting:
            self._fail('packet timeout')

    def _fail(self, reason):
        """The session ended on its own: every waiting request fails, the socket drops."""
        was_connected = self.connected
        self.connected = False
        client = self.client
        self._ending = True
        self._stop(reason)
        if client is not None:
            self._drop(client)
        if was_connected:
            self.on_lost(reason)

    def _stop(self, reason):
        if self._misc_timer is not None:
            self._misc_timer.cancel()
            self._misc_timer = None
        waiting, self.waiting = self.waiting, {}
        for done, timer in waiting.values():
            timer.cancel()
            if reason:
                done(reason)

    def _drop(self, client):
        """Close paho's socket with RST and no DISCONNECT: paho has no public call that ends a
        session without one, and a module that reboots sends none (the broker then publishes the
        will)."""
        sock = self._sock
        client.on_socket_close = None               # paho may close it again when collected
        client.on_disconnect = None
        if sock is None:
            return
        self._socket_close(client, None, sock)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        except OSError:
            pass
        sock.close()

