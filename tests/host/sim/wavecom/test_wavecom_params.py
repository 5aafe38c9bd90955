"""Wavecom parameter registers, dumps, framing, result codes and variant differences
(MT Chapters 2-9 and App. B; GP §2-§9; digest C.1, C.2, C.6)."""

import pytest

from mktools.sim.wavecom.tables import ERRORS, GP_ERRORS
from test_wavecom_support import modem


@pytest.fixture
def mt():
    with modem('multitech') as h:
        yield h


@pytest.fixture
def gp():
    with modem('genpro') as h:
        yield h


def test_parameter_view_framing_is_byte_exact(mt):
    # MT App. B: "#Mnemonic: value[CR][LF]" then "[CR][LF]OK[CR][LF]"; writing: "[CR][LF]OK"
    mt.write('AT#FTPPORT?\r')
    assert mt.read() == b'AT#FTPPORT?\r#FTPPORT: 21\r\n\r\nOK\r\n'
    mt.write('AT#FTPPORT=2121\r')
    assert mt.read() == b'AT#FTPPORT=2121\r\r\nOK\r\n'


def test_strings_quoted_unquoted_and_spaces_after_equals(mt):
    # MT App. A writes 'AT#REC1= recipient@domain.com' and 'AT#POP3PW = "password"'
    assert mt.cmd('AT#APNSERV="apnserver.com"') == ['OK']
    assert mt.cmd('AT#APNUN=login') == ['OK']
    assert mt.cmd('AT#REC1= recipient@domain.com') == ['OK']
    assert mt.cmd('AT#POP3PW = "password"') == ['OK']
    assert mt.cmd('at#apnserv?;#APNUN?') == ['#APNSERV: "apnserver.com"', '#APNUN: "login"',
                                              'OK']
    assert mt.cmd('AT#REC1?;#POP3PW?') == ['#REC1: "recipient@domain.com"',
                                            '#POP3PW: "password"', 'OK']
    assert mt.cmd('AT#APNUN=""') == ['OK']
    assert mt.cmd('AT#APNUN?') == ['#APNUN: ""', 'OK']


def test_integers_may_be_quoted_and_are_range_checked(mt, gp):
    # GP §7.1.3 'AT#FTPPORT="21"'; MT: "numbers above 65,535 are illegal"
    assert mt.cmd('AT#FTPPORT="2121"') == ['OK']
    assert mt.cmd('AT#FTPPORT?') == ['#FTPPORT: 2121', 'OK']
    assert mt.cmd('AT#FTPPORT=65536') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#GPRSCID=5') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#PINGNUM=abc') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#PPPMODE=0') == ['#CME ERROR: 34882']      # rev C "Removed Value 0"
    assert mt.cmd('AT#PPPMODE=9') == ['OK']
    assert gp.cmd('AT#GPRSCID=0') == ['ERROR']                  # GP lists no 348xx codes


def test_tx_delay_is_a_multiple_of_20(mt):
    # MT #TCPTXDELAY / #UDPTXDELAY: "Integer multiple of 20 between 0 and 32760"
    assert mt.cmd('AT#TCPTXDELAY=1,40') == ['OK']
    assert mt.cmd('AT#TCPTXDELAY=1,50') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#UDPTXDELAY=32780') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#UDPTXDELAY=0') == ['OK']


@pytest.mark.parametrize('variant,name,limit', [
    ('multitech', 'APNSERV', 120), ('genpro', 'APNSERV', 96), ('genpro', 'APNPW', 64),
    ('multitech', 'FTPSERV', 120), ('genpro', 'FTPSERV', 64), ('genpro', 'TCPSERV=1,', 64),
    ('multitech', 'FTPUN', 64), ('multitech', 'PINGREMOTE', 120)])
def test_string_length_limits_per_variant(variant, name, limit):
    error = '#CME ERROR: 34882' if variant == 'multitech' else 'ERROR'
    prefix = f'AT#{name}' if name.endswith(',') else f'AT#{name}='
    with modem(variant) as h:
        assert h.cmd(prefix + '"' + 'x' * limit + '"') == ['OK']
        assert h.cmd(prefix + '"' + 'x' * (limit + 1) + '"') == [error]


def test_per_socket_registers(mt):
    # MT Chapter 5: "Get Value: AT#TCPPORT=id", "Set Value: AT#TCPPORT=id,<value>"
    assert mt.cmd('AT#TCPPORT=1') == ['#TCPPORT: 1,0', 'OK']
    assert mt.cmd('AT#TCPPORT=2,"1025"') == ['OK']
    assert mt.cmd('AT#TCPPORT=2') == ['#TCPPORT: 2,1025', 'OK']
    assert mt.cmd('AT#TCPSERV=1,"distantserver.com"') == ['OK']
    assert mt.cmd('AT#TCPSERV=1;#DLEMODE=2;#TCPTXDELAY=1') == [
        '#TCPSERV: 1,"distantserver.com"', '#DLEMODE: 2,1', '#TCPTXDELAY: 1,100', 'OK']
    assert mt.cmd('AT#DLEMODE=1,2') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#TCPPORT=3') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#TCPPORT?') == ['#CME ERROR: 34819']      # no '?' form for socket ones


def test_tcppoint_spelling_of_the_manual_examples_is_accepted(mt):
    # MT App. A and GP §7.1.2 write 'AT#TCPPOINT=1,"23"' (digest C.4.3)
    assert mt.cmd('AT#TCPPOINT=1,"23"') == ['OK']
    assert mt.cmd('AT#TCPPOINT=1') == ['#TCPPORT: 1,23', 'OK']


def test_ftptype_values_and_their_odd_display(mt, gp):
    # MT prints '#FTPTYPE: = 1' (OCR of I), GP '#FTPTYPE = I' (digest C.8 #11)
    assert mt.cmd('AT#FTPTYPE?') == ['#FTPTYPE: = I', 'OK']
    assert gp.cmd('AT#FTPTYPE="A"') == ['OK']
    assert gp.cmd('AT#FTPTYPE?') == ['#FTPTYPE = A', 'OK']
    assert mt.cmd('AT#FTPTYPE=B') == ['#CME ERROR: 34882']


def test_dotted_ip_registers(mt):
    assert mt.cmd('AT#DNSSERV1="192.168.1.1"') == ['OK']
    assert mt.cmd('AT#DNSSERV2="dns.example"') == ['#CME ERROR: 34882']
    assert mt.cmd('AT#VDNS') == ['#DNSSERV1: "192.168.1.1"', '#DNSSERV2: "0.0.0.0"', 'OK']


def test_mt_dumps_in_manual_order(mt):
    mt.cmd('AT#APNPW="access";#APNSERV="a2myoperator.com";#APNUN="a2b"')
    # MT #VGPRS: '#GPRSCID: 1 #APNPW: "access" #APNSERV: "a2myoperator.com" #APNUN: "a2b" OK'
    assert mt.cmd('AT#VGPRS') == ['#GPRSCID: 1', '#APNPW: "access"',
                                  '#APNSERV: "a2myoperator.com"', '#APNUN: "a2b"', 'OK']
    # MT #VTCP=2: '#DLEMODE: 2,1 #TCPSERV: 2,"" #TCPPOINT: 2,0 TCPTXDELAY: 2,100 OK'
    # (one spelling, '#TCPPORT:', chosen per digest C.4.3)
    assert mt.cmd('AT#VTCP=2') == ['#DLEMODE: 2,1', '#TCPSERV: 2,""', '#TCPPORT: 2,0',
                                   '#TCPTXDELAY: 2,100', 'OK']
    assert mt.cmd('AT#VUDP') == ['#UDPSERV: ""', '#UDPPORT: 0', '#UDPTXDELAY: 100', 'OK']
    assert mt.cmd('AT#VPING') == ['#PINGDELAY: 1', '#PINGNUM: 4', '#PINGREMOTE: ""', 'OK']
    assert mt.cmd('AT#VPHY') == [
        '#ANSWERMODE: 0', '#CALLBACKTIMER: 2', '#CALLSCREENNUM: "0"', '#DIALN1: ""',
        '#DIALN2: ""', '#DIALSELECT: 1', '#GPRSMODE: 1', '#PHYTIMEOUT: 15', '#REDIALCOUNT: 5',
        '#REDIALDELAY: 5', '#RINGCOUNT: 0', 'OK']
    assert mt.cmd('AT#VPPP') == ['#ISPUN: ""', '#ISPPW: ""', '#PPPMODE: 1',
                                 '#PPPMYIP: "0.0.0.0"', '#PPPPEERIP: "0.0.0.0"',
                                 '#PPPSERVUN: ""', '#PPPSERVPW: ""', 'OK']
    assert mt.cmd('AT#VPOP3') == ['#POP3HEADERMODE: 1', '#POP3PORT: 110', '#POP3PW: ""',
                                  '#POP3SERV: ""', '#POP3UN: ""', 'OK']
    assert mt.cmd('AT#VSMTP')[3] == '#SMTPPORT: 25'
    assert mt.cmd('AT#VMAIL2') == ['#REC2: ""', '#CCREC2: ""', '#SUBJ2: ""', 'OK']
    assert mt.cmd('AT#VFTP') == [
        '#FTPGETFILENAME: ""', '#FTPGETPATH: ""', '#FTPMODE: 0', '#FTPPORT: 21',
        '#FTPPUTFILENAME: ""', '#FTPPUTPATH: ""', '#FTPPW: ""', '#FTPSERV: ""',
        '#FTPTYPE: = I', '#FTPUN: ""', 'OK']


def test_mt_vall_blocks_are_separated_by_crlf(mt):
    mt.write('AT#VALL\r')
    out = mt.read().decode('latin-1')
    blocks = out[len('AT#VALL\r'):].split('\r\n\r\n')
    assert blocks[0] == 'eDsoft-W302-V03.00'
    assert blocks[1].startswith('#ANSWERMODE: 0\r\n') and blocks[1].endswith('#RINGCOUNT: 0')
    assert blocks[3] == '#GPRSCID: 1\r\n#APNPW: ""\r\n#APNSERV: ""\r\n#APNUN: ""'
    assert blocks[5].split('\r\n')[5] == '#FTPTYPE: = I'
    assert blocks[-5] == '#DLEMODE: 1,1\r\n#TCPSERV: 1,""\r\n#TCPPORT: 1,0\r\n#TCPTXDELAY: 1,100'
    assert blocks[-3] == '#UDPPORT: 0\r\n#UDPSERV: ""\r\n#UDPTXDELAY: 100'
    assert blocks[-2] == '#PINGDELAY: 1\r\n#PINGNUM: 4\r\n#PINGREMOTE: ""'
    assert blocks[-1] == 'OK\r\n'


def test_gp_dumps_in_manual_order(gp):
    gp.cmd('AT#APNPW="aces";#APNSERV="a2myoperator.com";#APNUN="a2b"')
    # GP §2.4.2: '#APNPW: "aces" #APNSERV: "a2myoperator.com" #APNUN: "a2b" #GPRSMODE: 1
    # #GPRSCID: 1 OK'
    assert gp.cmd('AT#VGPRS') == ['#APNPW: "aces"', '#APNSERV: "a2myoperator.com"',
                                  '#APNUN: "a2b"', '#GPRSMODE: 1', '#GPRSCID: 1', 'OK']
    assert gp.cmd('AT#VFTP')[8] == '#FTPTYPE = I'
    # GP §7.1.2 uses a bare AT#VTCP: both sockets
    assert gp.cmd('AT#VTCP')[:5] == ['#DLEMODE: 1,1', '#TCPSERV: 1,""', '#TCPPORT: 1,0',
                                     '#TCPTXDELAY: 1,100', '#DLEMODE: 2,1']
    lines = gp.cmd('AT#VALL')
    assert lines[0] == '#VERSION: OS:V313 WIP:V2.00.12 API:LLC T V1.03 - May 3 2007 16:56:58'
    # GP §6.3.2 orders the #VALL TCP block DLEMODE, TCPPORT, TCPSERV, TCPTXDELAY
    assert lines[-9:] == ['#DLEMODE: 1,1', '#TCPPORT: 1,0', '#TCPSERV: 1,""',
                          '#TCPTXDELAY: 1,100', '#DLEMODE: 2,1', '#TCPPORT: 2,0',
                          '#TCPSERV: 2,""', '#TCPTXDELAY: 2,100', 'OK']


def test_versions(mt, gp):
    assert mt.cmd('AT#VVERSION') == [
        '#VERSION: "eDsoft-W302_V01.00 67826 Mar 18 2003 18:42:19"', 'OK']
    assert gp.cmd('AT#VVERSION') == [
        '#VERSION: OS:V313 WIP:V2.00.12 API:LLC T V1.03 - May 3 2007 16:56:58', 'OK']


@pytest.mark.parametrize('command', [
    'AT#OUDP', 'AT#LUDPSTART', 'AT#PING', 'AT#UDPPORT?', 'AT#PINGNUM=2', 'AT#DNSSERV1?',
    'AT#VPHY', 'AT#VUDP', 'AT#PUTMAIL', 'AT#GETMAIL', 'AT#SMTPSERV?', 'AT#DIALN1?',
    'AT+WOPEN=1'])
def test_genpro_lacks_multitech_features(gp, command):
    # digest C.1: no UDP, mail, ping, GSM-data parameters or +WOPEN on the GenPro
    assert gp.cmd(command) == ['ERROR']


@pytest.mark.parametrize('command', ['AT+EGNTP=1', 'AT+EGNTPPORT?', 'AT+EGNTPUTC=1'])
def test_multitech_lacks_sntp(mt, command):
    assert mt.cmd(command) == ['ERROR']


def test_unknown_and_malformed_hash_commands(mt, gp):
    # MT Chapter 9: 34817 "Unknown command", 34819 "Syntax error"
    assert mt.cmd('AT#NOSUCH') == ['#CME ERROR: 34817']
    assert mt.cmd('AT#CONNECTIONSTART=1') == ['#CME ERROR: 34819']
    assert mt.cmd('AT#APNSERV="a","b"') == ['#CME ERROR: 34819']
    assert gp.cmd('AT#NOSUCH') == ['ERROR']
    assert mt.cmd('AT+NOSUCH') == ['ERROR']


def test_cme_error_framing(mt):
    # MT App. B: "For an #CME ERROR, the format of the response is: [CR]#CME ERROR: Value
    # [CR][LF]"
    mt.write('AT#DISPLAYIP\r')
    assert mt.read() == b'AT#DISPLAYIP\r\r#CME ERROR: 35867\r\n'


def test_numeric_result_codes_on_multitech(mt):
    # MT App. B: ATV0 "[CR]numeric code[CR]"; MT Chapter 9 numbers (3086 GPRS activation)
    mt.cmd('AT#APNSERV="internet"')
    mt.write('ATE0V0\r')
    assert mt.read() == b'ATE0V0\r\r0\r'
    mt.write('AT#CONNECTIONSTART\r')
    assert mt.read(1.0) == b'10.0.0.2\r\n\r3086\r'
    mt.write('AT#NOSUCH\r')
    assert mt.read() == b'\r#CME ERROR: 34817\r\n'
    mt.write('ATX\r')
    assert mt.read() == b'\r4\r'


def test_genpro_refuses_atv0_and_atq1(gp):
    # GP §8 "ATQ1 This command is not allowed." "ATV0 This command is not allowed."
    assert gp.cmd('ATV0') == ['ERROR']
    assert gp.cmd('ATQ1') == ['ERROR']
    assert gp.cmd('ATV1Q0') == ['OK']


def test_wopen_stops_and_starts_the_stack(mt):
    # MT App. A "AT+WOPEN=1 Start the TCP/IP stack"; "AT+WOPEN=0 The TCP/IP stack is not opened"
    assert mt.cmd('AT+WOPEN=0') == ['OK']
    assert mt.cmd('AT#VSTATE') == ['ERROR']
    assert mt.cmd('AT+WOPEN=1') == ['OK']
    assert mt.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']
    with modem('multitech', wopen=0) as h:
        assert h.cmd('AT#VVERSION') == ['ERROR']


def test_parameters_survive_a_reboot_and_delflash_erases_after_it(mt):
    mt.cmd('AT#APNSERV="kept"')
    mt.modem.reboot(delay_s=1.0)
    mt.advance(1.5)
    assert mt.cmd('AT#APNSERV?') == ['#APNSERV: "kept"', 'OK']
    # MT #DELFLASH: "The current parameter values remain visible until the hard reset"
    assert mt.cmd('AT#DELFLASH') == ['OK']
    assert mt.cmd('AT#APNSERV?') == ['#APNSERV: "kept"', 'OK']
    mt.modem.reboot(delay_s=1.0)
    mt.advance(1.5)
    assert mt.cmd('AT#APNSERV?') == ['#APNSERV: ""', 'OK']


def test_body_text_entry_ends_with_ctrl_z(mt):
    # MT #BODY1: "AT#BODY1<CR> Text string <CTRL+Z>"
    mt.cmd('ATE0')
    mt.write('AT#BODY1\r')
    mt.write(b'Text string\x1a')
    assert mt.read() == b'\r\nOK\r\n'
    assert mt.cmd('AT#BODY1?') == ['#BODY1: "Text string"', 'OK']


def test_write_spacing_is_logged_on_multitech(mt):
    # MT App. B: "A 1 second delay shall be introduced before each AT# command issued for
    # writing parameters value."
    def too_soon():
        return [e['name'] for e in mt.modem.events if e['event'] == 'write_too_soon']
    mt.cmd('AT#PINGNUM=2')
    mt.cmd('AT#PINGNUM=3')
    assert too_soon() == ['PINGNUM']
    mt.advance(1.0)
    mt.cmd('AT#PINGNUM=4')
    assert too_soon() == ['PINGNUM']


def test_error_tables():
    # MT Chapter 9 lists 46 error codes; GP §9.2 a subset of 11
    assert len(ERRORS) == 46
    assert GP_ERRORS <= set(ERRORS) and len(GP_ERRORS) == 11
    assert ERRORS[35841] == 'Physical layer : GPRS session lost'
    assert ERRORS[38027].startswith('Distant : No answer from DNS servers')
