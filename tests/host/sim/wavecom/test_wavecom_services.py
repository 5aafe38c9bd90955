"""Wavecom #PING (MT Chapter 7) and SNTP AT+EGNTP... (GP §5, §7.5.3) against a loopback SNTP
server."""

import pytest

from test_wavecom_support import connect, modem, sntp_server

__all__ = ['sntp_server']


@pytest.fixture
def mt():
    with modem('multitech', hosts={'wavecom.com': '127.0.0.1'}) as h:
        connect(h)
        yield h


def test_ping_lines_and_timing(mt):
    # MT #PING: '"wavecom.com" is alive : time = 900 ms' per request, then OK
    assert mt.cmd('AT#PINGREMOTE="wavecom.com";#PINGNUM=3;#PINGDELAY=2') == ['OK']
    mt.cmd('ATE0')
    mt.write('AT#PING\r')
    alive = '"wavecom.com" is alive : time = 100 ms'
    assert mt.lines(4.09) == [alive, alive]
    assert mt.lines(0.01) == [alive, 'OK']            # 2 delays + the last RTT: 4.1 s
    assert mt.cmd('AT#VPING') == ['#PINGDELAY: 2', '#PINGNUM: 3',
                                  '#PINGREMOTE: "wavecom.com"', 'OK']


def test_ping_without_answer():
    # MT #PINGDELAY: "the waiting delay ... before an echo request is considered as a no reply"
    with modem('multitech', hosts={'wavecom.com': '127.0.0.1'},
               ping_silent=('wavecom.com',)) as h:
        connect(h)
        h.cmd('ATE0;#PINGREMOTE="wavecom.com";#PINGNUM=2')
        h.write('AT#PING\r')
        assert h.lines(1.99) == ['NO answer from "wavecom.com"']
        assert h.lines(0.01) == ['NO answer from "wavecom.com"', 'OK']
        h.cmd('AT#PINGREMOTE="192.0.2.7";#PINGNUM=1')      # outside loopback: unreachable
        assert h.cmd('AT#PING') == ['NO answer from "192.0.2.7"', 'OK']


def test_ping_errors(mt):
    mt.cmd('AT#PINGREMOTE="unknown.invalid"')
    assert mt.cmd('AT#PING') == ['#CME ERROR: 38027']
    mt.cmd('AT#CONNECTIONSTOP')
    assert mt.cmd('AT#PING') == ['#CME ERROR: 35867']


@pytest.fixture
def gp(sntp_server):
    with modem('genpro', hosts={'mySntpServer': '127.0.0.1', 'ntp.test': '127.0.0.1'},
               sntp_servers=('unknown.invalid', 'ntp.test')) as h:
        connect(h)
        assert h.cmd(f'AT+EGNTPPORT={sntp_server.port}') == ['OK']
        yield h


def test_gp_7_5_3_transcript(gp, sntp_server):
    # GW-4 (GP §7.5.3), the server's time being 2007-06-01 03:24:36 UTC
    assert gp.cmd('AT+EGNTPUTC=9,30') == ['OK']
    assert gp.cmd('AT+EGNTP=1') == ['OK']
    assert gp.cmd('AT+EGNTP=2,"mySntpServer",45') == ['OK']
    assert gp.cmd('AT+EGNTP=2,"mySntpServer",45,1') == ['07/06/01,12:54:36', 'OK']
    assert len(sntp_server.requests) == 3
    assert sntp_server.requests[0][0] & 0x07 == 3            # client mode
    assert gp.modem.rtc[1] == 1180668276 + 9 * 3600 + 30 * 60


def test_negative_utc_offset_and_display_in_mode_1(gp):
    assert gp.cmd('AT+EGNTPUTC="-3",30') == ['OK']
    assert gp.cmd('AT+EGNTPUTC?') == ['+EGNTPUTC: -3,30', 'OK']
    assert gp.cmd('AT+EGNTP=1,1') == ['07/05/31,23:54:36', 'OK']


def test_sntp_timeout_is_plain_error(gp, sntp_server):
    # GP §5.2.2: "The SNTP server has not been found and the request has timed out" -> ERROR
    sntp_server.silent = True
    start = gp.now()
    assert gp.cmd('AT+EGNTP=2,"mySntpServer",10', timeout_s=15) == ['ERROR']
    assert gp.now() - start == pytest.approx(10.0, abs=0.05)
    assert gp.cmd('AT+EGNTP=0') == ['OK']


def test_sntp_parameters_and_errors(gp):
    assert gp.cmd('AT+EGNTPWAIT?') == ['+EGNTPWAIT: 30', 'OK']
    assert gp.cmd('AT+EGNTPWAIT=9') == ['ERROR']
    assert gp.cmd('AT+EGNTPWAIT=300') == ['OK']
    assert gp.cmd('AT+EGNTPUTC=13') == ['ERROR']
    assert gp.cmd('AT+EGNTP=3') == ['ERROR']
    assert gp.cmd('AT+EGNTP=2,"mySntpServer",5') == ['ERROR']   # timeout 10-300
    gp.cmd('AT#CONNECTIONSTOP')
    # GP §5.2.2: "#CME ERROR: 35867 ... No IP addresses have been attributed"
    assert gp.cmd('AT+EGNTP=1') == ['#CME ERROR: 35867']
