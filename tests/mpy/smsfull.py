"""The SIM's SMS store full, on the MicroPython unix port, against
`modemkit sim --pty LINK --sms-slots 5 --sms-at 0 --sms SENDER=m0 ... --sms SENDER=m6
--sms-echo ECHO_NUMBER`: the SIM is full at start (two more wait at the service centre), a
write then is SmsFull (+CMS ERROR: 322), the device drains the SIM; it fills the SIM itself
with AT+CMGW to SmsFull, a message arriving then is not stored, deleting brings it.

    python -m mktools.dev.romrun -X heapsize=72K --rom tests/mpy/smsfull.py -m smsfull \
        /rom/lib DIALECT TTY ECHO_NUMBER SENDER COUNT

prints 'ok <check> <detail>' or 'FAIL <check> <error>' per check, then 'done'.
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port
from modemkit.sched import Scheduler
from modemkit.sms import Sms, SmsError, SmsFull
from modemkit.smsstore import SmsStore

DIALECT, TTY, ECHO, SENDER = sys.argv[2:6]
COUNT = int(sys.argv[6])


def driver_class():
    if DIALECT == 'quectel':
        from modemkit.quectel import Quectel
        return Quectel
    if DIALECT == 'telit':
        from modemkit.telit import Telit
        return Telit
    from modemkit.wavecom import Wavecom
    return Wavecom


sched = Scheduler()
modem = driver_class()(sched, port.open_serial(TTY), {'apn': 'internet'}, log=lambda m: None)
sms = Sms(modem, inbox=2, max_parts=2)
st = SmsStore(sms)
modem.start()
sms.start()


def check(name, ok, detail):
    print('%s %s %s' % ('ok' if ok else 'FAIL', name, detail))


def full_at_start():
    # the inbox takes 2, the centre's 2 take their slots: the SIM stays full while unread
    used = total = -1
    for _ in range(100):
        used, total = yield st.memory()
        if used == total and len(sms.inbox) == 2:
            break
        yield sched.sleep_ms(200)
    check('full-at-start', used == total, '%d/%d' % (used, total))
    try:
        yield st.write(ECHO, 'later')
        check('write-full', False, 'no error')
    except SmsFull as e:
        check('write-full', e.code == 322, '%d' % e.code)
    got = []
    for _ in range(COUNT):
        m = yield sms.recv(60000)
        if m is None:
            break
        got.append(m.text)
    want = ['m%d' % i for i in range(COUNT)]
    check('drained', sorted(got) == want, '%d' % len(got))
    used, total = yield st.memory()
    check('empty', used == 0, '%d/%d' % (used, total))


def fill_then_receive():
    written = []
    code = None
    for _ in range(10):
        try:
            written.extend((yield st.write(ECHO, 'later')))
        except SmsFull as e:
            code = e.code
            break
    check('filled', code == 322, '%d then %r' % (len(written), code))
    # the echo of a stored message finds the SIM full: no +CMTI, nothing to read
    mr = yield st.send_stored(written[0])
    m = yield sms.recv(3000)
    check('held', m is None and mr >= 0, 'mr %d' % mr)
    for index in written:
        yield st.delete(index)
    m = yield sms.recv(60000)
    check('after-delete', m is not None and m.sender == ECHO and m.text == 'later',
          repr(m and (m.sender, m.text)))
    try:
        yield st.send_stored(written[0])
        check('cms', False, 'no error')
    except SmsFull as e:
        check('cms', False, repr(e))
    except SmsError as e:
        check('cms', e.code == 321, '%d' % e.code)


def main():
    yield modem.wait_ready(120000)
    for step in (full_at_start, fill_then_receive):
        try:
            yield step()
        except Exception as e:
            print('FAIL %s %r' % (step.__name__, e))
        gc.collect()
    print('heap free %d' % gc.mem_free())
    print('done')


sched.run(main())
