"""Wavecom TCP sockets: #OTCP, #LTCPSTART/#LTCPSTOP and the DLE/ETX data mode (MT Chapter 5 and
App. A/B, GP §4 and §7.2-7.3, digest C.3/C.4.3), against real loopback peers."""

import random
import socket

import pytest

from test_wavecom_support import DLE, ETX, connect, modem, read_until
from mktools.sim.wavecom.dle import DleDecoder, dle_encode

CLOSED_MT = b'\r\nOK_Info_SocketClosed\r\n\r\nOK\r\n'


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def client_to(port):
    sock = socket.create_connection(('127.0.0.1', port), timeout=2.0)
    sock.setblocking(False)
    return sock


def recv_some(h, sock, size, timeout_s=5.0):
    got = bytearray()

    def more():
        try:
            got.extend(sock.recv(65536))
        except BlockingIOError:
            pass
        return len(got) >= size
    h.wait_for(more, timeout_s)
    return bytes(got)


@pytest.fixture
def online(tcp_echo_server):
    """A Multi-Tech modem with the bearer up and socket 1 aimed at the echo server."""
    with modem('multitech') as h:
        connect(h)
        assert h.cmd(f'AT#TCPSERV=1,"127.0.0.1";#TCPPORT=1,{tcp_echo_server.port}') == ['OK']
        yield h


def test_otcp_echo_with_dle_escaping_both_ways(online, tcp_echo_server):
    # MT #OTCP: "OK_Info_WaitingForData" then data; ETX/DLE escaped both ways (DLEMODE=1)
    assert online.cmd('AT#OTCP=1') == ['OK_Info_WaitingForData']
    assert online.modem.mode == 'raw'
    online.write(b'a' + DLE + ETX + b'b' + DLE + DLE + b'c')
    online.wait_for(lambda: len(tcp_echo_server.received) == 5)
    assert bytes(tcp_echo_server.received) == b'a\x03b\x10c'
    assert read_until(online, b'c') == b'a' + DLE + ETX + b'b' + DLE + DLE + b'c'
    # MT App. B: the host's ETX "is echoed", then 'Ok_Info_SocketClosed' and 'OK'
    online.write(ETX)
    assert online.read() == ETX + CLOSED_MT
    online.wait_for(lambda: tcp_echo_server.connections() == 0)
    assert online.cmd('AT#VSTATE') == ['#STATE: "CONNECTED"', 'OK']


def test_100k_random_bytes_round_trip_intact(online, tcp_echo_server):
    rng = random.Random(2024)
    data = bytes(rng.choice((0x03, 0x10, 0x03, rng.randrange(256))) for _ in range(100_000))
    assert data.count(3) > 30_000 and data.count(0x10) > 20_000
    online.cmd('AT#OTCP=1')
    encoded = dle_encode(data)
    for i in range(0, len(encoded), 4096):
        online.write(encoded[i:i + 4096])
    online.wait_for(lambda: len(tcp_echo_server.received) == len(data), 20.0)
    assert bytes(tcp_echo_server.received) == data
    decoder, back = DleDecoder(), bytearray()

    def drained():
        payload, ended, _ = decoder.feed(online.read())
        back.extend(payload)
        assert not ended
        return len(back) >= len(data)
    online.wait_for(drained, 20.0)
    assert bytes(back) == data
    online.write(ETX)
    assert online.read() == ETX + CLOSED_MT


def test_remote_close_sends_a_bare_etx_then_socket_closed(online, tcp_echo_server):
    # MT App. B: "the modem will also close the socket TCP session by sending an [ETX]
    # character over the serial port to the host, then the message 'Ok_Info_SocketClosed'"
    online.cmd('AT#OTCP=1')
    online.wait_for(lambda: tcp_echo_server.connections() == 1)
    tcp_echo_server.drop_all()
    assert read_until(online, b'OK\r\n') == ETX + CLOSED_MT
    assert online.modem.mode == 'command'
    assert online.cmd('AT#OTCP=1') == ['OK_Info_WaitingForData']     # socket 1 is free again


def test_peer_reset_is_an_etx_prefixed_error(online, tcp_echo_server):
    online.cmd('AT#OTCP=1')
    online.wait_for(lambda: tcp_echo_server.connections() == 1)
    tcp_echo_server.drop_all(reset=True)
    assert read_until(online, b'\r\n') == ETX + b'\r#CME ERROR: 37952\r\n'


def test_dlemode_0_is_transparent_and_only_the_peer_closes(online, tcp_echo_server):
    # MT #DLEMODE 0: "it is not possible for a host to request an end of connection"; the
    # closing message "is not preceded by the [ETX] character"
    online.cmd('AT#DLEMODE=1,0')
    online.cmd('AT#OTCP=1')
    online.write(b'x' + ETX + DLE + b'y')
    online.wait_for(lambda: len(tcp_echo_server.received) == 4)
    assert bytes(tcp_echo_server.received) == b'x\x03\x10y'
    assert read_until(online, b'y') == b'x' + ETX + DLE + b'y'
    assert online.modem.mode == 'raw'
    tcp_echo_server.drop_all()
    assert read_until(online, b'OK\r\n') == CLOSED_MT


def test_a_command_typed_in_data_mode_is_payload(online, tcp_echo_server):
    # there is no escape to command mode: a second #OTCP in data mode is just data for the peer
    online.cmd('AT#OTCP=1')
    online.write(b'AT#OTCP=2\r')
    online.wait_for(lambda: bytes(tcp_echo_server.received) == b'AT#OTCP=2\r')
    assert read_until(online, b'\r') == b'AT#OTCP=2\r'
    assert online.modem.tcp[2] is None


def test_tx_delay_holds_a_partial_frame(online, tcp_echo_server):
    # MT #TCPTXDELAY: "the time delay introduced before sending a TCP frame that has not been
    # entirely filled with user data"
    online.cmd('AT#TCPTXDELAY=1,1000')
    online.cmd('AT#OTCP=1')
    online.write(b'abc')
    online.advance(0.9)
    assert tcp_echo_server.received == b''
    online.wait_for(lambda: tcp_echo_server.received == b'abc', 0.5)
    online.write(b'z' * 1460)                      # a full frame goes at once
    online.wait_for(lambda: len(tcp_echo_server.received) == 1463, 0.5)


def test_open_errors(online, tcp_echo_server):
    assert online.cmd('AT#OTCP') == ['#CME ERROR: 34819']
    assert online.cmd('AT#OTCP=3') == ['#CME ERROR: 34882']
    online.cmd('AT#TCPSERV=2,"nowhere.invalid"')
    assert online.cmd('AT#OTCP=2') == ['#CME ERROR: 38027']          # DNS
    online.cmd(f'AT#TCPSERV=2,"127.0.0.1";#TCPPORT=2,{free_port()}')
    assert online.cmd('AT#OTCP=2') == ['#CME ERROR: 38016']          # refused
    online.cmd('AT#TCPSERV=2,"192.0.2.1"')
    assert online.cmd('AT#OTCP=2') == ['#CME ERROR: 38016']          # not loopback
    online.cmd('AT#CONNECTIONSTOP')
    assert online.cmd('AT#OTCP=1') == ['#CME ERROR: 35867']          # no bearer


def test_listener_with_a_real_client(online):
    port = free_port()
    online.cmd(f'AT#TCPSERV=1,"255.255.255.255";#TCPPORT=1,{port}')
    # GP §7.3.3: OK at once, 'Ok_Info_WaitingForData' when the client connects
    assert online.cmd('AT#LTCPSTART=1') == ['OK']
    assert online.cmd('AT#VSTATE') == ['#STATE: "CONNECTED"', 'OK']
    client = client_to(port)
    assert online.expect_urc('OK_Info_WaitingForData') == 'OK_Info_WaitingForData'
    client.sendall(b'from client \x03')
    assert read_until(online, b'\x10\x03') == b'from client ' + DLE + ETX
    online.write(b'to client ' + DLE + DLE)
    assert recv_some(online, client, 11) == b'to client \x10'
    client.close()
    assert read_until(online, b'OK\r\n') == ETX + CLOSED_MT
    # MT App. B: "As soon as the socket TCP is closed, the TCP port is not anymore in a
    # listening mode"; GP §7.3.4 "a new socket connexion must started with AT#LTCPSTART=1"
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=1.0).close()


def test_listener_filter_stop_and_configuration_errors(online):
    port = free_port()
    online.cmd(f'AT#TCPSERV=1,"127.0.0.9";#TCPPORT=1,{port}')
    assert online.cmd('AT#LTCPSTART=1') == ['OK']
    refused = client_to(port)                      # from 127.0.0.1, not the allowed address
    online.advance(0.2)
    assert online.read() == b''
    assert any(e['event'] == 'tcp_refused' for e in online.modem.events)
    refused.close()
    # MT Chapter 9 37123 "Service is running. Unable to set parameter"
    assert online.cmd('AT#TCPPORT=1,23') == ['#CME ERROR: 37123']
    assert online.cmd('AT#LTCPSTART=1') == ['#CME ERROR: 37122']
    assert online.cmd('AT#LTCPSTOP=1') == ['OK']
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=1.0).close()
    # the filter "must be configured as a 32-bit number in dotted-decimal notation"
    online.cmd('AT#TCPSERV=1,"client.example"')
    assert online.cmd('AT#LTCPSTART=1') == ['#CME ERROR: 36929']


def test_etx_aborts_a_listener_before_its_client(online):
    # MT #LTCPSTART: "The LTCP command can be aborted before an incoming TCP request has been
    # received by issuing an <ETX> character on the serial port"
    port = free_port()
    online.cmd(f'AT#TCPSERV=1,"255.255.255.255";#TCPPORT=1,{port}')
    online.cmd('ATE0;#LTCPSTART=1')
    online.write(ETX)
    assert online.read() == b'\r\nOK\r\n'
    assert online.modem.tcp[1] is None
    with pytest.raises(OSError):
        socket.create_connection(('127.0.0.1', port), timeout=1.0).close()
    online.write(ETX + b'AT\r')                    # no listener: ETX is an ordinary byte
    assert online.read() == b''
    online.write(b'AT\r')
    assert online.read() == b'\r\nOK\r\n'


def test_second_socket_while_the_first_listens(online, tcp_echo_server):
    # GP §4: "Two TCP sockets may be active simultaneously": socket 1 listens while socket 2
    # is in data mode; the client of socket 1 is announced once the port is free
    port = free_port()
    online.cmd(f'AT#TCPSERV=1,"255.255.255.255";#TCPPORT=1,{port}')
    online.cmd(f'AT#TCPSERV=2,"127.0.0.1";#TCPPORT=2,{tcp_echo_server.port}')
    assert online.cmd('AT#LTCPSTART=1') == ['OK']
    assert online.cmd('AT#OTCP=2') == ['OK_Info_WaitingForData']
    client = client_to(port)
    client.sendall(b'early')
    online.advance(0.2)
    online.write(b'two')
    assert read_until(online, b'two') == b'two'
    online.write(ETX)
    assert read_until(online, b'early') == ETX + CLOSED_MT + \
        b'\r\nOK_Info_WaitingForData\r\n' + b'early'
    client.close()
    assert read_until(online, b'OK\r\n') == ETX + CLOSED_MT


def test_pdp_loss_in_data_mode_and_in_command_mode(online, tcp_echo_server):
    online.cmd('AT#OTCP=1')
    online.modem.pdp_deactivate(1)
    # MT Chapter 9 35841 "GPRS session lost", ETX-prefixed in data mode
    assert online.read() == ETX + b'\r#CME ERROR: 35841\r\n'
    assert online.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']
    online.wait_for(lambda: tcp_echo_server.connections() == 0)
    connect(online)
    online.modem.pdp_deactivate(1)
    assert online.read() == b'\r#CME ERROR: 35841\r\n'
    assert online.cmd('AT#DISPLAYIP') == ['#CME ERROR: 35867']


def test_fault_hooks_close_reset_and_stall(online, tcp_echo_server):
    online.cmd('AT#OTCP=1')
    online.modem.stall(1)
    online.write(b'held')
    online.advance(0.5)
    assert tcp_echo_server.received == b''
    online.modem.stall(1, on=False)
    online.wait_for(lambda: tcp_echo_server.received == b'held')
    read_until(online, b'held')
    online.modem.peer_close(1)
    assert online.read() == ETX + CLOSED_MT
    online.cmd('AT#OTCP=1')
    online.modem.peer_reset(1)
    assert online.read() == ETX + b'\r#CME ERROR: 37952\r\n'
    with pytest.raises(ValueError):
        online.modem.peer_close(2)


def test_reboot_drops_the_session_and_genpro_says_wind_13(tcp_echo_server):
    with modem('genpro') as h:
        connect(h)
        h.advance(1.0)
        h.cmd(f'AT#TCPSERV=1,"127.0.0.1";#TCPPORT=1,{tcp_echo_server.port}')
        assert h.cmd('AT#OTCP=1') == ['Ok_Info_WaitingForData']
        h.modem.reboot(delay_s=2.0)
        h.wait_for(lambda: tcp_echo_server.connections() == 0)
        # GP §8: "+WIND: 13 message at start up ... not possible to remove"
        assert h.expect_urc('+WIND: 13', 3.0) == '+WIND: 13'
        assert h.cmd('AT#VSTATE') == ['#STATE: "IDLE"', 'OK']
        assert h.cmd('AT#TCPPORT=1') == [f'#TCPPORT: 1,{tcp_echo_server.port}', 'OK']


def test_genpro_spelling_of_the_socket_messages(tcp_echo_server):
    with modem('genpro') as h:
        connect(h)
        h.advance(1.0)
        h.cmd(f'AT#TCPSERV=1,"127.0.0.1";#TCPPORT=1,{tcp_echo_server.port}')
        assert h.cmd('AT#OTCP=1') == ['Ok_Info_WaitingForData']
        h.write(ETX)
        assert h.read() == ETX + b'\r\nOk_Info_SocketClosed\r\n\r\nOK\r\n'
