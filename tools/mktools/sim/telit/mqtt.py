"""Telit native MQTT commands (T-IPE §13; Platform Version ID 30/37 only, digest A.1.1 #27):
`#MQEN`, `#MQCFG`, `#MQCFG2`, `#MQWCFG`, `#MQTCFG`, `#MQCONN`, `#MQDISC`, `#MQPUBS`, `#MQSUB`,
`#MQUNS`, `#MQREAD` and the `#MQRING` URC.  A mixin of `TelitModem`; the protocol is
`mqtt_client.MqttSession`, paho-mqtt talking to a real broker; with `<sslEn>` 1 (s13.2.1)
over TLS (the module's trust store config `tls_ca`; a certificate that does not verify fails
#MQCONN with `connection failed`).
"""

from mktools.sim.core import tls
from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.telit.mqtt_client import MqttSession

INSTANCES = 2                   # §13: "up to two MQTT client instances"
SLOTS = 30                      # §13.6.1: 30 message slots
SUBSCRIBE_QOS = 0               # #MQSUB carries no QoS; the subscription is QoS 0 [INFERRED]
HOST_MAX = 256
TOPIC_MAX = 256
MESSAGE_MAX = 1024


class MqttInstance:
    """Configuration and session of one `<instanceNumber>` (defaults: §13.2.x read examples)."""

    def __init__(self, number):
        self.number = number
        self.enabled = False
        self.host, self.port, self.cid, self.ssl = '', 1883, 1, 0
        self.keepalive, self.clean = 20, 1
        self.will = None                # (retain, qos, topic, message) when the will flag is 1
        self.pkt_timeout = 10
        self.client = None
        self.slots = {}                 # mId -> (topic, payload)

    @property
    def connected(self):
        return self.client is not None and self.client.connected


class MqttCommands:
    """The #MQ... command handlers."""

    COMMANDS = {
        '#MQEN': 'at_mqen', '#MQCFG': 'at_mqcfg', '#MQCFG2': 'at_mqcfg2', '#MQWCFG': 'at_mqwcfg',
        '#MQTCFG': 'at_mqtcfg', '#MQCONN': 'at_mqconn', '#MQDISC': 'at_mqdisc',
        '#MQPUBS': 'at_mqpubs', '#MQSUB': 'at_mqsub', '#MQUNS': 'at_mquns', '#MQREAD': 'at_mqread',
    }

    def reset_mqtt(self):
        self.module.mqtt = [MqttInstance(n) for n in range(1, INSTANCES + 1)]

    def drop_mqtt(self, cid=None):
        for inst in self.module.mqtt:
            if inst.client is not None and (cid is None or inst.cid == cid):
                inst.client.abort()
                inst.client = None

    # -- dispatch helpers -------------------------------------------------------------------

    def _mqtt(self, op, args, handler, need_enabled=True):
        """Common gate: only ID 30/37 have #MQ... (else ERROR as for an unknown command)."""
        if not self.platform.mqtt:
            return 'ERROR'
        if op in ('test', 'read'):
            return handler(op, args, None)
        if op != 'set':
            return 'ERROR'
        inst = self.module.mqtt[self.arg_int(args, 0, 1, INSTANCES) - 1]
        if need_enabled and not inst.enabled:
            return self.cme('operation not allowed')
        return handler(op, args, inst)

    def _each(self, name, render):
        for inst in self.module.mqtt:
            self.line(f'{name}: {inst.number},{render(inst)}')
        return 'OK'

    # -- #MQEN ------------------------------------------------------------------------------

    def at_mqen(self, op, args):
        return self._mqtt(op, args, self._mqen, need_enabled=False)

    def _mqen(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQEN: (1-{INSTANCES}),(0-1)')
            return 'OK'
        if op == 'read':
            return self._each('#MQEN', lambda i: int(i.enabled))
        enable = self.arg_int(args, 1, 0, 1)
        if enable and inst.enabled:
            return self.cme('operation not allowed')    # §13.1: already enabled is an error
        if not enable and inst.client is not None:
            inst.client.disconnect()
            inst.client = None
        inst.enabled = bool(enable)
        inst.slots.clear()
        return 'OK'

    # -- configuration ----------------------------------------------------------------------

    def at_mqcfg(self, op, args):
        return self._mqtt(op, args, self._mqcfg)

    def _mqcfg(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQCFG: (1-{INSTANCES}),{HOST_MAX},(1-65535),'
                      f'(1-{self.platform.cids[1]}),(0,1)')
            return 'OK'
        if op == 'read':
            # §13.2.1: '#MQCFG: 1,,1883,1,0' - the host name is printed unquoted
            return self._each('#MQCFG', lambda i: f'{i.host},{i.port},{i.cid},{i.ssl}')
        host = self.arg_str(args, 1, HOST_MAX)
        port = self.arg_int(args, 2, 1, 65535)
        cid = self.arg_int(args, 3, 1, self.platform.cids[1])
        ssl = self.arg_int(args, 4, 0, 1, default=0)
        if inst.connected:
            return self.cme('operation not allowed')
        if self.interface_ip(cid) is None:
            return self.cme('context not opened')   # §13.2.1: "PDP should be enabled before"
        inst.host, inst.port, inst.cid, inst.ssl = host, port, cid, ssl
        return 'OK'

    def at_mqcfg2(self, op, args):
        return self._mqtt(op, args, self._mqcfg2)

    def _mqcfg2(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQCFG2: (1-{INSTANCES}),(0-65535),(0,1)')
            return 'OK'
        if op == 'read':
            return self._each('#MQCFG2', lambda i: f'{i.keepalive},{i.clean}')
        inst.keepalive = self.arg_int(args, 1, 0, 65535)
        inst.clean = self.arg_int(args, 2, 0, 1)
        return 'OK'

    def at_mqwcfg(self, op, args):
        return self._mqtt(op, args, self._mqwcfg)

    def _mqwcfg(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQWCFG: (1-{INSTANCES}),(0,1),(0,1),(0-1),{TOPIC_MAX},{MESSAGE_MAX}')
            return 'OK'
        if op == 'read':
            return self._each('#MQWCFG', lambda i: '1,' + ','.join(str(v) for v in i.will)
                              if i.will else '0')
        if not self.arg_int(args, 1, 0, 1):
            inst.will = None
            return 'OK'
        inst.will = (self.arg_int(args, 2, 0, 1), self.arg_int(args, 3, 0, 1),
                     self.arg_str(args, 4, TOPIC_MAX), self.arg_str(args, 5, MESSAGE_MAX))
        return 'OK'

    def at_mqtcfg(self, op, args):
        return self._mqtt(op, args, self._mqtcfg)

    def _mqtcfg(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQTCFG: (1-{INSTANCES}),(1-60)')
            return 'OK'
        if op == 'read':
            return self._each('#MQTCFG', lambda i: i.pkt_timeout)
        inst.pkt_timeout = self.arg_int(args, 1, 1, 60)
        return 'OK'

    # -- connection -------------------------------------------------------------------------

    def at_mqconn(self, op, args):
        return self._mqtt(op, args, self._mqconn)

    def _mqconn(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQCONN: (1-{INSTANCES}),{TOPIC_MAX},{TOPIC_MAX},{TOPIC_MAX}')
            return 'OK'
        if op == 'read':
            # §13.3.1 prints the format as '#MQCONN=<inst>,<state>'; the examples use ': '
            return self._each('#MQCONN', lambda i: int(i.connected))
        client_id = self.arg_str(args, 1, TOPIC_MAX)
        user = self.arg_str(args, 2, TOPIC_MAX, default='')
        password = self.arg_str(args, 3, TOPIC_MAX, default='')
        if inst.client is not None or not inst.host:
            return self.cme('operation not allowed')
        if self.interface_ip(inst.cid) is None:
            return self.cme('context not opened')
        try:
            self.net.resolve(inst.host)
        except NetError:
            return self.cme('cannot resolve DN')
        if not self.route_ok(inst.cid):
            return self.cme('connection failed')
        client = MqttSession(self.loop, self.net,
                             on_message=lambda topic, payload: self._mqring(inst, topic, payload),
                             on_lost=lambda why: self._mqtt_lost(inst, client, why),
                             tls_ctx=tls.context(self.config) if inst.ssl else None)
        inst.client = client
        will = None
        if inst.will:
            retain, qos, topic, message = inst.will
            will = (topic, message.encode('latin-1'), qos, retain)

        def done(error):
            if error is None:
                self.finish('OK')
                return
            self.log('mqtt_connect_failed', instance=inst.number, why=error)
            inst.client = None
            self.finish(self.cme('connection failed'))

        client.connect(inst.host, inst.port, client_id, user, password, inst.keepalive,
                       inst.clean, will, inst.pkt_timeout, done)
        return PENDING

    def _mqtt_lost(self, inst, client, why):
        if inst.client is client:
            self.log('mqtt_lost', instance=inst.number, why=why)
            inst.client = None

    def at_mqdisc(self, op, args):
        return self._mqtt(op, args, self._mqdisc)

    def _mqdisc(self, op, args, inst):
        if op in ('test', 'read'):
            return 'OK' if op == 'test' else 'ERROR'
        if inst.client is not None:
            inst.client.disconnect()
            inst.client = None
        return 'OK'

    # -- publish / subscribe ----------------------------------------------------------------

    def _request_done(self, error):
        self.finish('OK' if error is None else self.cme('operation not allowed'))

    def at_mqpubs(self, op, args):
        return self._mqtt(op, args, self._mqpubs)

    def _mqpubs(self, op, args, inst):
        if op in ('test', 'read'):
            return 'OK' if op == 'test' else 'ERROR'
        topic = self.arg_str(args, 1, TOPIC_MAX)
        retain = self.arg_int(args, 2, 0, 1)
        qos = self.arg_int(args, 3, 0, 1)
        message = self.arg_str(args, 4, MESSAGE_MAX)
        if not inst.connected:
            return self.cme('operation not allowed')
        # §13.5.1: with QoS > 0 it succeeds once the acknowledgement is received
        inst.client.publish(topic, message.encode('latin-1'), qos, retain, self._request_done)
        return PENDING

    def at_mqsub(self, op, args):
        return self._mqtt(op, args, self._mqsub)

    def _mqsub(self, op, args, inst):
        return self._subscription(op, args, inst, subscribe=True)

    def at_mquns(self, op, args):
        return self._mqtt(op, args, self._mquns)

    def _mquns(self, op, args, inst):
        return self._subscription(op, args, inst, subscribe=False)

    def _subscription(self, op, args, inst, subscribe):
        if op in ('test', 'read'):
            return 'OK' if op == 'test' else 'ERROR'
        topic = self.arg_str(args, 1, TOPIC_MAX)       # GT-24: #MQUNS takes it unquoted too
        if not inst.connected:
            return self.cme('operation not allowed')
        if subscribe:
            inst.client.subscribe(topic, SUBSCRIBE_QOS, self._request_done)
        else:
            inst.client.unsubscribe(topic, self._request_done)
        return PENDING

    # -- receiving (§13.6) ------------------------------------------------------------------

    def _mqring(self, inst, topic, payload):
        free = [mid for mid in range(1, SLOTS + 1) if mid not in inst.slots]
        instances = self.module.ports
        if not free:
            self.log('mqtt_queue_full', instance=inst.number, topic=topic)
            for port in instances:
                port.urc('#MQRING: 0')
            return
        # GT-24: mId is the lowest free slot (1 again once read); topics are unquoted
        mid = free[0]
        inst.slots[mid] = (topic, bytes(payload))
        for port in instances:                          # "on all AT commands interfaces"
            port.urc(f'#MQRING: {inst.number},{mid},{topic},{len(payload)}')

    def at_mqread(self, op, args):
        return self._mqtt(op, args, self._mqread)

    def _mqread(self, op, args, inst):
        if op == 'test':
            self.line(f'#MQREAD: (1-{INSTANCES}),(1-{SLOTS})')
            return 'OK'
        if op == 'read':
            return self._each('#MQREAD', lambda i: len(i.slots))
        mid = self.arg_int(args, 1, 1, SLOTS)
        if mid not in inst.slots:
            return self.cme('invalid index')
        topic, payload = inst.slots.pop(mid)
        self.line(f'#MQREAD: {inst.number},{topic},{len(payload)}')
        # §13.7.1 shows '<<<' and the payload on separate lines (framing lost in the PDF);
        # emitted as '<<<' CR LF, then exactly <len> payload bytes
        self.send(b'<<<\r\n' + payload)
        return 'OK'
