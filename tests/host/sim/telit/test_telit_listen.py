"""Telit incoming sockets: #SL, #SA, #SLUDP, #FRWL (T-IPE §7, §8.2, §8.7.2) with real loopback
clients."""

import socket

import pytest

from test_telit_support import free_port, make_harness, srecv, th  # noqa: F401


def refused(sock):
    """The module turned the connection down (RST, or FIN)."""
    try:
        return sock.recv(10) == b''
    except ConnectionResetError:
        return True


def client(port, source='127.0.0.1'):
    sock = socket.socket()
    sock.settimeout(2.0)
    sock.bind((source, 0))
    sock.connect(('127.0.0.1', port))
    return sock


@pytest.fixture
def listening(th):
    port = free_port()
    assert th.cmd(f'AT#SL=1,1,{port}') == ['OK']
    return th, port


def test_sl_test_and_read_state(listening):
    h, port = listening
    assert h.cmd('AT#SL=?') == ['#SL: (1-6),(0,1),(1-65535),(0,255)', 'OK']
    assert h.cmd('AT#SS=1') == [f'#SS: 1,4,10.0.0.2,{port}', 'OK']
    assert h.cmd(f'AT#SL=1,1,{port}') == ['+CME ERROR: already listening']


def test_accept_online_and_exchange_data(listening):
    h, port = listening
    peer = client(port)
    h.expect_urc('SRING: 1')
    assert h.cmd('AT#SS=1')[0].startswith('#SS: 1,5,')      # incoming, waiting for #SA
    assert h.cmd('AT#SA=1') == ['CONNECT']
    peer.sendall(b'from client')
    assert h.read(0.3) == b'from client'
    h.write(b'from module')
    h.advance(5.1)                                          # <txTo> 5 s (§6.3)
    assert peer.recv(100) == b'from module'
    peer.close()
    assert h.lines(0.5) == ['NO CARRIER']
    # [INFERRED] the listener stays: the socket listens again
    assert h.cmd('AT#SS=1') == [f'#SS: 1,4,10.0.0.2,{port}', 'OK']
    again = client(port)
    h.expect_urc('SRING: 1')
    again.close()


def test_accept_in_command_mode_announces_early_data(listening):
    h, port = listening
    peer = client(port)
    peer.sendall(b'early')
    h.expect_urc('SRING: 1')
    h.advance(0.2)
    assert h.cmd('AT#SA=1,1') == ['OK', 'SRING: 1']
    assert srecv(h, 1, 100) == b'early'
    peer.close()


def test_rejecting_with_sh_closes_the_listener(listening):
    h, port = listening
    peer = client(port)
    h.expect_urc('SRING: 1')
    assert h.cmd('AT#SH=1') == ['OK']
    assert h.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']      # §7: reopen it with #SL
    h.advance(0.2)
    assert refused(peer)
    with pytest.raises(OSError):
        client(port)
    peer.close()


def test_sa_without_incoming_connection(listening):
    h, _ = listening
    assert h.cmd('AT#SA=1') == ['+CME ERROR: wrong state']
    assert h.cmd('AT#SA=2') == ['+CME ERROR: wrong state']


def test_stop_listening(listening):
    h, port = listening
    assert h.cmd(f'AT#SL=1,0,{port}') == ['OK']
    assert h.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']
    with pytest.raises(OSError):
        client(port)


def test_second_connection_while_busy_is_refused(listening):
    h, port = listening
    first = client(port)
    h.expect_urc('SRING: 1')
    second = client(port)
    h.advance(0.3)
    assert refused(second)
    assert h.lines() == []
    first.close()
    second.close()


def test_listening_needs_an_active_context():
    with make_harness() as h:
        assert h.cmd(f'AT#SL=1,1,{free_port()}') == ['ERROR']


# -- firewall (§7.4) ------------------------------------------------------------------------

def test_firewall_accepts_matching_and_silently_drops_others(listening):
    h, port = listening
    assert h.cmd('AT#FRWL=1,"127.0.0.1","255.255.255.255"') == ['OK']
    assert h.cmd('AT#FRWL?') == ['#FRWL: "127.0.0.1","255.255.255.255"', 'OK']
    dropped = client(port, source='127.0.0.2')
    h.advance(0.5)
    assert h.lines() == []                          # no SRING: DROP is silent
    dropped.settimeout(0.2)
    with pytest.raises(socket.timeout):
        dropped.recv(10)                            # ... and nothing comes back either
    accepted = client(port, source='127.0.0.1')
    h.expect_urc('SRING: 1')
    dropped.close()
    accepted.close()


def test_firewall_rule_uses_the_mask(listening):
    h, port = listening
    # §7.4 example: 197.158.1.1/255.255.0.0 accepts 197.158.x.x; here 127.0.x.x
    assert h.cmd('AT#FRWL=1,"127.0.9.9","255.255.0.0"') == ['OK']
    peer = client(port, source='127.0.0.3')
    h.expect_urc('SRING: 1')
    peer.close()


def test_firewall_remove_and_clear(th):
    assert th.cmd('AT#FRWL=1,"10.0.0.0","255.0.0.0"') == ['OK']
    assert th.cmd('AT#FRWL=1,"192.168.1.1","255.255.255.0"') == ['OK']
    assert th.cmd('AT#FRWL=0,"10.0.0.0","255.0.0.0"') == ['OK']
    assert th.cmd('AT#FRWL') == ['#FRWL: "192.168.1.1","255.255.255.0"', 'OK']
    assert th.cmd('AT#FRWL=2') == ['OK']
    assert th.cmd('AT#FRWL?') == ['OK']
    assert th.cmd('AT#FRWL=1,"bad","255.0.0.0"') == ['+CME ERROR: incorrect parameters']


def test_firewall_does_not_apply_to_outgoing(th, tcp_echo_server):
    assert th.cmd('AT#FRWL=1,"10.0.0.0","255.0.0.0"') == ['OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']


# -- #SLUDP (§7.3) --------------------------------------------------------------------------

def test_sludp_incoming_datagram_and_accept(th):
    port = free_port()
    assert th.cmd(f'AT#SLUDP=2,1,{port}') == ['OK']
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.settimeout(2.0)
    peer.bind(('127.0.0.1', 0))
    peer.sendto(b'ping', ('127.0.0.1', port))
    th.expect_urc('SRING: 2')
    assert th.cmd('AT#SA=2,1') == ['OK', 'SRING: 2']
    assert srecv(th, 2, 100) == b'ping'
    assert th.cmd('AT#SSEND=2') == ['>']
    th.write(b'pong\x1a')
    assert peer.recvfrom(100) == (b'pong', ('127.0.0.1', port))
    peer.close()
