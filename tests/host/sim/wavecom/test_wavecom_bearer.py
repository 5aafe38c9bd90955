"""Wavecom bearer and status: #CONNECTIONSTART/#CONNECTIONSTOP, #DISPLAYIP, #VSTATE, GPRS attach
(MT Chapter 2 and 8, App. A/B; GP §2, §6.2, §7.2, §8; digest C.4.1, C.4.9)."""

import pytest

from test_wavecom_support import connect, modem


def test_connectionstart_answers_ip_then_activation_after_the_delay():
    with modem('multitech', activation_s=2.0) as h:
        h.cmd('ATE0;#APNSERV="internet"')
        h.write('AT#CONNECTIONSTART\r')
        assert h.read(1.9) == b''
        # MT #CONNECTIONSTART (GPRS): "213.192.200.4" then "OK_Info_GPRSActivation", no OK
        assert h.read(0.2) == b'\r\n10.0.0.2\r\n\r\nOK_Info_GPRSActivation\r\n'
        assert h.cmd('AT#VSTATE') == ['#STATE: "CONNECTED"', 'OK']
        assert h.cmd('AT#DISPLAYIP') == ['MY IP: 10.0.0.2', 'Gateway IP: 10.0.0.1', 'OK']
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 35840']
        assert h.cmd('AT#CONNECTIONSTOP') == ['OK']
        assert h.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']
        assert h.cmd('AT#DISPLAYIP') == ['#CME ERROR: 35867']
        assert h.cmd('AT#CONNECTIONSTART')[0] == '10.0.0.3'       # the next address


def test_genpro_spelling():
    with modem('genpro') as h:
        # GP §2.2.2: "213.192.200.4 Ok_Info_GprsActivation"
        assert connect(h) == '10.0.0.2'
        assert h.cmd('AT#VSTATE') == ['#STATE: "CONNECTED"', 'OK']


def test_apn_problems_are_35868():
    # MT/GP #CONNECTIONSTART: "#CME ERROR: 35868 Aborted GPRS connection; check APN parameters"
    with modem('multitech', apn='internet') as h:
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 35868']
        h.cmd('AT#APNSERV="wrong.apn"')
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 35868']
        assert connect(h, 'internet') == '10.0.0.2'


@pytest.mark.parametrize('config', [{'attached': False}, {'reg_stat': 0}])
def test_not_attached_or_not_registered_is_35865(config):
    # "#CME ERROR: 35865 The product is not registered on the network"
    with modem('multitech', **config) as h:
        h.cmd('AT#APNSERV="internet"')
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 35865']


def test_genpro_attach_sequence_and_the_500_ms_rule():
    with modem('genpro', attached=False) as h:
        h.cmd('AT+CGREG=1;#APNSERV="internet"')
        # GP §7.2.1: AT+CGATT=1 -> OK, +CGREG: 2, +CGREG: 1
        assert h.cmd('AT+CGATT=1') == ['OK', '+CGREG: 2']
        assert h.expect_urc('+CGREG: 1', 1.0) == '+CGREG: 1'
        # GP §8: without 500 ms after the OK, "#CME ERROR: 35866"
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 35866']
        h.advance(0.2)
        assert h.cmd('AT#CONNECTIONSTART')[1] == 'Ok_Info_GprsActivation'


def test_multitech_has_no_500_ms_rule():
    with modem('multitech', attached=False) as h:
        h.cmd('AT#APNSERV="internet"')
        assert h.cmd('AT+CGATT=1') == ['OK']
        assert h.cmd('AT#CONNECTIONSTART')[1] == 'OK_Info_GPRSActivation'


def test_detach_loses_the_bearer():
    with modem('multitech') as h:
        connect(h)
        assert h.cmd('AT+CGATT=0') == ['OK', '#CME ERROR: 35841']
        assert h.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']


def test_vstate_without_service():
    # MT '#NO SERVICE', GP '#STATE: "NO SERVICE"' (digest C.1)
    with modem('multitech', reg_stat=0) as h:
        assert h.cmd('AT#VSTATE') == ['#NO SERVICE', 'OK']
    with modem('genpro', reg_stat=0) as h:
        assert h.cmd('AT#VSTATE') == ['#STATE: "NO SERVICE"', 'OK']


def test_gsm_data_call_on_multitech():
    # MT App. A "Connection ... Using GSM Data": DIALING, the number, CONNECT 9600, the IP,
    # OK_Info_PPP
    with modem('multitech') as h:
        assert h.cmd('AT#GPRSMODE=0') == ['OK']
        assert h.cmd('AT#CONNECTIONSTART') == ['NO CARRIER']             # no number
        h.cmd('AT#DIALN1="0860000000";#ISPUN="login";#ISPPW="password"')
        assert h.cmd('AT#CONNECTIONSTART') == ['DIALING', '0860000000', 'CONNECT 9600',
                                               '10.0.0.2', 'OK_Info_PPP']
        assert h.cmd('AT#DISPLAYIP') == ['MY IP: 10.0.0.2', 'PEER IP: 10.0.0.1', 'OK']


def test_genpro_manages_gprs_only():
    # GP §2.1.5 "Only GPRS mode is currently managed.": 36929 "Bad parameter configuration"
    with modem('genpro') as h:
        assert h.cmd('AT#GPRSMODE=0') == ['OK']
        assert h.cmd('AT#CONNECTIONSTART') == ['#CME ERROR: 36929']


def test_mail_needs_the_bearer_and_a_server():
    with modem('multitech') as h:
        assert h.cmd('AT#SENDMAIL1') == ['#CME ERROR: 35867']
        connect(h)
        assert h.cmd('AT#PUTMAIL') == ['#CME ERROR: 38027']
        assert h.cmd('AT#GETMAIL') == ['#CME ERROR: 38027']
        # the rest is test_wavecom_mail.py's


def test_reboot_keeps_parameters_and_drops_the_bearer():
    with modem('multitech') as h:
        connect(h)
        h.modem.reboot(delay_s=1.0)
        h.write('AT\r')
        assert h.read(0.5) == b''                                      # off: input lost
        h.advance(0.6)
        assert h.read() == b''                                         # MT: no start-up text
        assert h.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']
        assert h.cmd('AT#APNSERV?') == ['#APNSERV: "internet"', 'OK']
