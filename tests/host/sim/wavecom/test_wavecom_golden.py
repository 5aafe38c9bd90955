"""The Wavecom golden transcripts of digest C.7, replayed line by line.

Seed defects worked around (each also noted where it applies):
- `OK_Info_WaitingForDate`, `OK_WaitingForData` (MT App. A, FTPPUT table) are typos: the
  emulator prints the Information Messages table spelling `OK_Info_WaitingForData`
  (digest Part E #48/#49).
- MT App. A spells the activation `OK_Info_GprsActivation`; the table says
  `OK_Info_GPRSActivation` (the emulator's); the digest (C.8 #5) has drivers compare these
  messages case-insensitively, as `same()` does here.
- `#LTCPPORT` (MT App. A) is `#LTCPSTART` (Part E #47); the TCP port 23 of the examples is
  replaced by a free port (binding 23 needs privileges).
- A local ETX close shows only `OK` in MT App. A and only `Ok_Info_SocketClosed` in GP §7.2.4 /
  §7.3.4; the reference tables (MT #OTCP, GP §4.4.2) give both, which the emulator sends
  (Part E #55).
- GW-11 prints `#TCPPOINT:`/`TCPTXDELAY:` in #VTCP and `" "` for empty strings; the emulator
  prints `#TCPPORT:`, `#TCPTXDELAY:` and `""` (digest C.4.3, Part E #53).
- GW-6: `AT+CPIN=xxxx` and the `+CREG: 1` / `+CGREG: 0` reports belong to the common 3GPP core
  (PIN entry is not emulated there), so the replay starts at `AT+CGATT=1`.
- GW-4 (SNTP) is replayed in test_wavecom_services.py; GW-7/GW-8 (mail) in test_wavecom_mail.py;
  GW-13 (DLE vectors) is in test_wavecom_dle.py and test_wavecom_ftp.py.
"""

import socket

import pytest

from test_wavecom_support import DLE, ETX, ftp_server, modem, read_until

__all__ = ['ftp_server']
pytestmark = pytest.mark.filterwarnings('ignore:The asyn:DeprecationWarning')


def same(got, expected):
    """Lines equal, information messages compared case-insensitively (digest C.8 #5)."""
    fold = [line.lower() if line.lower().startswith('ok_info_') else line for line in got]
    want = [line.lower() if line.lower().startswith('ok_info_') else line for line in expected]
    return fold == want


def replay(h, script):
    """Send each command and compare its response lines with the transcript's."""
    for command, expected in script:
        got = h.cmd(command)
        assert same(got, expected), f'{command}: {got} != {expected}'


def test_gw1_genpro_tcp_client(tcp_echo_server):
    with modem('genpro', attached=False, ip_pool=['80.10.32.45']) as h:
        h.cmd(f'AT+CGREG=1;#APNSERV="apn_serveur";#TCPSERV=1,"127.0.0.1";'
              f'#TCPPORT=1,{tcp_echo_server.port}')
        assert h.cmd('AT+CGATT=1') == ['OK', '+CGREG: 2']
        assert h.expect_urc('+CGREG: 1') == '+CGREG: 1'
        h.advance(0.5)                  # GP §8: at least 500 ms before #CONNECTIONSTART
        replay(h, [('AT#CONNECTIONSTART', ['80.10.32.45', 'Ok_Info_GprsActivation']),
                   ('AT#OTCP=1', ['Ok_Info_WaitingForData'])])
        h.write(b'data' + DLE + ETX)
        assert read_until(h, b'data') == b'data' + DLE + ETX
        h.write(ETX)                    # GP §7.2.4 "closed by locally sending <ETX>"
        assert h.lines() == ['\x03', 'Ok_Info_SocketClosed', 'OK']
        replay(h, [('AT#CONNECTIONSTOP', ['OK'])])


def test_gw2_genpro_tcp_server():
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    with modem('genpro', ip_pool=['80.10.32.45']) as h:
        h.cmd(f'AT#APNSERV="apn_serveur";#TCPSERV=1,"255.255.255.255";#TCPPORT=1,{port}')
        replay(h, [('AT#CONNECTIONSTART', ['80.10.32.45', 'Ok_Info_GprsActivation']),
                   ('AT#LTCPSTART=1', ['OK'])])
        client = socket.create_connection(('127.0.0.1', port), timeout=2.0)
        assert h.expect_urc('Ok_Info_WaitingForData') == 'Ok_Info_WaitingForData'
        client.close()                  # GP §7.3.4 "Deconnexion" from the client
        h.wait_for(lambda: b'OK\r\n' in h.rx[h.mark:])
        assert h.lines() == ['\x03', 'Ok_Info_SocketClosed', 'OK']
        # "a new socket connexion must started with the command AT#LTCPSTART=1"
        replay(h, [('AT#LTCPSTART=1', ['OK']), ('AT#CONNECTIONSTOP', ['OK'])])


def test_gw3_genpro_configuration_block():
    with modem('genpro') as h:
        replay(h, [(line, ['OK']) for line in (
            'AT+CGREG=1', 'AT#GPRSMODE=1', 'AT#APNSERV="apn_serveur"',
            'AT#APNUN="user_name_APN"', 'AT#APNPW="password_APN"')])
        replay(h, [('AT#VGPRS', ['#APNPW: "password_APN"', '#APNSERV: "apn_serveur"',
                                 '#APNUN: "user_name_APN"', '#GPRSMODE: 1', '#GPRSCID: 1',
                                 'OK'])])
        replay(h, [(line, ['OK']) for line in (
            'AT#TCPSERV=1,"255.255.255.255"', 'AT#TCPSERV=1,"distantserver.com"',
            'AT#TCPPOINT=1,"1025"')])
        assert h.cmd('AT#VTCP')[:4] == ['#DLEMODE: 1,1', '#TCPSERV: 1,"distantserver.com"',
                                        '#TCPPORT: 1,1025', '#TCPTXDELAY: 1,100']
        replay(h, [(line, ['OK']) for line in (
            'AT#FTPMODE=0', 'AT#FTPSERV="server.ftp.fr"', 'AT#FTPUN="username"',
            'AT#FTPPW="password"', 'AT#FTPPORT="21"', 'AT#FTPGETPATH="."',
            'AT#FTPPUTPATH="."', 'AT#FTPPUTFILENAME="filename.txt"',
            'AT#FTPGETFILENAME="filename.txt"', 'AT#FTPTYPE="I"')])
        replay(h, [('AT#VFTP', [
            '#FTPGETFILENAME: "filename.txt"', '#FTPGETPATH: "."', '#FTPMODE: 0',
            '#FTPPORT: 21', '#FTPPUTFILENAME: "filename.txt"', '#FTPPUTPATH: "."',
            '#FTPPW: "password"', '#FTPSERV: "server.ftp.fr"', '#FTPTYPE = I',
            '#FTPUN: "username"', 'OK'])])


def test_gw5_multitech_connect_via_gprs_and_gsm():
    with modem('multitech', ip_pool=['213.30.30.30']) as h:
        replay(h, [('AT#GPRSMODE=1', ['OK']), ('AT#APNSERV="apnserver.com"', ['OK']),
                   ('AT#APNUN="login"', ['OK']), ('AT#APNPW="password"', ['OK']),
                   ('AT#CONNECTIONSTART', ['213.30.30.30', 'OK_Info_GprsActivation']),
                   ('AT#CONNECTIONSTOP', ['OK'])])
        replay(h, [('AT#GPRSMODE=0', ['OK']), ('AT#DIALN1="0860000000"', ['OK']),
                   ('AT#ISPUN="login"', ['OK']), ('AT#ISPPW="password"', ['OK']),
                   ('AT#CONNECTIONSTART', ['DIALING', '0860000000', 'CONNECT 9600',
                                           '213.30.30.30', 'OK_Info_PPP']),
                   ('AT#CONNECTIONSTOP', ['OK'])])


def test_gw6_multitech_registration_preamble():
    with modem('multitech', attached=False) as h:
        h.cmd('AT+CGREG=1')
        assert h.cmd('AT+CGATT=1') == ['OK', '+CGREG: 2']
        assert h.expect_urc('+CGREG: 1') == '+CGREG: 1'
        replay(h, [('AT#PPPMODE=1', ['OK']), ('AT#PPPMODE?', ['#PPPMODE: 1', 'OK']),
                   ('AT#VVERSION',
                    ['#VERSION: "eDsoft-W302_V01.00 67826 Mar 18 2003 18:42:19"', 'OK'])])


def test_gw9_multitech_ftp_upload_then_download(ftp_server):
    with modem('multitech', hosts={'pop3.domain.com': '127.0.0.1'}) as h:
        h.cmd(f'AT#APNSERV="internet";#FTPPORT={ftp_server.port};#FTPMODE=1')
        h.cmd('AT#CONNECTIONSTART')
        replay(h, [('AT#FTPSERV="pop3.domain.com"', ['OK']), ('AT#FTPUN= "ftlogin"', ['OK']),
                   ('AT#FTPPW = "ftppassword"', ['OK']),
                   ('AT#FTPPUTFILENAME="upload.text"', ['OK']),
                   ('AT#FTPPUTPATH="."', ['OK']),
                   ('AT#FTPPUT', ['OK_Info_WaitingForData'])])     # seed: ...ForDate
        h.write(b'file body')
        h.write(ETX)                                    # "This character is echoed."
        assert read_until(h, b'OK\r\n') == ETX + b'\r\nOK\r\n'
        assert (ftp_server.root / 'upload.text').read_bytes() == b'file body'
        replay(h, [('AT#FTPGETFILENAME="upload.text"', ['OK'])])
        h.write('AT#FTPGET\r')
        assert read_until(h, b'OK\r\n') == \
            b'AT#FTPGET\r\r\nOK_Info_DataBegin\r\nfile body' + ETX + b'\r\nOK\r\n'


def test_gw10_multitech_tcp_server_and_client(tcp_echo_server):
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    with modem('multitech') as h:
        h.cmd('AT#APNSERV="internet";#CONNECTIONSTART')
        replay(h, [('AT#TCPSERV=1,"255.255.255.255"', ['OK']),
                   (f'AT#TCPPOINT=1,"{port}"', ['OK']),
                   ('AT#LTCPSTART=1', ['OK'])])                    # seed: AT#LTCPPORT=1
        client = socket.create_connection(('127.0.0.1', port), timeout=2.0)
        assert h.expect_urc('OK_Info_WaitingForData') == 'OK_Info_WaitingForData'
        client.sendall(b'Data')
        assert read_until(h, b'Data') == b'Data'
        h.write(ETX)                                    # seed shows only OK (Part E #55)
        assert h.lines() == ['\x03', 'OK_Info_SocketClosed', 'OK']
        client.close()
        replay(h, [('AT#TCPSERV=1,"127.0.0.1"', ['OK']),
                   (f'AT#TCPPOINT=1,"{tcp_echo_server.port}"', ['OK']),
                   ('AT#OTCP=1', ['OK_Info_WaitingForData'])])
        h.wait_for(lambda: tcp_echo_server.connections() == 1)
        tcp_echo_server.drop_all()                      # "closed by the remote"
        h.wait_for(lambda: b'OK\r\n' in h.rx[h.mark:])
        assert h.lines() == ['\x03', 'OK_Info_SocketClosed', 'OK']


def test_gw11_multitech_views():
    with modem('multitech') as h:
        replay(h, [
            ('AT#VTCP=2', ['#DLEMODE: 2,1', '#TCPSERV: 2,""', '#TCPPORT: 2,0',
                           '#TCPTXDELAY: 2,100', 'OK']),
            ('AT#VUDP', ['#UDPSERV: ""', '#UDPPORT: 0', '#UDPTXDELAY: 100', 'OK']),
            ('AT#VPING', ['#PINGDELAY: 1', '#PINGNUM: 4', '#PINGREMOTE: ""', 'OK']),
            ('AT#VDNS', ['#DNSSERV1: "0.0.0.0"', '#DNSSERV2: "0.0.0.0"', 'OK']),
            ('AT#VPHY', ['#ANSWERMODE: 0', '#CALLBACKTIMER: 2', '#CALLSCREENNUM: "0"',
                         '#DIALN1: ""', '#DIALN2: ""', '#DIALSELECT: 1', '#GPRSMODE: 1',
                         '#PHYTIMEOUT: 15', '#REDIALCOUNT: 5', '#REDIALDELAY: 5',
                         '#RINGCOUNT: 0', 'OK'])])


def test_gw12_multitech_ping():
    # MT #PING: ten requests, the sixth unanswered ("TCP/IP stack sends PINGNUM = 10 requests")
    rtts = [900, 900, 800, 800, 1000, None, 900, 800, 900, 900]
    with modem('multitech', hosts={'wavecom.com': '127.0.0.1'}, ping_rtt_ms=rtts) as h:
        h.cmd('AT#APNSERV="internet";#CONNECTIONSTART')
        h.cmd('AT#PINGREMOTE="wavecom.com";#PINGNUM=10')
        alive = '"wavecom.com" is alive : time = {} ms'.format
        h.cmd('ATE0')
        h.write('AT#PING\r')
        h.advance(10.0)                 # no socket open: the fake clock jumps timer to timer
        assert h.lines() == [alive(900), alive(900), alive(800), alive(800), alive(1000),
                             'NO answer from "wavecom.com"', alive(900), alive(800),
                             alive(900), alive(900), 'OK']
