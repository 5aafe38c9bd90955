"""Multi-Tech mail (MT Chapter 3, App. A "Sending/Retrieving Email") against aiosmtpd and a local
POP3 server on 127.0.0.1: GW-7 (#PUTMAIL) and GW-8 (#GETMAIL) replayed line by line, #SENDMAILi,
the header the module writes, dot-stuffing left to the host, errors, GenPro's absence of mail.

Seed details worked around: the servers' ports are the test servers' (#SMTPPORT, #POP3PORT);
GW-8's "Data / Data / ." stands for the message's lines and its terminator."""

import email
import os
import sys

from test_wavecom_support import connect, modem, read_until

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))), 'mail'))
from mailserver import pop3_server, smtp_server   # noqa: E402,F401  (fixtures)

HOSTS = {'smtp.domain.com': '127.0.0.1', 'pop3.domain.com': '127.0.0.1'}


def test_gw7_putmail(smtp_server):
    with modem('multitech', hosts=HOSTS) as h:
        connect(h)
        assert h.cmd(f'AT#SMTPPORT={smtp_server.port}') == ['OK']
        for line in ('AT#SMTPSERV= "smtp.domain.com"', 'AT#DOMAIN= "domain.com"',
                     'AT#SENDERNAME= "Test module"', 'AT#SENDERADDR= "module@domain.com"',
                     'AT#REC1= recipient@domain.com', 'AT#CCREC1= ccrecipient@domain.com',
                     'AT#SUBJ1= "Email Subject"'):
            assert h.cmd(line) == ['OK'], line
        assert h.cmd('AT#PUTMAIL') == ['OK_Info_WaitingForData']
        # the body is not echoed; the end sequence is, then OK (MT App. A)
        h.write(b'Hello from the module.\r\n..a stuffed dot line\r\n')
        h.write(b'\r\n.\r\n')
        assert read_until(h, b'OK\r\n') == b'\r\n.\r\n\r\nOK\r\n'
        (frm, rcpts, data), = smtp_server.wait(1)
        assert frm == 'module@domain.com'
        assert rcpts == ['recipient@domain.com', 'ccrecipient@domain.com']
        msg = email.message_from_bytes(data)
        assert (msg['From'], msg['To'], msg['Cc'], msg['Subject']) == (
            '"Test module" <module@domain.com>', 'recipient@domain.com',
            'ccrecipient@domain.com', 'Email Subject')
        assert msg.get_payload() == 'Hello from the module.\r\n.a stuffed dot line\r\n\r\n'
        assert h.cmd('AT#VSTATE') == ['#STATE: "CONNECTED"', 'OK']


def test_sendmail_and_its_errors(smtp_server):
    with modem('multitech', hosts=HOSTS) as h:
        connect(h)
        assert h.cmd(f'AT#SMTPSERV="smtp.domain.com";#SMTPPORT={smtp_server.port}') == ['OK']
        # "If the RECn, SENDERADDR and DOMAIN parameters are empty ... an associated error code"
        assert h.cmd('AT#SENDMAIL2') == ['#CME ERROR: 38029']
        assert h.cmd('AT#REC2="ops@domain.com";#SUBJ2="s2"') == ['OK']
        assert h.cmd('AT#SENDMAIL2') == ['#CME ERROR: 38028']
        assert h.cmd('AT#SENDERADDR="module@domain.com";#DOMAIN="domain.com"') == ['OK']
        assert h.cmd('AT#BODY2') == []
        h.write(b'pump 3 stopped\x1a')
        assert read_until(h, b'OK\r\n').endswith(b'\r\nOK\r\n')     # the text is echoed (ATE1)
        assert h.cmd('AT#SENDMAIL2', timeout_s=30) == ['OK']
        (frm, rcpts, data), = smtp_server.wait(1)
        assert email.message_from_bytes(data).get_payload().strip() == 'pump 3 stopped'
        assert h.cmd('AT#REC1="nobody@domain.com"') == ['OK']
        assert h.cmd('AT#PUTMAIL') == ['#CME ERROR: 38029']   # MT Chapter 9: recipient
        assert h.cmd('AT#SMTPSERV="unknown.domain.com"') == ['OK']
        assert h.cmd('AT#PUTMAIL') == ['#CME ERROR: 38027']   # no DNS answer


def test_gw8_getmail(pop3_server):
    pop3_server.login = ('module@domain.com', 'password')
    pop3_server.messages.append(b'From: a@domain.com\r\nSubject: s\r\n\r\nData\r\n.Data\r\n')
    with modem('multitech', hosts=HOSTS) as h:
        connect(h)
        assert h.cmd(f'AT#POP3PORT={pop3_server.port}') == ['OK']
        for line in ('AT#POP3SERV= "pop3.domain.com"', 'AT#POP3UN= "module@domain.com"',
                     'AT#POP3PW = "password"'):
            assert h.cmd(line) == ['OK'], line
        assert h.cmd('AT#GETMAIL')[0] == 'OK_Info_Mail'
        out = read_until(h, b'\r\n.\r\n\r\nOK\r\n')
        # the message as the server sent it: header, Data, the stuffed '..Data', the end
        assert out.endswith(b'\r\nData\r\n..Data\r\n.\r\n\r\nOK\r\n')
        assert b'Subject: s\r\n' in out
        # "When the email is retrieved, it is deleted from the POP3 server."
        assert pop3_server.messages == []
        assert h.cmd('AT#GETMAIL') == ['OK_Info_NoMail']
        assert h.cmd('AT#POP3PW="wrong"') == ['OK']
        assert h.cmd('AT#GETMAIL') == ['#CME ERROR: 38081']


def test_getmail_without_header(pop3_server):
    pop3_server.messages.append(b'From: a@domain.com\r\nSubject: s\r\n\r\nthe body\r\n')
    with modem('multitech', hosts=HOSTS) as h:
        connect(h)
        assert h.cmd(f'AT#POP3SERV="pop3.domain.com";#POP3PORT={pop3_server.port};'
                     '#POP3UN="module@example.test";#POP3PW="secret";#POP3HEADERMODE=0') == ['OK']
        assert h.cmd('AT#GETMAIL')[0] == 'OK_Info_Mail'
        assert read_until(h, b'OK\r\n').endswith(b'the body\r\n.\r\n\r\nOK\r\n')


def test_genpro_has_no_mail():
    with modem('genpro') as h:
        assert h.cmd('AT#PUTMAIL') == ['ERROR']
