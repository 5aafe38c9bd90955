"""`modemkit sms-digest` against the worked example of T-RUN §2.3 (digest A.8.2), and a digest SMS
it encodes run by the emulated module (SMSATRUN, §2.1) with the answer decoded again."""

import pytest

from deploy_rig import Fleet
from mktools.device import smscli

PWD = '1234567890123456'
ENV = {smscli.ENV_PASSWORD: PWD}
SMSC, MOBILE = '+393492000200', '+393468686711'
# §2.3, verbatim (the digest's A.8.2 concatenates the wrapped hex)
REQUEST_PDU = ('079193432900200011000C919343868676110015AD26D0D0D000110157696A437032715633734E76'
               '2B61727532305A5561773D3D41542B434F50533F')
RESPONSE_PDU = ('0791934329002000040C9193438686761100158050922102818040D1D1D10011014A756E7261377'
                '2306B494563483971563534326E33513D3D0D0A2B434F50533A20302C302C22766F6461666F6E6'
                '5204954220D0A0D0A4F4B0D0A')


def lines(capsys):
    return dict(line.split(':', 1) for line in capsys.readouterr().out.splitlines()
                if ':' in line)


def test_encode_reproduces_the_manuals_request_byte_for_byte(capsys):
    assert smscli.main(['encode', '--text', 'AT+COPS?', '--smsc', SMSC, '--to', MOBILE],
                       env=ENV) == 0
    out = lines(capsys)
    assert out['pdu'].strip() == REQUEST_PDU
    assert out['digest'].strip() == 'WijCp2qV3sNv+aru20ZUaw=='
    # the manual's "AT+CMGS=53" is one more than the 52 octets of its own TPDU (A.8.2)
    assert out['send'].strip().startswith('AT+CMGS=52')


def test_encode_response_reproduces_the_manuals_answer(capsys):
    assert smscli.main(['encode', '--response', '--text',
                        r'\r\n+COPS: 0,0,"vodafone IT"\r\n\r\nOK\r\n', '--smsc', SMSC,
                        '--sender', MOBILE, '--timestamp', '08,05,29,12,20,18,+8'], env=ENV) == 0
    assert lines(capsys)['pdu 1/1'].strip() == RESPONSE_PDU


def test_decode_checks_the_digest_of_both_example_pdus(capsys):
    assert smscli.main(['decode', RESPONSE_PDU], env=ENV) == 0
    out = capsys.readouterr().out
    assert 'SMS-DELIVER: response (0xD1D1D1)' in out and 'digest OK' in out
    assert repr('\r\n+COPS: 0,0,"vodafone IT"\r\n\r\nOK\r\n') in out
    assert smscli.main(['decode', REQUEST_PDU], env=ENV) == 0
    out = capsys.readouterr().out
    assert "text: 'AT+COPS?'" in out and 'the module answers by SMS' in out
    assert smscli.main(['decode', REQUEST_PDU], env={smscli.ENV_PASSWORD: '6543210987654321'}) \
        == 2
    assert 'digest matches no white-list password' in capsys.readouterr().err


def test_password_from_a_file_and_its_rules(tmp_path, capsys):
    pwd = tmp_path / 'pwd'
    pwd.write_text(PWD + '\n')
    assert smscli.main(['decode', '--password-file', str(pwd), REQUEST_PDU], env={}) == 0
    capsys.readouterr()
    assert smscli.main(['decode', REQUEST_PDU], env={}) == 2
    assert smscli.ENV_PASSWORD in capsys.readouterr().err
    pwd.write_text('short')
    assert smscli.main(['encode', '--password-file', str(pwd), '--text', 'AT'], env={}) == 2
    assert 'must have 16 characters' in capsys.readouterr().err


@pytest.fixture
def module():
    f = Fleet(1)
    yield f
    f.close()


def test_the_emulated_module_runs_an_encoded_sms_and_its_answer_decodes(module, capsys):
    link = module.serial(0)
    try:
        for line in ('ATE0', f'AT#SMSATWL=0,1,1,"{PWD}"', 'AT#SMSATRUN=1'):
            link.command(line)
    finally:
        link.close()
    assert smscli.main(['encode', '--text', 'AT+CGMR', '--session', '7'], env=ENV) == 0
    user_data = bytes.fromhex(lines(capsys)['user data'].strip())
    assert module.call(lambda: module.modems[0].inject_sms(MOBILE, user_data, 0x15)) is True
    module.wait(lambda: module.call(lambda: len(module.modems[0].sms_out)) > 0, 10, 'answer')
    answer = module.call(lambda: module.modems[0].sms_out[0])
    assert answer['to'] == MOBILE
    assert smscli.main(['decode', answer['user_data'].hex()], env=ENV) == 0
    out = capsys.readouterr().out
    assert 'response (0xD1D1D1)' in out and 'session 7' in out and '12.00.026' in out
