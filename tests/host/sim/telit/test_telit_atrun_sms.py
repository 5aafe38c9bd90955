"""SMSATRUN (T-RUN §2, digest A.8.1-A.8.3): #SMSATRUNCFG, #SMSATRUN, #SMSATWL and ATRUN SMS
injected with `inject_sms()`, simple and digest, with the answer SMS in `sms_out`."""

import pytest

from modemkit import smsdigest
from test_telit_atrun_support import make_harness

MOBILE = '+393468686711'
PWD = '1234567890123456'
# §2.3 worked example (digest A.8.2): the request PDU the mobile sends
REQUEST_PDU = ('079193432900200011000C919343868676110015AD26D0D0D000110157696A437032715633734E76'
               '2B61727532305A5561773D3D41542B434F50533F')


@pytest.fixture
def h():
    with make_harness(config={'operator': 'vodafone IT'}, activate=False) as harness:
        yield harness


def enable(h, number=MOBILE, password=None):
    """§2.3: AT#SMSATRUNCFG=3,1,2, AT#SMSATRUN=1 and the white list."""
    assert h.cmd('AT#SMSATRUNCFG=3,1,2') == ['OK']
    assert h.cmd('AT#SMSATRUN=1') == ['OK']
    if number:
        assert h.cmd(f'AT#SMSATWL=0,1,0,"{number}"') == ['OK']
    if password:
        assert h.cmd(f'AT#SMSATWL=0,2,1,"{password}"') == ['OK']


def answers(h, count=1, timeout_s=5.0):
    h.wait_for(lambda: len(h.modem.sms_out) >= count, timeout_s)
    return list(h.modem.sms_out)


# -- commands ---------------------------------------------------------------------------------

def test_configuration_commands(h):
    assert h.cmd('AT#SMSATRUN?') == ['#SMSATRUN: 0', 'OK']      # disabled by default (§2.5.2)
    assert h.cmd('AT#SMSATRUNCFG?') == ['#SMSATRUNCFG: 3,1,5', 'OK']
    assert h.cmd('AT#SMSATRUNCFG=3,1,2') == ['OK']
    assert h.cmd('AT#SMSATRUNCFG?') == ['#SMSATRUNCFG: 3,1,2', 'OK']
    assert h.cmd('AT#SMSATRUN=1') == ['OK']
    assert h.cmd('AT#SMSATRUN?') == ['#SMSATRUN: 1', 'OK']
    assert h.cmd('AT#SMSATRUNCFG=2,1,2') == ['ERROR']           # AT ref.: not while enabled
    assert h.cmd('AT#SMSATRUNCFG=1,1,2') == ['+CME ERROR: incorrect parameters']


def test_white_list(h):
    assert h.cmd('AT#SMSATWL=0,1,0,"+39346123456"') == ['OK']
    assert h.cmd('AT#SMSATWL=0,2,1,"1234567890123456"') == ['OK']
    assert h.cmd('AT#SMSATWL=0,3,0,"+39*"') == ['OK']
    lines = h.cmd('AT#SMSATWL?')
    assert lines[:3] == ['#SMSATWL: 0,"+39346123456"', '#SMSATWL: 1,"1234567890123456"',
                         '#SMSATWL: 0,"+39*"']
    assert lines[3:] == ['#SMSATWL:'] * 5 + ['OK']
    assert h.cmd('AT#SMSATWL=2,2') == ['#SMSATWL: 1,"1234567890123456"', 'OK']
    assert h.cmd('AT#SMSATWL=1,2') == ['OK']
    assert h.cmd('AT#SMSATWL=2,2') == ['#SMSATWL:', 'OK']
    # §2.3: a password has exactly 16 characters, at most 2 of them
    assert h.cmd('AT#SMSATWL=0,4,1,"short"') == ['+CME ERROR: incorrect parameters']
    assert h.cmd('AT#SMSATWL=0,4,1,"aaaaaaaaaaaaaaaa"') == ['OK']
    assert h.cmd('AT#SMSATWL=0,5,1,"bbbbbbbbbbbbbbbb"') == ['OK']
    assert h.cmd('AT#SMSATWL=0,6,1,"cccccccccccccccc"') == ['+CME ERROR: memory full']
    assert h.cmd('AT#SMSATWL=0,6,0,"+39abc"') == ['+CME ERROR: incorrect parameters']
    assert h.cmd('AT#SMSATWL=0,9,0,"+39"') == ['+CME ERROR: incorrect parameters']


# -- simple ATRUN SMS -------------------------------------------------------------------------

def test_simple_sms_runs_and_is_answered(h):
    enable(h)
    assert h.modem.inject_sms(MOBILE, 'AT+COPS?', dcs=0x00) is True
    # §2.4: the URC shows the command on the instance that enabled the service
    assert h.expect_urc('#SMSATRUN: AT+COPS?')
    [answer] = answers(h)
    assert answer == {'to': MOBILE, 'dcs': 0x00, 'part': 1, 'parts': 1,
                      'user_data': b'\r\n+COPS: 0,0,"vodafone IT",7\r\n\r\nOK\r\n'}


def test_several_commands_in_one_sms(h):
    enable(h)
    h.modem.inject_sms(MOBILE, 'AT+CGMR;+CGSN')                    # §2.1
    [answer] = answers(h)
    assert answer['user_data'] == b'\r\n12.00.026\r\n\r\n350000000000001\r\n\r\nOK\r\n'


def test_hat_runs_without_an_answer(h):
    enable(h)
    assert h.modem.inject_sms(MOBILE, 'HAT#ATRUNDELAY=0,7')
    h.wait_for(lambda: h.cmd('AT#ATRUNDELAY?')[0] == '#ATRUNDELAY: 0,7', 3.0)
    h.advance(2.0)
    assert list(h.modem.sms_out) == []


def test_sender_must_be_white_listed(h):
    enable(h)
    assert h.modem.inject_sms('+393339999999', 'AT+CGMR') is False
    h.advance(2.0)
    assert list(h.modem.sms_out) == []


def test_wildcard_number(h):
    enable(h, number='+39*')                                       # §2.4, AT ref.
    assert h.modem.inject_sms('+393339999999', 'AT')
    assert answers(h)[0]['user_data'] == b'\r\nOK\r\n'
    assert h.modem.inject_sms('+441234567', 'AT') is False


def test_text_not_starting_with_at_is_not_an_atrun_sms(h):
    enable(h)
    assert h.modem.inject_sms(MOBILE, 'hello') is False


def test_disabled_service_ignores_sms(h):
    assert h.cmd(f'AT#SMSATWL=0,1,0,"{MOBILE}"') == ['OK']
    assert h.modem.inject_sms(MOBILE, 'AT+CGMR') is False


def test_long_answer_is_concatenated(h):
    enable(h)
    h.modem.inject_sms(MOBILE, 'AT+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;+CGMR;'
                               '+CGMR;+CGMR')
    parts = answers(h, 2)
    assert [(p['part'], p['parts']) for p in parts] == [(1, 2), (2, 2)]
    assert len(parts[0]['user_data']) == 153
    text = b''.join(p['user_data'] for p in parts)
    assert text == b'\r\n12.00.026\r\n' * 12 + b'\r\nOK\r\n'


def test_atrundelay_delays_sms_commands(h):
    assert h.cmd('AT#ATRUNDELAY=1,5') == ['OK']                     # §2.5.1
    enable(h)
    h.modem.inject_sms(MOBILE, 'AT')
    h.advance(4.5)
    assert list(h.modem.sms_out) == []
    assert answers(h, timeout_s=1.0)


# -- digest ATRUN SMS -------------------------------------------------------------------------

def test_digest_sms_of_the_worked_example(h):
    enable(h, number=None, password=PWD)
    user_data = smsdigest.parse_submit_pdu(REQUEST_PDU).user_data
    # the sender is not checked in digest mode ("the mobile can also change the SIM")
    assert h.modem.inject_sms('+15550000000', user_data, dcs=0x15)
    [answer] = answers(h)
    assert answer['to'] == '+15550000000' and answer['dcs'] == 0x15
    assert answer['user_data'][:6] == b'\xd1\xd1\xd1\x00\x11\x01'   # Tab. 2, session 1
    reply = smsdigest.parse_response(answer['user_data'], [PWD])
    assert reply.text == b'\r\n+COPS: 0,0,"vodafone IT",7\r\n\r\nOK\r\n'
    assert answer['user_data'][6:30] == smsdigest.digest(PWD, reply.text)


def test_digest_with_a_wrong_password_is_refused(h):
    enable(h, number=None, password=PWD)
    user_data = smsdigest.build_request('6543210987654321', 'AT+CGMR')
    assert h.modem.inject_sms(MOBILE, user_data, dcs=0x15) is False
    h.advance(2.0)
    assert list(h.modem.sms_out) == []


def test_digest_keeps_transaction_and_session(h):
    enable(h, number=None, password=PWD)
    h.modem.inject_sms(MOBILE, smsdigest.build_request(PWD, 'AT', transaction=9, session=4),
                       dcs=0x15)
    reply = smsdigest.parse_response(answers(h)[0]['user_data'], [PWD])
    assert (reply.transaction, reply.session, reply.text) == (9, 4, b'\r\nOK\r\n')


def test_white_list_is_refused_through_digest_mode(h):
    enable(h, number=None, password=PWD)
    h.modem.inject_sms(MOBILE, smsdigest.build_request(PWD, 'AT#SMSATWL=0,3,0,"+1*"'), dcs=0x15)
    reply = smsdigest.parse_response(answers(h)[0]['user_data'], [PWD])
    assert reply.text == b'\r\nERROR\r\n'


# -- what breaks the SMS exchange (§2.5.2) ---------------------------------------------------

def test_reboot_sends_no_answer(h):
    enable(h)
    h.modem.inject_sms(MOBILE, 'AT#REBOOT')                       # note 2
    h.wait_for(lambda: any(e['event'] == 'reboot' for e in h.modem.events), 3.0)
    h.advance(5.0)
    assert list(h.modem.sms_out) == []


def test_blocking_command_stops_the_sms_exchange_until_reboot(h):
    enable(h)
    h.modem.inject_sms(MOBILE, 'AT+CFUN=4')                       # notes 2, 4, 5
    h.wait_for(lambda: any(e['event'] == 'atrun_blocked' for e in h.modem.events), 3.0)
    assert h.modem.inject_sms(MOBILE, 'AT+CGMR')                   # taken, then dropped
    h.advance(3.0)
    assert list(h.modem.sms_out) == []
    h.modem.reboot(delay_s=0.5)
    h.advance(1.0)
    h.modem.inject_sms(MOBILE, 'AT')
    assert answers(h)[0]['user_data'] == b'\r\nOK\r\n'


def test_stuck_command_reboots_after_the_timeout(h):
    enable(h)                                                      # <timeout> 2 minutes
    h.modem.inject_sms(MOBILE, 'ATQ1')                             # note 3
    h.wait_for(lambda: any(e['event'] == 'atrun_blocked' for e in h.modem.events), 3.0)
    h.advance(110.0)
    assert not any(e['event'] == 'reboot' for e in h.modem.events)
    h.wait_for(lambda: any(e['event'] == 'reboot' for e in h.modem.events), 20.0)
