"""Wavecom UDP session: #OUDP, #LUDPSTART/#LUDPSTOP, always DLE-escaped (MT Chapter 6)."""

import socket

import pytest

from test_wavecom_support import DLE, ETX, connect, modem, read_until

CLOSED = ETX + b'\r\nOK_Info_SocketClosed\r\n\r\nOK\r\n'


@pytest.fixture
def online():
    with modem('multitech') as h:
        connect(h)
        yield h


def test_oudp_exchanges_escaped_datagrams(online, udp_echo_server):
    online.cmd(f'AT#UDPSERV="127.0.0.1";#UDPPORT={udp_echo_server.port};#UDPTXDELAY=200')
    # MT #OUDP: 'OK_Info_WaitingForData' ... '<ETX> OK_Info_SocketClosed OK'
    assert online.cmd('AT#OUDP') == ['OK_Info_WaitingForData']
    # "an <ETX> character must be sent (even in payload data) as <DLE><ETX>"
    online.write(b'one' + DLE + ETX)
    online.advance(0.1)
    online.write(b'two')
    assert read_until(online, b'two') == b'one' + DLE + ETX + b'two'
    assert udp_echo_server.datagrams == 1          # both writes fell in one UDPTXDELAY
    online.write(ETX)
    assert online.read() == CLOSED
    assert online.cmd('AT#OUDP') == ['OK_Info_WaitingForData']


def test_oudp_errors(online):
    assert online.cmd('AT#OUDP') == ['#CME ERROR: 36929']      # "Port number 0 is illegal."
    online.cmd('AT#UDPPORT=5000;#UDPSERV="unknown.invalid"')
    assert online.cmd('AT#OUDP') == ['#CME ERROR: 38027']
    online.cmd('AT#CONNECTIONSTOP')
    assert online.cmd('AT#OUDP') == ['#CME ERROR: 35867']


def test_ludpstart_becomes_effective_on_the_first_datagram(online):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    online.cmd(f'AT#UDPPORT={port};#UDPSERV="255.255.255.255";#UDPTXDELAY=0')
    assert online.cmd('AT#LUDPSTART') == ['OK']
    assert online.cmd('AT#UDPPORT=1') == ['#CME ERROR: 37123']
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(('127.0.0.1', 0))
    peer.settimeout(2.0)
    try:
        peer.sendto(b'hello\x10', ('127.0.0.1', port))
        # "OK_Info_WaitingForData ... signals that the remote allowed UDP peer has sent its
        # first datagram"
        assert read_until(online, b'hello' + DLE + DLE) == \
            b'\r\nOK_Info_WaitingForData\r\n' + b'hello' + DLE + DLE
        online.write(b'back' + DLE + ETX)
        online.wait_for(lambda: online.modem.udp.tx_pending() == 0)
        assert peer.recvfrom(100)[0] == b'back\x03'
        online.write(ETX)
        assert online.read() == CLOSED
    finally:
        peer.close()


def test_ludpstop_before_the_first_datagram(online):
    online.cmd('AT#UDPPORT=0')
    assert online.cmd('AT#LUDPSTART') == ['#CME ERROR: 36929']
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    online.cmd(f'AT#UDPPORT={port};#UDPSERV="255.255.255.255"')
    assert online.cmd('AT#LUDPSTART') == ['OK']
    # UDP needs the whole stack: "if no other TCP/IP stack resource is active"
    assert online.cmd('AT#OTCP=1') == ['#CME ERROR: 37122']
    assert online.cmd('AT#LUDPSTOP') == ['OK']
    assert online.modem.udp is None
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as again:
        again.bind(('127.0.0.1', port))            # the port was released


def test_datagrams_from_other_addresses_are_dropped(online, udp_echo_server):
    # MT #OUDP: "Datagrams can only be received from this UDPPORT or UDPSERV address";
    # #LUDPSTART with a UDPSERV address: "only the remote with the UDPSERV IP address will be
    # authorized to send datagrams"
    online.cmd(f'ATE0;#UDPSERV="127.0.0.1";#UDPPORT={udp_echo_server.port};#UDPTXDELAY=0')
    online.cmd('AT#OUDP')
    local = online.modem.udp.sock.port
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as stranger:
        stranger.sendto(b'intruder', ('127.0.0.1', local))
        online.advance(0.2)
    assert online.read() == b''
    assert online.modem.events[-1]['event'] == 'udp_foreign'
    online.write(ETX)
    online.read()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(('127.0.0.1', 0))
        port = probe.getsockname()[1]
    online.cmd(f'AT#UDPPORT={port}')
    assert online.cmd('AT#LUDPSTART') == ['OK']
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as other:
        other.bind(('127.0.0.2', 0))
        other.sendto(b'refused', ('127.0.0.1', port))
        online.advance(0.2)
    assert online.read() == b''
    assert online.modem.events[-1]['event'] == 'udp_refused'
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as allowed:
        allowed.sendto(b'welcome', ('127.0.0.1', port))
        assert read_until(online, b'welcome') == b'\r\nOK_Info_WaitingForData\r\nwelcome'


def test_bearer_loss_ends_the_udp_session(online, udp_echo_server):
    online.cmd(f'AT#UDPSERV="127.0.0.1";#UDPPORT={udp_echo_server.port}')
    online.cmd('AT#OUDP')
    online.modem.pdp_deactivate(1)
    assert online.read() == ETX + b'\r#CME ERROR: 35841\r\n'
    assert online.modem.udp is None
