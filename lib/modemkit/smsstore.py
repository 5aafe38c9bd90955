"""The SIM's SMS store beside modemkit.sms (3GPP TS 27.005), in a module of its own so that
only what uses it pays its heap:

    st = SmsStore(sms)                     # sms = Sms(modem), started
    index, = yield st.write('+15551234', 'later')     # AT+CMGW: stored, "STO UNSENT"
    mr = yield st.send_stored(index)       # AT+CMSS: sent, still stored ("STO SENT")
    yield st.delete(index)                 # AT+CMGD
    used, total = yield st.memory()        # AT+CPMS?

A full store makes write() raise SmsFull (+CMS ERROR: 322, s3.2.5); the other codes are
SmsError with the code (321: nothing at that index). Messages written here stay until deleted:
the receiving task reads and deletes received ones only.
"""
from modemkit import smspdu
from modemkit.sched import Return
from modemkit.sms import SmsError

_CMSS = b'+CMSS:'
_CPMS = b'+CPMS:'


class SmsStore(object):
    def __init__(self, sms):
        self.sms = sms

    def write(self, number, text, timeout_ms=10000):
        """Store a text for `number` (parts as Sms.send()). Returns the index of each part;
        SmsFull when the store has no free slot (parts written before stay: delete them)."""
        alpha, body = smspdu.text_body(text)
        r = yield self.sms._send(number, alpha, body, timeout_ms, True)
        raise Return(r)

    def send_stored(self, index, timeout_ms=60000):
        """Send the message stored at `index` (s3.5.2). Returns its message reference."""
        r = yield self._user('AT+CMSS=%d' % index, timeout_ms, _CMSS)
        raise Return(r.num(0, 0, -1) if r.nlines else -1)

    def delete(self, index, timeout_ms=10000):
        yield self._user('AT+CMGD=%d' % index, timeout_ms, None)

    def memory(self, timeout_ms=10000):
        """(used, total) slots of the store messages are read from."""
        r = yield self._user('AT+CPMS?', timeout_ms, _CPMS)
        raise Return((r.num(0, 1, -1), r.num(0, 2, -1)))

    def _user(self, text, timeout_ms, expect):
        # on the sender's command, one exchange at a time (no prompt comes: the final result
        # ends it); the receiving task sets PDU mode up first
        sms = self.sms
        waited = 0
        while sms._sending or not sms._ok:
            if waited >= timeout_ms:
                raise SmsError(-1, 'SMS not ready (module not registered to a SIM)')
            yield sms.sched.sleep_ms(50)
            waited += 50
        sms._sending = True
        try:
            sms._sc.expect = expect
            r = yield sms._q(text, timeout_ms, sms._sc)
        finally:
            sms._sending = False
        raise Return(r)
