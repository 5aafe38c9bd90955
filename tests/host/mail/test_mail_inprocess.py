"""modemkit.mail per backend, through the emulated module (in-process, fake clock) to aiosmtpd
and a local POP3 server on 127.0.0.1: a 10 KB body (with lines that need dot-stuffing) reaches
the server whole through Telit's own client (#EMAILD), Multi-Tech #PUTMAIL and the pure client
over Quectel's sockets; a Telit #SMTPCL attachment; Multi-Tech #SENDMAIL1; a mail fetched
with Multi-Tech #GETMAIL (un-stuffed, then deleted), and an empty box."""
import email
import io
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'drivers'))

from rig import Rig                                          # noqa: E402
from mailserver import smtp_server, pop3_server              # noqa: E402,F401

from modemkit import mail                                    # noqa: E402
from modemkit.sched import Return                            # noqa: E402
from modemkit.sock import Unsupported                        # noqa: E402

HOST = 'mail.test'
SENDER = 'logger7@example.test'
CASES = [('telit', 'telit'), ('wavecom', 'wavecom'), ('quectel', 'py'), ('telit', 'py')]
IDS = ['telit-native', 'multitech-putmail', 'quectel-py', 'telit-py']


def body_10k():
    """10 KB of text lines; some start with '.', one is a lone '.', LF line ends."""
    lines = []
    i = 0
    while sum(len(x) + 1 for x in lines) < 10 * 1024:
        if i % 7 == 3:
            lines.append('.line %d starts with a dot' % i)
        elif i == 50:
            lines.append('.')
        else:
            lines.append('line %04d of the daily log: t=%d v=%d' % (i, i * 60, i * 37 % 1000))
        i += 1
    return ('\n'.join(lines) + '\n').encode()


def session(dialect, backend, server, bufsize=512, **cfg):
    __import__(mail.BACKENDS[backend])
    rig = Rig(dialect, sim={'hosts': {HOST: '127.0.0.1'}},
              board={'rx_size': 4096} if dialect == 'wavecom' else None,
              baud=115200 if dialect == 'wavecom' else None)
    rig.sched.depth = mail.DEPTH
    c = dict({'backend': backend, 'server': HOST, 'port': server.port, 'sender': SENDER,
              'name': 'Logger 7', 'timeout_ms': 300000}, **cfg)
    return rig, mail.client(rig.drv, c, bytearray(bufsize))


def run(rig, gen):
    def main():
        yield rig.drv.wait_ready(60000)
        r = yield gen
        raise Return(r)
    return rig.run(main())


def text_of(data):
    """The message's body as the recipient reads it (CR LF line ends)."""
    msg = email.message_from_bytes(data)
    part = msg.get_payload(0) if msg.is_multipart() else msg
    return part.get_payload(decode=True)


@pytest.mark.parametrize('dialect,backend', CASES, ids=IDS)
def test_10k_body_reaches_the_server(dialect, backend, smtp_server):
    rig, m = session(dialect, backend, smtp_server)
    body = body_10k()
    n = run(rig, m.send('ops@example.test', 'daily log 7', io.BytesIO(body)))
    assert n == len(body)
    (frm, rcpts, data), = smtp_server.wait(1)
    assert frm == SENDER and rcpts == ['ops@example.test']
    msg = email.message_from_bytes(data)
    assert msg['Subject'] == 'daily log 7'
    assert SENDER in msg['From']
    assert text_of(data).replace(b'\r\n', b'\n') == body


def test_pure_client_cc_auth_and_rejection(smtp_server):
    smtp_server.auth = ('logger', 'pw')
    rig, m = session('quectel', 'py', smtp_server, user='logger', password='pw')
    run(rig, m.send(['a@example.test', 'b@example.test'], 'two', b'hi\r\n',
                    cc='c@example.test'))
    (frm, rcpts, data), = smtp_server.wait(1)
    assert rcpts == ['a@example.test', 'b@example.test', 'c@example.test']
    assert email.message_from_bytes(data)['Cc'] == 'c@example.test'
    with pytest.raises(mail.Rejected) as e:
        run(rig, m.send('nobody@example.test', 'x', b'x'))
    assert e.value.code == 550
    assert len(smtp_server.messages) == 1


def test_telit_attachment_through_smtpcl(smtp_server):
    rig, m = session('telit', 'telit', smtp_server)
    pic = bytes(range(256)) * 40 + b'+++' + os.urandom(3000)
    run(rig, m.send('ops@example.test', 'mail with picture', b'Hello.\nThe picture.\n',
                    attach=('picture.jpg', pic)))
    (frm, rcpts, data), = smtp_server.wait(1)
    msg = email.message_from_bytes(data)
    text, att = msg.get_payload()
    assert text.get_payload(decode=True).replace(b'\r\n', b'\n') == b'Hello.\nThe picture.\n'
    assert att.get_filename() == 'picture.jpg'
    assert att.get_payload(decode=True) == pic


def test_telit_refusals(smtp_server):
    rig, m = session('telit', 'telit', smtp_server)
    with pytest.raises(Unsupported):
        run(rig, m.send(['a@example.test', 'b@example.test'], 's', b'x'))
    with pytest.raises(mail.MailError):
        run(rig, m.send('a@example.test', 's', b'one\x1atwo'))
    # the ESC cancelled the prompt: the next mail goes through
    run(rig, m.send('a@example.test', 'after', b'fine\n'))
    assert [d[1] for d in smtp_server.wait(1)] == [['a@example.test']]


def test_multitech_sendmail_predefined(smtp_server):
    rig, m = session('wavecom', 'wavecom', smtp_server)
    run(rig, m.predefined(2, 'ops@example.test', 'pump alarm', 'pump 3 stopped'))
    (frm, rcpts, data), = smtp_server.wait(1)
    msg = email.message_from_bytes(data)
    assert (rcpts, msg['Subject']) == (['ops@example.test'], 'pump alarm')
    assert msg.get_payload().strip() == 'pump 3 stopped'


def test_multitech_refusals(smtp_server):
    rig, m = session('wavecom', 'wavecom', smtp_server)
    with pytest.raises(mail.MailError):
        run(rig, m.send('no-at-sign', 's', b'x'))      # refused before the module
    with pytest.raises(mail.Rejected) as e:
        run(rig, m.send('nobody@example.test', 's', b'x'))
    assert e.value.code == 38029                       # MT Chapter 9: recipient rejected
    with pytest.raises(mail.Rejected) as e:
        run(rig, m.send('a@example.test', 's', b'x', cc='nobody@example.test'))
    assert e.value.code == 38030
    run(rig, m.send('a@example.test', 'fine', b'x\n'))   # the module is usable again
    assert [d[1] for d in smtp_server.wait(1)] == [['a@example.test']]


def test_multitech_getmail(pop3_server):
    body = b'.starts with a dot\r\nline 2\r\n.\r\n..two dots\r\n' + b'x' * 3000 + b'\r\n'
    msg = b'From: a@example.test\r\nSubject: orders\r\n\r\n' + body
    pop3_server.messages.append(msg)
    rig, m = session('wavecom', 'wavecom', pop3_server, pop3_server=HOST,
                     pop3_port=pop3_server.port, pop3_user='module@example.test',
                     pop3_password='secret')
    sink = io.BytesIO()

    def main():
        n = yield m.fetch(sink)
        again = yield m.fetch(io.BytesIO())
        raise Return((n, again))

    n, again = run(rig, main())
    assert sink.getvalue() == msg and n == len(msg)
    assert again == 0                         # deleted after the first fetch: OK_Info_NoMail
    assert pop3_server.messages == []


def test_multitech_getmail_without_header(pop3_server):
    pop3_server.messages.append(b'From: a@example.test\r\nSubject: s\r\n\r\nonly the body\r\n')
    rig, m = session('wavecom', 'wavecom', pop3_server, pop3_server=HOST,
                     pop3_port=pop3_server.port, pop3_user='module@example.test',
                     pop3_password='secret', pop3_headers=False)
    sink = io.BytesIO()
    run(rig, m.fetch(sink))
    assert sink.getvalue() == b'only the body\r\n'
