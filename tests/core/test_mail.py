"""modemkit.mail on every interpreter, at the byte boundary: the pure SMTP client against a
scripted server whose replies arrive a few bytes at a time (multi-line, refused EHLO, a refused
recipient, garbage), the body's line ends and dot-stuffing cut at odd places, and the
Multi-Tech #GETMAIL stream's un-stuffing (no network, no module)."""
from mktest import raises
from scripted import ScriptedModem
from modemkit import mail
from modemkit.fakeuart import FakeClock
from modemkit.sched import Scheduler, Return
from modemkit.sock import NetError, Unsupported

PIECE = 5
GREET = b'220 mx.test ESMTP\r\n'
EHLO = b'250-mx.test\r\n250-SIZE 1000000\r\n250 AUTH PLAIN\r\n'
OKS = b'250 ok\r\n'


def Modem(answer):
    return ScriptedModem([answer], PIECE)


class Stream(object):
    """A readinto() body that hands over at most 3 bytes a call."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def readinto(self, buf):
        k = min(3, len(buf), len(self.data) - self.pos)
        buf[0:k] = self.data[self.pos:self.pos + k]
        self.pos += k
        return k


def run(answer, to, subject, body, cc=None, **cfg):
    m = Modem(answer)
    c = mail.client(m, dict({'server': 'mx.test', 'sender': 'dev@a.test', 'name': 'Dev 1'},
                            **cfg), bytearray(64))
    sched = Scheduler(FakeClock(), depth=mail.DEPTH)

    def main():
        n = yield c.send(to, subject, body, cc)
        raise Return(n)

    n = sched.run(main())
    return m, n, bytes(m.socks[0].sent)


def attempt(answer, to='a@b.test', **cfg):
    try:
        run(answer, to, 's', b'x', **cfg)
    except NetError as e:
        return e
    return None


ALL_OK = GREET + EHLO + OKS + OKS + b'354 go\r\n' + OKS + b'221 bye\r\n'


def test_dialogue_header_and_stuffed_body():
    body = b'.first\nsecond\r\n.\nlast without end'
    m, n, sent = run(ALL_OK, 'a@b.test', 'hello', Stream(body), cc=None)
    assert n == len(body) and m.opened == [('mx.test', 25)]
    head, _, data = sent.partition(b'DATA\r\n')
    assert head == (b'EHLO a.test\r\nMAIL FROM:<dev@a.test>\r\nRCPT TO:<a@b.test>\r\n')
    assert data.startswith(b'From: "Dev 1" <dev@a.test>\r\nTo: a@b.test\r\nSubject: hello\r\n')
    text = data[data.find(b'\r\n\r\n') + 4:]
    assert text == b'..first\r\nsecond\r\n..\r\nlast without end\r\n.\r\nQUIT\r\n'


def test_helo_fallback_auth_and_cc():
    answer = (GREET + b'502 no\r\n' + b'250 hi\r\n' + b'235 ok\r\n' + OKS * 3 +
              b'354 go\r\n' + OKS + b'221 bye\r\n')
    m, n, sent = run(answer, ['a@b.test'], 's', b'x', cc='c@d.test', user='u', password='p',
                     domain='dev.test', port=587)
    assert m.opened == [('mx.test', 587)]
    assert sent.startswith(b'EHLO dev.test\r\nHELO dev.test\r\nAUTH PLAIN AHUAcA==\r\n')
    assert b'RCPT TO:<a@b.test>\r\nRCPT TO:<c@d.test>\r\n' in sent
    assert b'Cc: c@d.test\r\n' in sent


def test_refusals_and_garbage_are_typed():
    e = attempt(GREET + EHLO + OKS + b'550-no such\r\n550 mailbox\r\n')
    assert isinstance(e, mail.Rejected) and e.code == 550 and isinstance(e, NetError)
    e = attempt(b'220 hi\r\n' + b'HTTP/1.1 200 OK\r\n')
    assert isinstance(e, mail.MailError) and not isinstance(e, mail.Rejected)
    e = attempt(b'220 hi\r\n250')             # the server closes mid-line
    assert isinstance(e, mail.MailError)
    assert isinstance(attempt(ALL_OK, to='no-at-sign'), mail.MailError)
    assert isinstance(attempt(ALL_OK, to='a@b.test\r\nRCPT TO:<x@y>'), mail.MailError)
    raises(Unsupported, mail.client, Modem(b''), 'native', bytearray(64))
    raises(mail.MailError, mail.client, Modem(b''), {'backend': 'x'}, bytearray(64))


def test_stuffer_across_pieces():
    data = bytearray(b'a\n.b\r\n..c\n.')
    st = mail.Stuffer(True)
    out = bytearray(64)
    got = bytearray()
    for i in range(len(data)):
        one = bytearray(data[i:i + 1])
        k = st.run(one, 1, out)
        got.extend(out[:k])
    k = st.end(out, 0, True)
    got.extend(out[:k])
    assert bytes(got) == b'a\r\n..b\r\n...c\r\n..\r\n.\r\n'
    st = mail.Stuffer(False)
    k = st.run(bytearray(b'.x\n\x1a'), 4, out)
    assert bytes(out[:k]) == b'.x\r\n\x1a' and st.ctl == 1


class FakeModem(object):
    def __init__(self):
        self.cfg = {'dialect': 'wavecom', 'variant': 'multitech'}
        self.sched = Scheduler(FakeClock())


class Sink(object):
    def __init__(self):
        self.data = bytearray()

    def write(self, b):
        self.data.extend(b.tobytes() if hasattr(b, 'tobytes') else b)


def test_getmail_stream_unstuffed_in_pieces():
    from modemkit import mail_wavecom
    stream = (b'From: a@b\r\n\r\n..dot\r\n.x\r\nend\r\n.\r\n\r\n#CME ERROR: 38025\r\nAT')
    for piece in (1, 2, 7, 64):
        m = mail_wavecom.Mail(FakeModem(), {}, bytearray(8))
        m.sink = Sink()
        m.out = m.buf
        m.st = 1
        used = None
        for i in range(0, len(stream), piece):
            chunk = bytearray(stream[i:i + piece])
            used = m._take(chunk, 0, len(chunk))
            if used is not None:
                assert stream[i + used:] in (b'AT', b'\nAT')      # the LF: an empty line
                break
        assert used is not None
        # RFC 1939 s3: the first '.' of a line is stripped ('..dot' -> '.dot', '.x' -> 'x')
        assert bytes(m.sink.data) == b'From: a@b\r\n\r\n.dot\r\nx\r\nend\r\n'
        assert bytes(m.fin[:m.nfin]) == b'#CME ERROR: 38025'
