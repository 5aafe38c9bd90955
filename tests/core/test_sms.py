"""modemkit.sms at the byte level (scripted 27.005 conversation, 3-byte chunks): set-up, the
SIM listed at start, a +CMGR PDU line longer than the AT line buffer streamed into the driver's
own buffer, deletion, a +CMTI, sending with the prompt, +CMS ERROR as SmsError. Portable."""
from mktest import setup
from modemkit import smspdu
from modemkit.sched import Return
from modemkit.sms import Sms, SmsError, SmsFull
from modemkit.smsstore import SmsStore

# T-RUN s2.3: the digest answer as the mobile reads it (83-octet TPDU, 182 hex characters)
TRUN_RESPONSE = ('0791934329002000040C9193438686761100158050922102818040D1D1D10011014A756E7261377'
                 '2306B494563483971563534326E33513D3D0D0A2B434F50533A20302C302C22766F6461666F6E6'
                 '5204954220D0A0D0A4F4B0D0A')
HELLO = smspdu.to_hex(smspdu.deliver('+15551234', smspdu.pack7(bytearray(b'hi')), 2,
                                     (26, 12, 7, 12, 0, 0, 4)))


class Board(object):
    """What Sms takes from a dialect driver: its scheduler, AT channel, state and log."""

    def __init__(self, env):
        self.sched = env.sched
        self.chan = env.chan
        self.state = 7          # ready
        self.log = env.logs.append


def steps_to_listen():
    return [('>', b'AT+CMGF=0\r'), ('<', b'\r\nOK\r\n'),
            ('>', b'AT+CPMS="SM","SM","SM"\r'),
            ('<', b'\r\n+CPMS: 1,20,1,20,1,20\r\n\r\nOK\r\n'),
            ('>', b'AT+CNMI=2,1,0,0,0\r'), ('<', b'\r\nOK\r\n'),
            ('>', b'AT+CMGL=4\r'),
            ('<', b'\r\n+CMGL: 3,0,"",83\r\n' + TRUN_RESPONSE.encode() + b'\r\n\r\nOK\r\n'),
            ('>', b'AT+CMGR=3\r'),
            ('<', b'\r\n+CMGR: 0,"",83\r\n' + TRUN_RESPONSE.encode() + b'\r\n\r\nOK\r\n'),
            ('>', b'AT+CMGD=3\r'), ('<', b'\r\nOK\r\n')]


def test_listed_read_deleted_then_cmti():
    env = setup(steps_to_listen() + [
        ('~', 100), ('<', b'\r\n+CMTI: "SM",4\r\n'),
        ('>', b'AT+CMGR=4\r'),
        ('<', b'\r\n+CMGR: 0,"",' + str(len(HELLO) // 2 - 1).encode() + b'\r\n' +
         HELLO.encode() + b'\r\n\r\nOK\r\n'),
        ('>', b'AT+CMGD=4\r'), ('<', b'\r\nOK\r\n')])
    sms = Sms(Board(env))
    sms.start()

    def main():
        a = yield sms.recv(5000)
        b = yield sms.recv(5000)
        raise Return((a, b))

    a, b = env.sched.run(main())
    assert a.sender == '+393468686711' and a.timestamp == (8, 5, 29, 12, 20, 18, 8)
    assert a.text is None and a.data[:3] == b'\xd1\xd1\xd1' and a.data.endswith(b'OK\r\n')
    assert b.sender == '+15551234' and b.text == 'hi' and b.parts == 1
    assert env.script.done()


def test_send_with_prompt_and_error():
    pdu = smspdu.submit('+15551234', smspdu.pack7(bytearray(b'hi')), 2)
    env = setup(steps_to_listen() + [
        ('>', b'AT+CMGS=' + str(smspdu.tpdu_length(pdu)).encode() + b'\r'), ('<', b'\r\n> '),
        ('>', smspdu.to_hex(pdu).encode() + b'\x1a'), ('<', b'\r\n+CMGS: 7\r\n\r\nOK\r\n'),
        ('>', b'AT+CMGS=' + str(smspdu.tpdu_length(pdu)).encode() + b'\r'), ('<', b'\r\n> '),
        ('>', smspdu.to_hex(pdu).encode() + b'\x1a'), ('<', b'\r\n+CMS ERROR: 331\r\n')])
    sms = Sms(Board(env))
    sms.start()

    def main():
        yield sms.recv(5000)
        mrs = yield sms.send('+15551234', 'hi')
        try:
            yield sms.send('+15551234', 'hi')
        except SmsError as e:
            raise Return((mrs, e.code))

    assert env.sched.run(main()) == ([7], 331)
    assert env.script.done()


def test_text_mode_answer_sets_pdu_mode_again():
    # a module that restarted answers in text mode: the driver sets PDU mode up again and
    # reads the message once more instead of deleting it
    env = setup(steps_to_listen()[:8] + [
        ('>', b'AT+CMGR=3\r'),
        ('<', b'\r\n+CMGR: "REC UNREAD","+15551234","","26/12/07,12:00:00+04"\r\nhi there\r\n'
              b'\r\nOK\r\n')] + steps_to_listen())
    sms = Sms(Board(env))
    sms.start()

    def main():
        m = yield sms.recv(5000)
        raise Return(m)

    m = env.sched.run(main())
    assert m.sender == '+393468686711' and sms.bad == 0
    assert env.script.done()


def test_stored_outgoing_left_alone_and_full_store_typed():
    # AT+CMGL lists a message the application wrote (stat 2, STO UNSENT) beside a received
    # one: only the received one is read and deleted. The store full: +CMS ERROR 322, in
    # numbers or in the +CMEE=2 text a Telit prints, is SmsFull; other texts keep their code
    pdu = smspdu.submit('+15551234', smspdu.pack7(bytearray(b'hi')), 2)
    n = str(smspdu.tpdu_length(pdu)).encode()
    steps = steps_to_listen()
    steps[7] = ('<', b'\r\n+CMGL: 2,2,"",' + n + b'\r\n' + smspdu.to_hex(pdu).encode() +
                b'\r\n+CMGL: 3,0,"",83\r\n' + TRUN_RESPONSE.encode() + b'\r\n\r\nOK\r\n')
    env = setup(steps + [
        ('>', b'AT+CPMS?\r'),
        ('<', b'\r\n+CPMS: "SM",20,20,"SM",20,20,"SM",20,20\r\n\r\nOK\r\n'),
        ('>', b'AT+CMGW=' + n + b'\r'), ('<', b'\r\n+CMS ERROR: 322\r\n'),
        ('>', b'AT+CMGW=' + n + b'\r'), ('<', b'\r\n+CMS ERROR: memory full\r\n'),
        ('>', b'AT+CMSS=9\r'), ('<', b'\r\n+CMS ERROR: invalid memory index\r\n'),
        ('>', b'AT+CMGD=2\r'), ('<', b'\r\nOK\r\n')])
    sms = Sms(Board(env))
    st = SmsStore(sms)
    sms.start()

    def main():
        m = yield sms.recv(5000)
        out = [m.sender, (yield st.memory())]
        for _ in range(2):
            try:
                yield st.write('+15551234', 'hi')
            except SmsFull as e:
                out.append(e.code)
        try:
            yield st.send_stored(9)
        except SmsFull:
            out.append('full?')
        except SmsError as e:
            out.append(e.code)
        yield st.delete(2)
        raise Return(out)

    assert env.sched.run(main()) == ['+393468686711', (20, 20), 322, 322, 321]
    assert env.script.done()
