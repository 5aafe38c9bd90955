"""Quectel socket life-cycle: AT+QIOPEN (QL §2.1.4), AT+QICLOSE (§2.1.5), AT+QISTATE (§2.1.6),
the "incoming"/"incoming full"/"closed" URCs (§2.2.1-2.2.4) against real loopback sockets."""

import socket

import pytest

from test_quectel_support import (  # noqa: F401
    lines_until, make_harness, open_tcp, peer, qh, qird, udp_peer)

APN2 = 'AT+QICSGP=2,1,"second"'
QIOPEN_TEST = ('+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
               '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def last_error(h):
    line = h.cmd('AT+QIGETERROR')[0]
    return int(line.split(':')[1].split(',')[0])


# -- AT+QIOPEN ---------------------------------------------------------------------------

def test_qiopen_test_response(qh):
    assert qh.cmd('AT+QIOPEN=?') == [QIOPEN_TEST, 'OK']


def test_tcp_client_connects_and_qistate_shows_it(qh, peer):
    lines = qh.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{peer.port},0,0')
    assert lines_until(qh, '+QIOPEN: 0,0', lines) == ['OK', '+QIOPEN: 0,0']
    conn = peer.accept()
    local_port = conn.getpeername()[1]
    assert qh.cmd('AT+QISTATE=1,0') == [
        f'+QISTATE: 0,"TCP","127.0.0.1",{peer.port},{local_port},2,1,0,0,"usbmodem"', 'OK']


def test_domain_names_go_through_the_host_map(peer):
    with make_harness({'hosts': {'server.test': '127.0.0.1'}}) as h:
        open_tcp(h, peer.port, host='server.test')
        assert peer.accept()


@pytest.mark.parametrize('host, port_kind, err', [
    ('127.0.0.1', 'closed', 566),        # nothing listens: connect refused
    ('no.such.host', 'open', 565),       # not in the host map: DNS parse failed
    ('220.180.239.212', 'open', 566),    # outside loopback: Net never dials it
])
def test_failed_open_reports_in_the_urc_and_frees_the_id(qh, peer, host, port_kind, err):
    port = peer.port if port_kind == 'open' else free_port()
    lines = qh.cmd(f'AT+QIOPEN=1,4,"TCP","{host}",{port},0,1')
    assert lines_until(qh, f'+QIOPEN: 4,{err}', lines) == ['OK', f'+QIOPEN: 4,{err}']
    assert last_error(qh) == err
    assert qh.cmd('AT+QISTATE') == ['OK']


def test_open_on_an_inactive_context_reports_561(qh, peer):
    lines = qh.cmd(f'AT+QIOPEN=2,0,"TCP","127.0.0.1",{peer.port}')
    assert lines == ['OK', '+QIOPEN: 0,561']
    assert qh.cmd(f'AT+QIOPEN=2,0,"TCP","127.0.0.1",{peer.port},0,2') == ['ERROR']
    assert last_error(qh) == 561


def test_used_connect_id_is_refused_with_563(qh, peer):
    open_tcp(qh, peer.port, cid=5)
    assert qh.cmd(f'AT+QIOPEN=1,5,"TCP","127.0.0.1",{peer.port},0,0') == ['ERROR']
    assert last_error(qh) == 563


@pytest.mark.parametrize('args, err', [
    ('1,12,"TCP","127.0.0.1",80', 552),                   # connectID 0-11
    ('0,0,"TCP","127.0.0.1",80', 552),                    # contextID 1-16
    ('1,0,"TCP","127.0.0.1"', 552),                       # remote port required
    ('1,0,"TCP","127.0.0.1",80,0,3', 552),                # access mode 0-2
    ('1,0,"SCTP","127.0.0.1",80', 552),
    ('1,0,"TCP LISTENER","0.0.0.0",0,2020', 552),         # "please enter 127.0.0.1"
    ('1,0,"TCP LISTENER","127.0.0.1",0,0', 552),          # local port must be specified
    ('1,0,"UDP SERVICE","127.0.0.1",0,3030,2', 552),
    ('1,0,"UDP LISTENER","127.0.0.1",0,3030', 555),       # EG95/EG91 only
])
def test_qiopen_parameter_errors(qh, args, err):
    assert qh.cmd(f'AT+QIOPEN={args}') == ['ERROR']
    assert last_error(qh) == err


def test_transparent_open_failure_is_a_plain_error(qh):
    assert qh.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{free_port()},0,2') == ['ERROR']
    assert last_error(qh) == 566
    assert qh.cmd('AT+QISTATE') == ['OK']


def test_udp_client_exchanges_datagrams(qh, udp_peer):
    port = udp_peer.getsockname()[1]
    lines = qh.cmd(f'AT+QIOPEN=1,1,"UDP","127.0.0.1",{port},0,0')
    assert lines == ['OK', '+QIOPEN: 1,0']
    assert qh.cmd('AT+QISEND=1,3') == ['>']
    qh.write(b'abc')
    assert qh.lines() == ['abc', 'SEND OK']
    data, addr = udp_peer.recvfrom(100)
    assert data == b'abc'
    local_port = addr[1]
    assert qh.cmd('AT+QISTATE=1,1') == [
        f'+QISTATE: 1,"UDP","127.0.0.1",{port},{local_port},2,1,0,0,"usbmodem"', 'OK']
    udp_peer.sendto(b'reply', addr)
    qh.expect_urc('+QIURC: "recv",1')
    assert qird(qh, 1) == b'reply'


# -- TCP LISTENER (QL §2.1.4, §2.2.3, §2.2.4, §3.5) ----------------------------------------

def test_listener_accepts_a_real_client_on_the_highest_free_id(qh):
    port = free_port()
    assert qh.cmd(f'AT+QIOPEN=1,1,"TCP LISTENER","127.0.0.1",0,{port},0') == [
        'OK', '+QIOPEN: 1,0']
    assert qh.cmd('AT+QISTATE=1,1') == [
        f'+QISTATE: 1,"TCP LISTENER","10.7.157.1",0,{port},3,1,1,0,"usbmodem"', 'OK']
    client = socket.create_connection(('127.0.0.1', port), timeout=2)
    client_port = client.getsockname()[1]
    qh.expect_urc(f'+QIURC: "incoming",11,1,"127.0.0.1",{client_port}')
    assert qh.cmd('AT+QISTATE=1,11') == [
        f'+QISTATE: 11,"TCP INCOMING","127.0.0.1",{client_port},{port},2,1,1,0,"usbmodem"',
        'OK']
    client.sendall(b'test')
    qh.expect_urc('+QIURC: "recv",11')
    assert qird(qh, 11) == b'test'
    assert qh.cmd('AT+QISEND=11,2') == ['>']
    qh.write(b'hi')
    assert qh.lines() == ['hi', 'SEND OK']
    assert client.recv(10) == b'hi'
    second = socket.create_connection(('127.0.0.1', port), timeout=2)
    qh.expect_urc(f'+QIURC: "incoming",10,1,"127.0.0.1",{second.getsockname()[1]}')
    client.close()
    second.close()


def test_incoming_full_when_no_connect_id_is_free(qh):
    port = free_port()
    assert qh.cmd(f'AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,{port},0')[0] == 'OK'
    clients = []
    for cid in range(11, 0, -1):
        clients.append(socket.create_connection(('127.0.0.1', port), timeout=2))
        qh.expect_urc(f'+QIURC: "incoming",{cid},0', prefix=True)
    clients.append(socket.create_connection(('127.0.0.1', port), timeout=2))
    qh.expect_urc('+QIURC: "incoming full"')
    with pytest.raises(ConnectionResetError):               # reset after the kernel's accept
        clients[-1].recv(10)
    for client in clients:
        client.close()


def test_tcp_accept_disabled_refuses_clients(qh):
    port = free_port()
    assert qh.cmd('AT+QICFG="tcp/accept",0') == ['OK']
    assert qh.cmd(f'AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,{port},0')[0] == 'OK'
    client = socket.create_connection(('127.0.0.1', port), timeout=2)
    qh.advance(0.1)
    with pytest.raises(ConnectionResetError):
        client.recv(10)
    assert qh.modem.events[-1]['event'] == 'incoming_refused'
    client.close()


def test_listener_on_a_busy_port_reports_574(qh, peer):
    lines = qh.cmd(f'AT+QIOPEN=1,0,"TCP LISTENER","127.0.0.1",0,{peer.port},0')
    assert lines == ['OK', '+QIOPEN: 0,574']


# -- UDP SERVICE (QL §2.1.4, §3.6) ---------------------------------------------------------

def test_udp_service_sends_and_reads_whole_datagrams(qh, udp_peer):
    port = free_port()
    assert qh.cmd(f'AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,{port},0') == [
        'OK', '+QIOPEN: 2,0']
    assert qh.cmd('AT+QISTATE=0,1') == [
        f'+QISTATE: 2,"UDP SERVICE","10.7.157.1",0,{port},2,1,2,0,"usbmodem"', 'OK']
    peer_ip, peer_port = udp_peer.getsockname()
    assert qh.cmd(f'AT+QISEND=2,10,"{peer_ip}",{peer_port}') == ['>']
    qh.write(b'1234567890')
    assert qh.lines() == ['1234567890', 'SEND OK']
    assert udp_peer.recvfrom(100) == (b'1234567890', ('127.0.0.1', port))
    udp_peer.sendto(b'ping', ('127.0.0.1', port))
    udp_peer.sendto(b'second', ('127.0.0.1', port))
    qh.expect_urc('+QIURC: "recv",2')
    assert qh.cmd('AT+QIRD=2') == [f'+QIRD: 4,"127.0.0.1",{peer_port}', 'ping', 'OK']
    assert qh.cmd('AT+QIRD=2') == [f'+QIRD: 6,"127.0.0.1",{peer_port}', 'second', 'OK']
    assert qh.cmd('AT+QIRD=2') == ['+QIRD: 0', 'OK']
    assert qh.cmd('AT+QIRD=2,0') == ['+QIRD: 10,10,0', 'OK']


def test_udp_service_send_needs_a_dotted_destination(qh):
    port = free_port()
    assert qh.cmd(f'AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,{port},0')[0] == 'OK'
    assert qh.cmd('AT+QISEND=2,4') == ['ERROR']
    assert qh.cmd('AT+QISEND=2,4,"localhost",9') == ['ERROR']
    assert qh.cmd('AT+QISENDEX=2,"31"') == ['ERROR']
    assert last_error(qh) == 555


def test_udp_service_direct_push_carries_the_sender(qh, udp_peer):
    port = free_port()
    assert qh.cmd(f'AT+QIOPEN=1,2,"UDP SERVICE","127.0.0.1",0,{port},1')[0] == 'OK'
    udp_peer.sendto(b'abcd', ('127.0.0.1', port))
    peer_port = udp_peer.getsockname()[1]
    qh.expect_urc(f'+QIURC: "recv",2,4,"127.0.0.1",{peer_port}')
    assert qh.read() == b'abcd\r\n'


# -- AT+QICLOSE, AT+QISTATE, remote close ------------------------------------------------

def test_qiclose_forms_and_freeing(qh, peer):
    assert qh.cmd('AT+QICLOSE=?') == ['+QICLOSE: (0-11),(0-65535)', 'OK']
    open_tcp(qh, peer.port, cid=0)
    conn = peer.accept()
    assert qh.cmd('AT+QICLOSE=0,10') == ['OK']
    assert conn.recv(10) == b''
    assert qh.cmd('AT+QISTATE') == ['OK']
    assert qh.cmd('AT+QICLOSE=0') == ['OK']               # an idle id closes quietly
    assert qh.cmd('AT+QICLOSE=12') == ['ERROR']
    open_tcp(qh, peer.port, cid=0)                        # the id is free again


def test_qiclose_waits_for_the_fin_round_trip(peer):
    with make_harness(net_latency_s=0.2) as h:
        open_tcp(h, peer.port)
        h.write('AT+QICLOSE=0\r')
        assert h.read(0.35) == b'AT+QICLOSE=0\r'
        assert h.read(0.1) == b'\r\nOK\r\n'


def test_remote_close_gives_closed_urc_and_state_4_until_qiclose(qh, peer):
    open_tcp(qh, peer.port, cid=3)
    conn = peer.accept()
    conn.sendall(b'last words')
    conn.close()
    qh.expect_urc('+QIURC: "recv",3')
    qh.expect_urc('+QIURC: "closed",3')
    assert qh.cmd('AT+QISTATE=1,3')[0].split(',')[5] == '4'
    assert qird(qh, 3) == b'last words'                  # data before the close stays readable
    assert qh.cmd('AT+QISEND=3,1') == ['ERROR']
    assert last_error(qh) == 567
    assert qh.cmd('AT+QICLOSE=3') == ['OK']
    assert qh.cmd('AT+QISTATE') == ['OK']


def test_qistate_all_forms(qh, peer, udp_peer):
    open_tcp(qh, peer.port, cid=0)
    peer.accept()
    assert qh.cmd(APN2)[0] == 'OK' and qh.cmd('AT+QIACT=2') == ['OK']
    lines = qh.cmd(f'AT+QIOPEN=2,4,"UDP","127.0.0.1",{udp_peer.getsockname()[1]},0,1')
    assert lines == ['OK', '+QIOPEN: 4,0']
    every = qh.cmd('AT+QISTATE')
    assert [line.split(',')[0] for line in every] == ['+QISTATE: 0', '+QISTATE: 4', 'OK']
    assert qh.cmd('AT+QISTATE?') == every
    assert qh.cmd('AT+QISTATE=0,1') == [every[0], 'OK']
    assert qh.cmd('AT+QISTATE=0,2') == [every[1], 'OK']
    assert qh.cmd('AT+QISTATE=1,4') == [every[1], 'OK']
    assert qh.cmd('AT+QISTATE=1,7') == ['OK']
    assert qh.cmd('AT+QISTATE=?') == ['OK']
    assert qh.cmd('AT+QISTATE=2,1') == ['ERROR']
