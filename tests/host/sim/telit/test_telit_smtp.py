"""Telit native SMTP (T-IPE §11) against aiosmtpd on 127.0.0.1: the §11.6.1 and §11.6.2 examples
(GT-17) as transcripts, dot-stuffing by the module, ESC, one session per module, refusals."""

import email
import os
import sys

import pytest

from test_telit_support import escape, make_harness

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'mail'))
from mailserver import smtp_server              # noqa: E402,F401  (fixture)

HOSTS = {'hosts': {'SMTP_server_address': '127.0.0.1'}}
CTRL_Z = b'\x1a'


def until_final(h, final=b'\r\nOK\r\n'):
    h.wait_for(lambda: h.rx.find(final, h.mark) >= 0)
    return h.lines()


@pytest.fixture
def sh(smtp_server):
    """GT-17's set-up: HE910, cid 1 active, the example's SMTP settings (the port: the test
    server's, for 587)."""
    smtp_server.auth = ('sender_user_name', 'sender_user_password')
    with make_harness(activate=(1,), config=HOSTS) as h:
        for line in (f'AT#SMTPCFG=0,{smtp_server.port}', 'AT#ESMTP="SMTP_server_address"',
                     'AT#EADDR="sender_address"', 'AT#EUSER="sender_user_name"',
                     'AT#EPASSW="sender_user_password"'):
            assert h.cmd(line) == ['OK'], line
        yield h


def test_gt17_mail_without_attachment(sh, smtp_server):
    # §11.6.1: AT#EMAILD="recipient_address","mail with no attachment" / > Hello<Ctrl-Z> / OK
    assert sh.cmd('AT#EMAILD="recipient_address","mail with no attachment"') == ['>']
    sh.write(b'Hello' + CTRL_Z)
    assert until_final(sh) == ['OK']
    (frm, rcpts, data), = smtp_server.wait(1)
    assert (frm, rcpts) == ('sender_address', ['recipient_address'])
    msg = email.message_from_bytes(data)
    assert msg['Subject'] == 'mail with no attachment'
    assert msg.get_payload().strip() == 'Hello'


def test_gt17_mail_with_attachment(sh, smtp_server):
    # §11.6.2: the body, Ctrl-Z, CONNECT, the attachment, +++, NO CARRIER
    picture = bytes(range(256)) * 8
    assert sh.cmd('AT#SMTPCL="recipient_address","mail with picture",2,"picture.jpg"') == ['>']
    sh.write(b'Hello.\r\nThis is the body.\r\nThe picture is in the attachment.\r\n' + CTRL_Z)
    assert until_final(sh, b'CONNECT\r\n') == ['CONNECT']
    sh.write(picture)
    escape(sh)
    assert until_final(sh, b'NO CARRIER\r\n') == ['NO CARRIER']
    (frm, rcpts, data), = smtp_server.wait(1)
    text, att = email.message_from_bytes(data).get_payload()
    assert text.get_payload(decode=True).startswith(b'Hello.\r\nThis is the body.')
    assert (att.get_filename(), att.get_payload(decode=True)) == ('picture.jpg', picture)
    assert sh.cmd('AT') == ['OK']                  # back in COMMAND mode


def test_the_module_dot_stuffs_and_esc_aborts(sh, smtp_server):
    assert sh.cmd('AT#EMAILD="a@example.test","abort"') == ['>']
    sh.write(b'never sent\x1b')
    assert until_final(sh) == ['OK']
    body = b'.hidden\r\n.\r\nlast\r\n'
    assert sh.cmd('AT#EMAILD="a@example.test","dots"') == ['>']
    sh.write(body + CTRL_Z)
    assert until_final(sh) == ['OK']
    (frm, rcpts, data), = smtp_server.wait(1)
    assert email.message_from_bytes(data).get_payload().endswith(body.decode())


def test_refusals(smtp_server):
    with make_harness(activate=(1,), config=HOSTS) as h:
        assert h.cmd('AT#EMAILD="a@example.test","s"') == ['+CME ERROR: cannot resolve DN']
        assert h.cmd(f'AT#SMTPCFG=1,{smtp_server.port}') == ['OK']
        assert h.cmd('AT#ESMTP="SMTP_server_address"') == ['OK']
        assert h.cmd('AT#EMAILD="a@example.test","s"') == ['>']
        h.write(b'x' + CTRL_Z)                          # TLS to a server that has none
        assert until_final(h, b'ERROR') == ['+CME ERROR: connection failed']
        assert h.cmd('AT#SMTPCFG?') == [f'#SMTPCFG: 1,{smtp_server.port},0,0,0,0', 'OK']
        assert h.cmd(f'AT#SMTPCFG=0,{smtp_server.port}') == ['OK']
        assert h.cmd('AT#EMAILD="nobody@example.test","s"') == ['>']
        h.write(b'x' + CTRL_Z)
        assert until_final(h, b'ERROR') == ['+CME ERROR: generic undocumented error']
    with make_harness(variant='me910c1', activate=(1,), config=HOSTS) as h:
        assert h.cmd('AT#SMTPCL="a@example.test","s",2,"f.bin"') == ['ERROR']   # §11.5


def test_one_session_per_module(sh, smtp_server):
    other = sh.modem.spawn_instance()
    other.cmee = 2
    assert sh.cmd('AT#EMAILD="a@example.test","first"') == ['>']
    # §11: a second SMTP session, from another port, fails while one is open
    assert other.at_emaild('set', ['b@example.test', 'second']) == '+CME ERROR: Already connected'
    sh.write(b'one' + CTRL_Z)
    assert until_final(sh) == ['OK']
    assert other.at_smtpcfg('read', []) == 'OK'       # shared settings, the session is over
