"""modemkit.sms against the emulated module of every dialect (in-process, fake clock): texts in
each alphabet and concatenated, 8-bit data, messages already on the SIM at start, the store
full, refused long messages, and +CMS ERROR codes as SmsError."""
import pytest

from modemkit.sched import Return
from modemkit.sms import Sms, SmsError, SmsFull
from modemkit.smsstore import SmsStore

from rig import Rig

ECHO = '+15550000'          # the emulator sends what the module sends this number back
MOBILE = '+393468686711'
DIALECTS = ['quectel', 'telit', 'wavecom']
LONG = ''.join(chr(0x61 + i % 26) for i in range(300))


def rig_with_sms(dialect, **kw):
    rig = Rig(dialect, sim={'sms_echo': ECHO})
    sms = Sms(rig.drv, **kw)
    sms.start()
    return rig, sms


@pytest.mark.parametrize('dialect', DIALECTS)
def test_round_trips(dialect):
    rig, sms = rig_with_sms(dialect)
    texts = ['Hello @ 5\u20ac [ok]', 'Gr\u00fc\u00dfe \u4f60\u597d \U0001f600', LONG]

    def main():
        yield rig.drv.wait_ready(60000)
        got = []
        for text in texts:
            mrs = yield sms.send(ECHO, text)
            m = yield sms.recv(30000)
            got.append((len(mrs), m.sender, m.text, m.parts))
        yield sms.send_data(ECHO, bytes(range(256)))
        m = yield sms.recv(30000)
        got.append((m.data, m.text, m.parts))
        raise Return(got)

    got = rig.run(main())
    assert got[0] == (1, ECHO, texts[0], 1)
    assert got[1] == (1, ECHO, texts[1], 1)
    assert got[2] == (2, ECHO, LONG, 2)
    assert got[3] == (bytes(range(256)), None, 2)
    sent = list(rig.sim.sms_out)
    assert [e['dcs'] for e in sent] == [0, 8, 0, 0, 4, 4]
    assert sent[2]['concat'][1:] == (2, 1) and sent[3]['concat'][1:] == (2, 2)
    assert rig.sim.sms_store.used() == 0          # each one read, then deleted


@pytest.mark.parametrize('dialect', DIALECTS)
def test_messages_on_the_sim_at_start_and_a_full_store(dialect):
    rig = Rig(dialect, start=False)
    for i in range(22):                            # 20 slots: two wait at the centre
        rig.sim.deliver_sms(MOBILE, 'm%d' % i)
    assert rig.sim.sms_store.used() == 20
    sms = Sms(rig.drv, inbox=2)
    rig.drv.start()
    sms.start()

    def main():
        out = []
        for _ in range(22):
            m = yield sms.recv(60000)
            out.append(m.text)
        raise Return(out)

    assert sorted(rig.run(main())) == sorted('m%d' % i for i in range(22))
    assert rig.sim.sms_store.used() == 0


@pytest.mark.parametrize('dialect', ['quectel'])
def test_too_many_parts_refused_and_errors_typed(dialect):
    rig, sms = rig_with_sms(dialect, max_parts=2)
    rig.sim.deliver_sms(MOBILE, 'x' * 500)          # 4 parts
    rig.sim.deliver_sms(MOBILE, 'after')

    def main():
        yield rig.drv.wait_ready(60000)
        m = yield sms.recv(60000)
        errors = []
        try:
            yield sms.send(ECHO, 'y' * 500)
        except SmsError as e:
            errors.append(e.code)
        try:
            yield sms._q('AT+CMGR=99')
        except SmsError as e:
            errors.append(e.code)
        rig.sim.set_registration(0)
        try:
            yield sms.send(ECHO, 'no network')
        except SmsError as e:
            errors.append(e.code)
        raise Return((m.text, errors))

    text, errors = rig.run(main())
    assert text == 'after'
    assert sms.refused == 1
    assert errors == [-1, 321, 331]
    assert rig.sim.sms_store.used() == 0


def test_wavecom_data_mode_holds_sms_on_the_sim(tcp_echo_server):
    """Wavecom: no AT command during a session's data mode (C.3): an SMS arriving meanwhile
    stays on the SIM, the stream is intact, and the SMS is read once the session ends."""
    rig, sms = rig_with_sms('wavecom')
    data = bytes(range(256)) * 8

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        rig.sim.deliver_sms(MOBILE, 'while online')
        yield s.send(data, 30000)
        got = bytearray()
        buf = bytearray(512)
        while len(got) < len(data):
            n = yield s.recv_into(buf, 30000)
            got.extend(buf[:n])
        early = yield sms.recv(2000)
        yield s.close()
        m = yield sms.recv(30000)
        raise Return((bytes(got), early, m.text))

    got, early, text = rig.run(main())
    assert got == data and early is None and text == 'while online'


@pytest.mark.parametrize('dialect', DIALECTS)
def test_full_store_typed_error_then_receiving_again(dialect):
    """The application fills the SIM with AT+CMGW: the next write is SmsFull (+CMS ERROR: 322);
    a message arriving meanwhile is not stored (it waits at the centre, no +CMTI); deleting
    frees a slot and it comes. A stored message is sent with AT+CMSS; other codes keep theirs."""
    rig, sms = rig_with_sms(dialect, inbox=2)
    st = SmsStore(sms)
    rig.sim.config['sms_slots'] = 3
    rig.sim.sms_store = None                       # the store with 3 slots

    def main():
        yield rig.drv.wait_ready(60000)
        yield rig.sched.sleep_ms(2000)
        out = {'empty': (yield st.memory())}
        written = []
        for i in range(4):
            try:
                written.extend((yield st.write(ECHO, 'later %d' % i)))
            except SmsFull as e:
                out['full'] = (i, e.code, isinstance(e, SmsError))
                break
        out['memory'] = yield st.memory()
        rig.sim.deliver_sms(MOBILE, 'while full')
        out['held'] = yield sms.recv(3000)
        yield st.delete(written[1])
        m = yield sms.recv(30000)
        out['after'] = m.text
        out['mr'] = yield st.send_stored(written[0])
        m = yield sms.recv(30000)
        out['echo'] = (m.sender, m.text)
        for index in (written[0], written[2]):
            yield st.delete(index)
        try:
            yield st.send_stored(written[0])
        except SmsError as e:
            out['gone'] = (type(e).__name__, e.code)
        out['end'] = yield st.memory()
        raise Return(out)

    out = rig.run(main())
    assert out['empty'] == (0, 3)
    assert out['full'] == (3, 322, True)
    assert out['memory'] == (3, 3)
    assert out['held'] is None
    assert out['after'] == 'while full'
    assert out['mr'] >= 0 and out['echo'] == (ECHO, 'later 0')
    assert out['gone'] == ('SmsError', 321)
    assert out['end'] == (0, 3)
    assert [e['user_data'] for e in rig.sim.sms_out] == ['later 0']


def test_wavecom_window_ends_the_session_for_sms(tcp_echo_server):
    """Wavecom with window_ms: the listing every poll_ms waits window_ms for the session, then
    ends it (a bare ETX between two writes): the SMS is read, the socket's owner sees Closed
    with every byte it was echoed intact, and a socket opened afterwards works."""
    from modemkit.sock import Closed
    rig, sms = rig_with_sms('wavecom', poll_ms=2000, window_ms=1000)
    data = bytes(range(256)) * 4

    def main():
        yield rig.drv.wait_ready(60000)
        s = yield rig.drv.open('echo.test', tcp_echo_server.port)
        rig.sim.deliver_sms(MOBILE, 'while online')
        got = bytearray()
        buf = bytearray(512)
        err = None
        t0 = rig.clock.ticks_ms()
        try:
            for _ in range(100):
                yield s.send(data, 30000)
                want = len(got) + len(data)
                while len(got) < want:
                    n = yield s.recv_into(buf, 30000)
                    if not n:
                        raise Closed(0, 'end of stream')
                    got.extend(buf[:n])
                yield rig.sched.sleep_ms(100)
        except Closed as e:
            err = e
        m = yield sms.recv(30000)
        took = rig.clock.ticks_ms() - t0
        yield s.close()
        s2 = yield rig.drv.open('echo.test', tcp_echo_server.port)
        yield s2.send(b'again', 30000)
        n = yield s2.recv_into(buf, 30000)
        yield s2.close()
        raise Return((bytes(got), err, m.text, took, bytes(buf[:n])))

    got, err, text, took, again = rig.run(main())
    assert err is not None and text == 'while online'
    assert got == (bytes(range(256)) * 4) * (len(got) // 1024) and got
    assert took < 2000 + 1000 + 5000               # poll_ms + window_ms + the exchange
    assert again == b'again'
    assert any(m.startswith('sms: ending the session') for m in rig.logs)
