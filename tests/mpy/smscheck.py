"""SMS round trips of a dialect driver on the MicroPython unix port against
`modemkit sim --pty LINK --sms-echo NUMBER --sms SENDER=TEXT`:

    python -m mktools.dev.romrun -X heapsize=64K --rom tests/mpy/smscheck.py -m smscheck \
        /rom/lib DIALECT TTY ECHO_NUMBER SENDER TEXT

prints 'ok <check> <detail>' or 'FAIL <check> <error>' per check, then 'done'.
"""
import sys
import gc

sys.path.insert(0, sys.argv[1])

from modemkit import port
from modemkit.sched import Scheduler, Return
from modemkit.sms import Sms

DIALECT, TTY, ECHO, SENDER, INBOUND = sys.argv[2:7]
# 7-bit with an extension character, UCS-2 beyond the BMP, and 300 characters (2 parts)
TEXTS = (('gsm7', 'Hello @ 5\u20ac [ok]'),
         ('ucs2', 'Gr\u00fc\u00dfe \u4f60\u597d \U0001f600'),
         ('long', ''.join([chr(0x61 + i % 26) for i in range(300)])))


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
sms = Sms(modem, inbox=2, max_parts=3)
modem.start()
sms.start()


def round_trip(text=None, data=None):
    if data is None:
        mrs = yield sms.send(ECHO, text)
    else:
        mrs = yield sms.send_data(ECHO, data)
    m = yield sms.recv(60000)
    if m is None:
        raise ValueError('nothing came back')
    if m.sender != ECHO or m.text != text or m.data != data:
        raise ValueError('came back different: %r %r %r' % (m.sender, m.text, m.data))
    raise Return('%d sent, %d received' % (len(mrs), m.parts))


def main():
    yield modem.wait_ready(120000)
    m = yield sms.recv(60000)
    if m is not None and m.sender == SENDER and m.text == INBOUND:
        print('ok inbound %s' % m.sender)
    else:
        print('FAIL inbound %r' % (m and (m.sender, m.text)))
    for name, text in TEXTS:
        try:
            detail = yield round_trip(text)
            print('ok %s %s' % (name, detail))
        except Exception as e:
            print('FAIL %s %r' % (name, e))
        gc.collect()
    try:
        detail = yield round_trip(data=bytes(bytearray(range(200))))
        print('ok data %s' % detail)
    except Exception as e:
        print('FAIL data %r' % e)
    print('heap free %d' % gc.mem_free())
    print('done')


sched.run(main())
