"""Quectel fault hooks (docs/emulator.md "Faults"): reboot, pdp_deactivate (QL §2.2.5),
peer_close/peer_reset (§2.2.1, §1.2), stall, fill_rx and the receive buffer bound (§2.1.15)."""

import pytest

from test_quectel_support import (  # noqa: F401
    make_harness, open_tcp, peer, qh, qird, recv_exactly, send_fixed)


def event_names(h):
    return [e['event'] for e in h.modem.events]


def test_reboot_drops_everything_and_sends_the_start_up_urcs(qh, peer):
    open_tcp(qh, peer.port)
    conn = peer.accept()
    assert qh.cmd('AT+QICFG="recvind",1;+QISDE=0') == ['OK']
    qh.modem.reboot(delay_s=3.0)
    with pytest.raises(ConnectionResetError):
        conn.recv(10)
    qh.write('AT\r')                                   # lost while the module is off
    assert qh.read(2.9) == b''
    assert qh.lines(0.2) == ['RDY', '+CFUN: 1', '+CPIN: READY', '+QUSIM: 1', '+QIND: SMS DONE']
    assert qh.cmd('AT+QIACT?') == ['OK']
    assert qh.cmd('AT+QISTATE') == ['OK']
    assert qh.cmd('AT+QICFG="recvind"') == ['+QICFG: "recvind",0', 'OK']
    assert qh.cmd('AT+QISDE?') == ['+QISDE: 1', 'OK']
    assert 'reboot' in event_names(qh)


def test_pdp_deactivate_closes_sockets_and_needs_qideact(qh, peer):
    open_tcp(qh, peer.port, cid=0)
    open_tcp(qh, peer.port, cid=1)
    conns = [peer.accept(), peer.accept()]
    qh.modem.pdp_deactivate(1)
    assert qh.lines() == ['+QIURC: "closed",0', '+QIURC: "closed",1', '+QIURC: "pdpdeact",1']
    for conn in conns:
        with pytest.raises(ConnectionResetError):
            conn.recv(10)
    assert qh.cmd('AT+QIACT?') == ['OK']
    assert [line.split(',')[5] for line in qh.cmd('AT+QISTATE')[:-1]] == ['4', '4']
    assert qh.cmd(f'AT+QIOPEN=1,2,"TCP","127.0.0.1",{peer.port},0,0') == ['OK', '+QIOPEN: 2,570']
    assert qh.cmd('AT+QIACT=1') == ['ERROR']           # "the host must execute AT+QIDEACT"
    assert qh.cmd('AT+QIGETERROR') == ['+QIGETERROR: 570, pdp context broken down', 'OK']
    assert qh.cmd('AT+QIDEACT=1') == ['OK']
    assert qh.cmd('AT+QISTATE') == ['OK']
    assert qh.cmd('AT+QIACT=1') == ['OK']
    assert 'pdp_deactivate' in event_names(qh)


def test_pdp_deactivate_while_online_is_no_carrier(qh, peer):
    assert qh.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{peer.port},0,2') == ['CONNECT']
    peer.accept()
    qh.modem.pdp_deactivate(1)
    assert qh.lines(0.1) == ['NO CARRIER', '+QIURC: "pdpdeact",1']


def test_pdp_deactivate_of_an_inactive_context_is_ignored(qh):
    qh.modem.pdp_deactivate(2)
    assert qh.lines() == []
    assert qh.modem.events[-1]['event'] == 'fault_ignored'


@pytest.mark.parametrize('fault, peer_error', [('peer_close', None),
                                               ('peer_reset', ConnectionResetError)])
def test_peer_close_and_reset(qh, peer, fault, peer_error):
    open_tcp(qh, peer.port, cid=4)
    conn = peer.accept()
    getattr(qh.modem, fault)(4)
    assert qh.lines() == ['+QIURC: "closed",4']
    if peer_error:
        with pytest.raises(peer_error):
            conn.recv(10)
    else:
        assert conn.recv(10) == b''
    assert qh.cmd('AT+QISTATE=1,4')[0].split(',')[5] == '4'
    assert qh.cmd('AT+QICLOSE=4') == ['OK']
    assert fault in event_names(qh)


def test_peer_close_online_is_no_carrier(qh, peer):
    assert qh.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{peer.port},0,2') == ['CONNECT']
    peer.accept()
    qh.modem.peer_close(0)
    assert qh.lines(0.05) == ['NO CARRIER']
    assert qh.modem.mode == 'command'


def test_faults_without_a_target_are_logged_and_ignored(qh):
    for fault in ('peer_close', 'peer_reset', 'stall', 'fill_rx'):
        getattr(qh.modem, fault)(9)
        event = dict(qh.modem.events[-1])
        del event['t']
        assert event == {'event': 'fault_ignored', 'fault': fault, 'sock': 9}
    assert qh.lines() == []


def test_stall_holds_both_directions(qh, peer):
    open_tcp(qh, peer.port)
    conn = peer.accept()
    qh.modem.stall(0)
    assert qh.cmd('AT+QISDE=0') == ['OK']
    assert send_fixed(qh, 0, b'queued') == b'\r\nSEND OK\r\n'
    assert qh.cmd('AT+QISEND=0,0') == ['+QISEND: 6,0,6', 'OK']
    conn.sendall(b'waiting')
    qh.advance(0.2)
    assert qh.read() == b''                             # not read from the network
    qh.modem.stall(0, on=False)
    assert recv_exactly(conn, 6) == b'queued'
    qh.expect_urc('+QIURC: "recv",0')
    assert qird(qh, 0) == b'waiting'
    assert [e['on'] for e in qh.modem.events if e['event'] == 'stall'] == [True, False]


def test_receive_buffer_bound_holds_the_peer_back(qh, peer):
    peer_data = bytes(range(256)) * 200                # 51200 bytes, five buffers' worth
    open_tcp(qh, peer.port)
    conn = peer.accept()
    conn.sendall(peer_data)
    qh.expect_urc('+QIURC: "recv",0')
    qh.advance(0.2)
    unread = qh.modem.sockets[0].unread()
    assert 10240 <= unread < 10240 + 4096              # at most one socket read past the bound
    assert 'rx_paused' in event_names(qh)
    back = bytearray()
    for _ in range(100):
        chunk = qird(qh, 0)
        back += chunk
        if len(back) >= len(peer_data):
            break
        if not chunk:
            qh.advance(0.05)
    assert bytes(back) == peer_data


def test_fill_rx_fills_the_buffer_and_pauses_the_peer(qh, peer):
    open_tcp(qh, peer.port)
    conn = peer.accept()
    assert qh.cmd('AT+QICFG="recvind",1') == ['OK']
    qh.modem.fill_rx(0)
    assert qh.lines() == ['+QIURC: "recv",0,10240']
    conn.sendall(b'behind the filler')
    qh.advance(0.2)
    assert qh.modem.sockets[0].unread() == 10240        # the peer is held back
    data = bytearray()
    for _ in range(20):
        data += qird(qh, 0)
        if len(data) >= 10240 + 17:
            break
        qh.advance(0.01)
    assert data == bytes(10240) + b'behind the filler'
    assert {'event': 'fill_rx', 'sock': 0, 'size': 10240}.items() <= \
        [e for e in qh.modem.events if e['event'] == 'fill_rx'][0].items()


def test_pdp_deactivate_during_a_connect_fails_the_open(peer):
    with make_harness(net_latency_s=0.5) as h:
        assert h.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{peer.port},0,0') == ['OK']
        h.modem.pdp_deactivate(1)
        assert h.lines() == ['+QIOPEN: 0,570', '+QIURC: "pdpdeact",1']
        h.advance(1.0)
        assert h.lines() == []
        assert h.cmd('AT+QISTATE') == ['OK']
