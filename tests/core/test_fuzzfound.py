"""Regressions the fuzzing properties (tests/host/fuzz) found; each test is the shrunk example,
portable (CPython, MicroPython, 2.7)."""
import gc

from mktest import setup
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT, TIMEOUT
from modemkit.sched import Return


def _room():
    # a whole driver (Quectel, Wavecom) or client (MQTT, FTP) beside the ones other tests here
    # loaded does not fit the heap of the MicroPython run: drop their modules first (the next
    # import loads them again). MicroPython alone: there each test module has a process of its
    # own, while pytest shares its modules (and their error classes) between test files
    from mktest import IS_MICROPYTHON
    if not IS_MICROPYTHON:
        return
    import sys
    from modemkit import unload
    for name in ('mqtt', 'mqtt_telit', 'ftp', 'ftp_py', 'ftp_telit', 'squeue', 'board',
                 'smsdigest', 'quectel', 'quectel_svc', 'wavecom', 'telit', 'modem', 'ladder'):
        unload(name)
    sys.modules.pop('mqttfake', None)
    gc.collect()


def test_a_second_gt_after_the_data_is_text_not_another_prompt():
    # fuzz: '>>' then CR LF with 1-byte chunks: the second '>' arrived after send_data() and
    # ended the data phase as PROMPT, an outcome its caller never expects
    env = setup([('>', b'AT+QISEND=0,5\r'), ('<', b'>'), ('>', b'hello'),
                 ('<', b'>\r\nSEND OK\r\n')], chunk=1)
    env.chan.add_final(b'SEND OK', OK)
    cmd = Cmd(b'AT+QISEND=0,5', prompt=PROMPT_GT, timeout_ms=1000)

    def main():
        r = yield env.chan.send(cmd)
        first = r.status
        r = yield env.chan.send_data(bytearray(b'hello'))
        raise Return((first, r.status))

    assert env.sched.run(main()) == (PROMPT, OK)
    env.script.done()


def test_a_line_begun_before_the_command_is_not_its_answer():
    # fuzz: 'ERROR' whose CR LF the line lost arrived after AT+CSQ timed out; the next AT's
    # CR LF OK ended that line, and AT got the stale ERROR as its final
    env = setup([('>', b'AT+CSQ\r'), ('~', 150), ('<', b'ERROR'), ('>', b'AT\r'),
                 ('<', b'\r\nOK\r\n')])
    logs = env.logs

    def main():
        r = yield env.chan.send(Cmd(b'AT+CSQ', expect=b'+CSQ:', timeout_ms=100))
        first = r.status
        yield env.sched.sleep_ms(200)
        r = yield env.chan.send(Cmd(b'AT', timeout_ms=1000))
        raise Return((first, r.status))

    assert env.sched.run(main()) == (TIMEOUT, OK)
    env.script.done()
    unsolicited = [m for m in logs if 'unsolicited' in m]
    assert len(unsolicited) == 1 and 'ERROR' in unsolicited[0], logs


def test_an_ftp_reply_that_is_not_utf8_is_an_ftp_error():
    # fuzz: b'550 \xe9...' made the refused reply's text raise UnicodeError (a ValueError),
    # outside the FtpError family the reconnect paths catch
    _room()
    from mqttfake import FakeModem
    from modemkit.ftp import FtpError
    from modemkit.ftp_py import Ftp
    from modemkit.sock import EOF, OPEN, TCP, Socket
    m = FakeModem()
    ftp = Ftp(m, {'host': 'ftp.test'}, bytearray(64))
    s = Socket(m, TCP, 128, 64)
    s.state = OPEN
    reply = bytearray(b'550 fichier \xe9t\xe9 refus\xe9\r\n213 \x80\r\n')
    s.put(reply, 0, len(reply))
    s.state = EOF
    ftp.ctl = s
    got = []

    def main():
        try:
            yield ftp._ask(None, 2)
        except FtpError as e:
            got.append(str(e))
        code = yield ftp._ask(None)
        got.append((code, ftp._text()))

    m.sched.run(main())
    assert got[0].endswith('550 fichier ?t? refus?'), got
    assert got[1] == (213, '213 ?'), got


def test_a_board_file_that_is_not_an_object_is_a_board_error():
    # fuzz: 'null' raised AttributeError, '{"dialect": []}' TypeError (unhashable)
    from mktest import raises, tmpdir
    from modemkit import board
    path = tmpdir() + '/board.json'
    for text in ('null', '[1, 2]', '{"dialect": []}', '{"dialect": {"a": 1}}', '7'):
        with open(path, 'w') as f:
            f.write(text)
        e = raises(board.BoardError, board.load, path)
        assert path in str(e) and ('dialect' in str(e) or 'not a JSON object' in str(e)), \
            (text, str(e))


def _queue_with_head(head_text):
    from mktest import tmpdir
    from modemkit.squeue import Queue
    path = tmpdir() + '/q'
    q = Queue(path)
    q.append(b'one')
    q.append(b'two')
    with open(path + '.h', 'w') as f:
        f.write(head_text)
    return Queue(path)


def test_a_negative_head_in_the_head_file_reads_from_the_start():
    # fuzz: '-1 0 0' made open() seek to -1: OSError, outside QueueError
    q = _queue_with_head('-1 0 0\n')
    assert len(q) == 2 and q.peek() == (1, b'one')
    assert q.append(b'three') == 3


def test_a_sequence_number_past_32_bits_is_not_taken():
    # fuzz: '0 4294967296 0' on an empty queue: append() returned 4294967296, the record held
    # 0 (4 bytes), so the number read back was not the number given
    from mktest import tmpdir
    from modemkit.squeue import Queue
    path = tmpdir() + '/q'
    Queue(path)
    with open(path + '.h', 'w') as f:
        f.write('0 4294967296 0\n')
    q = Queue(path)
    seq = q.append(b'x')
    assert q.peek() == (seq, b'x') and seq == 1
    q = _queue_with_head('0 -7 0\n')         # the records found set the numbering again
    assert q.append(b'three') == 3


def test_a_packet_body_in_two_reads_is_read_on_every_interpreter():
    # memory-flat episodes on 2.7: a PUBLISH body that came in two reads had its second read
    # go into a memoryview of the buffer, which takes no int items on Python 2.7; the MQTT
    # client's task died with a TypeError
    _room()
    from mqttfake import FakeModem, client
    m = FakeModem()
    died = []
    m.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    got = []
    c = client(m, on_message=lambda t, p, r: got.append((bytes(t), bytes(p))))
    pkt = bytearray(b'\x30\x08\x00\x03a/bxyz')

    def main():
        yield c.wait_up(5000)
        m.sock.put(pkt, 0, 5)
        yield m.sched.sleep_ms(50)
        m.sock.put(pkt, 5, len(pkt))
        yield m.sched.sleep_ms(200)
        raise Return(c.connects)

    assert m.sched.run(main()) == 1
    assert died == [] and got == [(b'a/b', b'xyz')], (died, got)




def _quectel_with(lines):
    _room()
    from modemkit.quectel import Quectel
    from modemkit.sock import Socket, TCP, OPEN
    steps = [('~', 1), ('<', lines)]
    env = setup(steps)
    m = Quectel(env.sched, env.uart, {}, log=env.logs.append)
    m.chan = env.chan
    env.chan.on(b'+QIURC:', m._on_urc)
    s = Socket(m, TCP, 64)
    s.id = 0
    s.state = OPEN
    m.socks[0] = s
    return env, m, s


def test_an_incoming_urc_naming_a_client_socket_as_server_is_refused():
    # fuzz (dialects): '+QIURC: "incoming",1,0,...' while connectID 0 is a client socket, not a
    # listener: the handler took its backlog (None) for a list and raised TypeError
    env, m, s = _quectel_with(b'\r\n+QIURC: "incoming",1,0,"10.0.0.9",5000\r\n')

    def main():
        yield env.sched.sleep_ms(100)

    env.sched.run(main())
    assert env.chan.handler_errors == 0, env.logs
    assert m.socks[1] is None and s.backlog is None
    assert any('refusing incoming connection 1' in x for x in env.logs), env.logs


def test_news_of_a_socket_before_its_qiopen_result_does_not_spin_the_open():
    # fuzz (dialects): data pushed for connectID 0 between AT+QIOPEN's OK and its +QIOPEN URC
    # set the socket's event; the wait for the result returned at once, again and again, and
    # the open spun for ever without letting time pass (no timeout, no other task)
    _room()
    from modemkit.quectel import Quectel
    from modemkit.sock import Socket, TCP, TimedOut
    env = setup([('>', b'AT+QIOPEN=1,0,"TCP","peer.test",5000,0,1\r'),
                 ('<', b'\r\nOK\r\n\r\n+QIURC: "recv",0,4\r\nabcd'),
                 ('>', b'AT+QICLOSE=0\r'), ('<', b'\r\nOK\r\n')])
    m = Quectel(env.sched, env.uart, {'push': True}, log=env.logs.append)
    m.chan = env.chan
    env.chan.on(b'+QIURC:', m._on_urc)
    s = Socket(m, TCP, 64)
    s.id = 0
    m.socks[0] = s
    waits = [0]
    real = s.ev.wait

    def wait(ms=None):
        waits[0] += 1
        assert waits[0] < 50, 'the open spins on a set event'
        return real(ms)

    s.ev.wait = wait

    def main():
        t0 = env.clock.ticks_ms()
        try:
            yield m._open(s, 0, 'peer.test', 5000, 0, 3000)
        except TimedOut:
            raise Return(env.clock.ticks_ms() - t0)
        raise Return(-1)

    took = env.sched.run(main())
    assert 3000 <= took < 3500, took
    assert s.n == 4
    env.script.done()


def test_a_garbled_ping_time_is_not_a_value_error():
    # a Multi-Tech ping reply whose time the line garbled ('time = x ms', 'time = ') made
    # int() raise ValueError out of ping(), outside the NetError family
    _room()
    from modemkit.wavecom import Wavecom
    from modemkit.modem import READY
    ok = b'\r\nOK\r\n'
    env = setup([('>', b'AT#PINGREMOTE="h"\r'), ('<', ok), ('>', b'AT#PINGNUM=3\r'), ('<', ok),
                 ('>', b'AT#PINGDELAY=1\r'), ('<', ok), ('>', b'AT#PING\r'),
                 ('<', b'\r\n"h" is alive : time = x ms\r\n"h" is alive : time = \r\n'
                       b'"h" is alive : time = 900 ms\r\nOK\r\n')])
    m = Wavecom(env.sched, env.uart, {}, log=env.logs.append)
    m.chan = env.chan
    m.state = READY
    m.ready.set()

    def main():
        r = yield m.ping('h', 3, 1)
        raise Return(r)

    assert env.sched.run(main()) == (3, 1, 2, 900, 900, 900)
    env.script.done()


def test_an_ftpfsize_answer_without_its_size_is_an_ftp_error():
    # fuzz (dialects): AT#FTPFSIZE answered OK with no #FTPFSIZE line (lost on the line):
    # r.num(0, 0) raised IndexError out of size(), outside the FtpError family; on 2.7 the
    # FtpError then came back as None (a bare raise after a yield in ftp.Client._do)
    _room()
    from modemkit.ftp import FtpError
    from modemkit.ftp_telit import Ftp
    from modemkit.telit import Telit
    from modemkit.modem import READY
    ok = b'\r\nOK\r\n'
    env = setup([('>', b'AT#FTPTO=100\r'), ('<', ok),
                 ('>', b'AT#FTPOPEN="ftp.test:21","anonymous","modemkit@",1\r'), ('<', ok),
                 ('>', b'AT#FTPTYPE=0\r'), ('<', ok), ('>', b'AT#FTPFSIZE="f.txt"\r'),
                 ('<', ok), ('>', b'AT#FTPCLOSE\r'), ('<', ok)])
    m = Telit(env.sched, env.uart, {}, log=env.logs.append)
    m.chan = env.chan
    m.state = READY
    m.ready.set()
    f = Ftp(m, {'host': 'ftp.test', 'timeout_ms': 2000}, bytearray(64))

    def main():
        try:
            yield f.size('f.txt')
        except FtpError as e:
            raise Return(str(e))
        raise Return(None)

    why = env.sched.run(main())
    assert why is not None and 'no size' in why, why


def test_a_mqread_header_without_its_topic_does_not_kill_the_reader():
    # '#MQRING: 1,3,...' then an AT#MQREAD answer whose header line the UART garbled: its
    # topic field was None and None.encode() killed the Telit MQTT client's reader task
    _room()
    from modemkit.mqtt_telit import TelitMQTT
    from modemkit.telit import Telit
    env = setup([('~', 1), ('<', b'\r\n#MQRING: 1,3,t,3\r\n'), ('>', b'AT#MQREAD=1,3\r'),
                 ('<', b'\r\nx\r\n<<<\r\nabc\r\n\r\nOK\r\n'), ('~', 1),
                 ('<', b'\r\n#MQRING: 1,4,t,3\r\n'), ('>', b'AT#MQREAD=1,4\r'),
                 ('<', b'\r\n#MQREAD: 1,t,3\r\n<<<\r\nabc\r\n\r\nOK\r\n')])
    m = Telit(env.sched, env.uart, {}, log=env.logs.append)
    m.chan = env.chan
    died = []
    env.sched.on_error = lambda task, err: died.append((task.name, repr(err)))
    got = []
    mq = TelitMQTT(m, 'broker.test', on_message=lambda t, p, r: got.append((t, p)),
                   log=env.logs.append)
    env.sched.spawn(mq._reader(), 'mqtt-read', parent=False)

    def main():
        yield env.sched.sleep_ms(500)

    env.sched.run(main())
    assert died == [], died
    assert got == [(b't', b'abc')], (got, env.logs)
    env.script.done()
