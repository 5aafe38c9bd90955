"""The telemetry app's SMS commands: the channel that still works when the packet data session
does not. Board config "sms": {"allow": ["+15551234", ...], "max_parts": 2, "poll_ms": 60000,
"window_ms": 5000} (window_ms: Wavecom, see modemkit.sms).

From a listed sender: 'period=<ms>' sets the sampling period (answer 'period <ms>'), 'ping' and
'status' answer with the state: modem state, queue length, last sample sequence ('status' adds
samples sent and whether MQTT is up). Messages from anyone else are ignored and counted
(`ignored`), as are unknown commands (`unknown`). Answers are SMS, so they reach the sender
while the PDP context is down.
"""
from modemkit.modem import STATE_NAMES
from modemkit.sms import Sms, SmsError


class SmsCommands(object):
    ignored = 0
    unknown = 0

    def __init__(self, app, cfg):
        self.app = app
        self.allow = cfg.get('allow', [])
        # Wavecom: no AT command while the MQTT session holds the port (no escape that keeps
        # it, C.3): an SMS is found by listing every poll_ms, after ending the session once it
        # has held the listing up window_ms (the client reconnects; QoS 1 loses nothing)
        self.sms = Sms(app.modem, inbox=2, max_parts=cfg.get('max_parts', 2),
                       poll_ms=cfg.get('poll_ms', 60000), window_ms=cfg.get('window_ms'))

    def start(self):
        self.sms.start()
        self.app.sched.spawn(self._serve(), 'smscmd', parent=False)

    def state(self):
        app = self.app
        return 'modem %s queue %d seq %d' % (STATE_NAMES[app.modem.state], len(app.queue),
                                             app.queue.next_seq - 1)

    def _serve(self):
        app = self.app
        while True:
            m = yield self.sms.recv()
            if m.sender not in self.allow:
                self.ignored += 1
                app.log('telemetry: SMS from %s ignored' % m.sender)
                continue
            cmd = (m.text or '').strip().lower()
            if cmd.startswith('period=') and app.set_period(cmd[7:]):
                answer = 'period %d' % app.period
            elif cmd == 'ping':
                answer = self.state()
            elif cmd == 'status':
                answer = '%s sent %d mqtt %s' % (self.state(), app.sent,
                                                 'up' if app.client.up.is_set else 'down')
            else:
                self.unknown += 1
                app.log('telemetry: unknown SMS command %r' % cmd[:20])
                continue
            try:
                yield self.sms.send(m.sender, answer)
            except (SmsError, ValueError) as e:
                app.log('telemetry: SMS answer to %s failed: %r' % (m.sender, e))
