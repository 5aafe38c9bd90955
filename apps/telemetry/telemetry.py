"""The telemetry application: sample sensors on a fixed period, keep every sample in the
store-and-forward queue until the broker acknowledged it (QoS 1), keep <prefix>/<device>/status
'online'/'offline' (retained; the last will says offline), obey <prefix>/<device>/cmd.

Sample payload: {"seq":N,"t":T,"m":"<modem state>","q":<queued>,"<sensor>":value,...}
where T is Unix time in ms once NTP answered, else milliseconds since start ("t0":1 then).
With the Telit module's own MQTT client (board "mqtt": {"native": true}), whose AT command
cannot carry double quotes, the same fields go as text: seq=N t=T m=<state> q=<queued> ...
Commands on cmd: b'period=<ms>' changes the period; b'ping' answers on <prefix>/<device>/pong.
The same by SMS from the senders the board lists, plus 'status' (smscmd).
"""
from modemkit.modem import STATE_NAMES, READY
from modemkit.port import ticks_add, ticks_diff
from modemkit.sched import Event, Return
from modemkit.mqtt import MQTT, MQTTError
from modemkit.squeue import Queue

_DAYS_BEFORE = (0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334)


def unix_seconds(text):
    """'YYYY/MM/DD,hh:mm:ss+zz' (Quectel QNTP; zz in quarter hours) -> Unix seconds (UTC)."""
    y, mo, d = int(text[0:4]), int(text[5:7]), int(text[8:10])
    h, mi, s = int(text[11:13]), int(text[14:16]), int(text[17:19])
    zone = int(text[19:]) if len(text) > 19 else 0
    leap = 1 if mo > 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0) else 0
    days = (y - 1970) * 365 + (y - 1969) // 4 - (y - 1901) // 100 + (y - 1601) // 400 + \
        _DAYS_BEFORE[mo - 1] + leap + d - 1
    return days * 86400 + h * 3600 + mi * 60 + s - zone * 900


class Telemetry(object):
    dead = None             # the error an essential task died of; on the class, no instance slot

    def __init__(self, sched, modem, cfg, sensors, log=None):
        self.sched = sched
        self.modem = modem
        self.log = log if log is not None else modem.log
        mq = cfg['mqtt']
        tcfg = cfg.get('telemetry', {})
        base = '%s/%s/' % (mq.get('prefix', 'modemkit'), mq['device'])
        self.t_data = (base + 'telemetry').encode()
        self.t_status = (base + 'status').encode()
        self.t_pong = (base + 'pong').encode()
        self.t_cmd = (base + 'cmd').encode()
        self.period = tcfg.get('period_ms', 60000)
        self.ntp = tcfg.get('ntp') if 'ntp' in modem.CAPS else None
        self.ntp_at = 0                # when to ask NTP (again)
        self.ntp_port = tcfg.get('ntp_port', 123)
        self.limit = tcfg.get('count', 0)            # stop sampling after this many (0: never)
        self.sensors = sensors
        self.queue = Queue(tcfg.get('queue_path', 'telemetry'), tcfg.get('queue_bytes', 16384))
        self.kv = mq.get('native', False)
        if self.kv:
            from modemkit.mqtt_telit import TelitMQTT as client_cls
        else:
            client_cls = MQTT
        self.client = client_cls(modem, mq['host'], mq.get('port', 1883), client_id=mq['device'],
                           user=mq.get('user'), password=mq.get('password'),
                           keepalive=mq.get('keepalive', 60), clean=False,
                           will=(self.t_status, b'offline', 1, True), on_message=self._on_cmd,
                           max_packet=mq.get('max_packet', 256), window=mq.get('window', 2),
                           backoff_max_ms=mq.get('backoff_max_ms', 60000),
                           ack_timeout_ms=mq.get('ack_timeout_ms', 30000), log=self.log)
        self.queued = Event(sched)
        self.epoch_ms = None           # Unix ms at ticks 0, once NTP answered
        self.missed = 0                # sampling deadlines missed
        self.sampled = 0
        self.sent = 0
        self._ping = False
        self.smscmd = None
        if cfg.get('sms'):
            # only a board that lists SMS senders pays the heap for it (smscmd)
            from smscmd import SmsCommands
            self.smscmd = SmsCommands(self, cfg['sms'])

    def run(self):
        """Start the modem, the MQTT client and the sampler, then send samples until `count`
        (forever without it); returns how many were sent. This task itself is the sender: it
        says 'online' after each (re)connection (the last will said 'offline') and retries
        NTP. Each task more would hold about half a KiB (README, "Memory")."""
        c = self.client
        q = self.queue
        self.sched.on_error = self._died
        self.modem.start()
        if self.smscmd is not None:
            self.smscmd.start()
        self.sched.spawn(self._sampler(), 'sampler')
        if self.ntp:
            # the clock first, then MQTT: NTP's code and the connection's are never in the
            # heap at the same time
            yield self.modem.wait_ready()
            yield self._set_clock()
        yield c.subscribe(self.t_cmd, 1)   # not up yet: sent on each connection
        c.start()
        said = 0                        # the connection 'online' was said on
        while True:
            if self.dead is not None:
                raise self.dead
            if c.connects != said:
                try:
                    yield c.publish(self.t_status, b'online', 1, True, 30000)
                    said = c.connects
                except (OSError, MQTTError) as e:
                    self.log('telemetry: status: %r' % (e,))
            if (self.ntp and self.epoch_ms is None and self.modem.state == READY
                    and ticks_diff(self.sched.clock.ticks_ms(), self.ntp_at) >= 0):
                yield self._set_clock()
            rec = q.peek()
            if rec is None:
                if self.limit and self.sampled >= self.limit:
                    yield c.publish(self.t_status, b'done', 1, True, 30000)
                    raise Return(self.sent)
                self.queued.clear()
                yield self.queued.wait(1000)
                continue
            if not c.up.is_set:
                # offline: wait here, not inside publish(), whose frame would be held meanwhile
                yield c.up.wait(1000)
                continue
            yield c.publish(self.t_data, rec[1], 1)
            q.pop()
            self.sent += 1
            if self._ping:
                self._ping = False
                yield c.publish(self.t_pong, ('pong %d' % self.sent).encode(), 0)

    def _died(self, task, err):
        # The modem's or the MQTT client's task ended with an error nobody waited for (e.g. a
        # MemoryError): nothing would be published again, so the app ends with that error and
        # a supervisor or watchdog can restart the device.
        if self.dead is None:       # not again for this task itself, which then ends with it
            self.log('telemetry: task %s died: %r' % (task.name, err))
            self.dead = err
        self.queued.set()

    def _now_ms(self):
        t = self.sched.clock.ticks_ms()
        return t if self.epoch_ms is None else self.epoch_ms + t

    def _set_clock(self):
        try:
            text = yield self.modem.ntp(self.ntp, self.ntp_port, 30000)
            self.epoch_ms = unix_seconds(text) * 1000 - self.sched.clock.ticks_ms()
            self.log('telemetry: clock set from NTP: %s' % text)
        except Exception as e:
            self.log('telemetry: NTP failed: %r' % (e,))
            self.ntp_at = ticks_add(self.sched.clock.ticks_ms(), 30000)

    def _sampler(self):
        s = self.sched
        clock = s.clock
        due = clock.ticks_ms()
        if self.kv:
            head, field, tail = 'seq=%d t=%d', ' %s=%s', ''
        else:
            head, field, tail = '{"seq":%d,"t":%d', ',"%s":%s', '}'
        while not self.limit or self.sampled < self.limit:
            parts = [head % (self.queue.next_seq, self._now_ms())]
            if self.epoch_ms is None:
                parts.append(field % ('t0', 1))
            state = STATE_NAMES[self.modem.state]
            parts.append(field % ('m', state if self.kv else '"%s"' % state))
            parts.append(field % ('q', len(self.queue)))
            for name, sensor in self.sensors:
                parts.append(field % (name, '%.2f' % sensor.read()))
            parts.append(tail)
            self.queue.append(''.join(parts).encode())
            self.sampled += 1
            self.queued.set()
            due = ticks_add(due, self.period)
            late = ticks_diff(clock.ticks_ms(), due)
            if late > 0:
                # network work held us past the next deadline: count it, keep the cadence
                self.missed += (late + self.period - 1) // self.period
                due = ticks_add(due, ((late + self.period - 1) // self.period) * self.period)
            yield s.sleep_ms(ticks_diff(due, clock.ticks_ms()))

    def _on_cmd(self, topic, payload, retained):
        if payload.startswith(b'period='):
            if not self.set_period(payload[7:]):
                self.log('telemetry: bad command %r' % payload)
        elif payload == b'ping':
            self._ping = True
            self.queued.set()

    def set_period(self, text):
        """'period=<ms>' from MQTT or SMS (at least 100 ms); False when not a number."""
        try:
            self.period = max(100, int(text))
        except ValueError:
            return False
        self.log('telemetry: period %d ms' % self.period)
        return True
