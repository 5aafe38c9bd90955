"""Telit fault injection (docs/emulator.md "Faults"): reboot, network PDP deactivation, peer
close/reset, stalls, a full receive buffer; and AT instances sharing one module."""

import pytest

from test_telit_support import Port, make_harness, send_ext, srecv, th  # noqa: F401


def test_reboot_drops_everything_and_keeps_nvm(th, tcp_echo_server):
    assert th.cmd('AT#SCFGEXT=2,1,0,0') == ['OK']
    assert th.cmd(f'AT#SD=2,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.advance(0.2)
    assert tcp_echo_server.connections() == 2
    th.modem.reboot(delay_s=2.0)
    th.write(b'AT\r')                                   # lost while the module is off
    th.wait_for(lambda: tcp_echo_server.connections() == 0, 1.0)
    assert th.read() == b''
    th.advance(2.0)
    assert th.read() == b''                             # T-IPE gives no start-up URC
    assert th.cmd('ATE0') == ['OK']                     # parser back in command mode
    assert th.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']
    assert th.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']
    assert th.cmd('AT+CMEE?') == ['+CMEE: 0', 'OK']     # volatile setting back to default
    assert th.cmd('AT+CGDCONT?') == ['+CGDCONT: 1,"IP","Access_Point_Name","0.0.0.0",0,0',
                                     'OK']             # NVM kept
    assert '#SCFGEXT: 2,1,0,0,0,0' in th.cmd('AT#SCFGEXT?')
    assert any(e['event'] == 'reboot' for e in th.modem.events)


def test_reboot_4g_brings_the_attach_bearer_back():
    with make_harness('le910c1', define=(), activate=(1,)) as h:
        h.modem.reboot(delay_s=1.0)
        h.advance(1.5)
        assert h.cmd('AT+CGACT?') == ['+CGACT: 1,1', 'OK']
        assert h.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']


def test_pdp_deactivate_ends_online_and_command_mode_sockets(th, tcp_echo_server):
    assert th.cmd(f'AT#SD=2,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.modem.pdp_deactivate(1)
    # the online socket: NO CARRIER ends online mode; then the command-mode one's URC
    assert th.lines(0.2) == ['NO CARRIER', 'NO CARRIER']
    assert th.cmd('AT#SLASTCLOSURE') == ['#SLASTCLOSURE: 1,4', '#SLASTCLOSURE: 2,4'] + [
        f'#SLASTCLOSURE: {i},0' for i in range(3, 7)] + ['OK']
    assert th.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['ERROR']


@pytest.mark.parametrize('fault, cause', [('peer_close', 1), ('peer_reset', 2)])
def test_peer_close_and_reset(th, tcp_echo_server, fault, cause):
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    th.advance(0.2)
    getattr(th.modem, fault)(1)
    assert th.lines(0.2) == ['NO CARRIER']
    assert th.cmd('AT#SLASTCLOSURE=1') == [f'#SLASTCLOSURE: 1,{cause}', 'OK']
    th.wait_for(lambda: tcp_echo_server.connections() == 0, 2.0)
    assert any(e['event'] == fault for e in th.modem.events)


def test_peer_close_while_online(th, tcp_echo_server):
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.modem.peer_close(1)
    assert th.lines(0.2) == ['NO CARRIER']


def test_stall_holds_data_both_ways(th, tcp_echo_server):
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    th.modem.stall(1)
    send_ext(th, 1, b'held')
    th.advance(1.0)
    assert tcp_echo_server.received == b''
    assert th.cmd('AT#SI=1') == ['#SI: 1,4,0,0,4', 'OK']      # 4 bytes wait for an ack
    th.modem.stall(1, on=False)
    th.expect_urc('SRING: 1')
    assert srecv(th, 1, 10) == b'held'


def test_fill_rx_fills_the_buffer(tcp_echo_server):
    with make_harness(activate=(1,), config={'rx_buffer': 2048}) as h:
        assert h.cmd('AT#SCFGEXT=1,1,0,0') == ['OK']
        assert h.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
        h.modem.fill_rx(1)
        h.expect_urc('SRING: 1,2048')
        assert h.cmd('AT#SI=1') == ['#SI: 1,0,0,2048,0', 'OK']
        send_ext(h, 1, b'more')
        h.advance(0.5)
        assert h.cmd('AT#SI=1') == ['#SI: 1,4,0,2048,0', 'OK']  # the echo waits: buffer full
        assert srecv(h, 1, 1500) == b'\0' * 1500
        h.expect_urc('SRING: 1,552')                             # reading resumed the peer


def test_spawned_instance_shares_the_module(th, tcp_echo_server):
    other = Port(th, th.modem.spawn_instance())
    assert other.cmd('AT#SGACT?') == ['#SGACT: 1,1', 'OK']      # same contexts
    assert other.cmd(f'AT#SD=3,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    assert th.cmd('AT#SS=3')[0].startswith('#SS: 3,2,')
    assert other.cmd('AT#SSEND=3') == ['>']
    other.write(b'x\x1a')
    th.advance(0.3)
    assert 'SRING: 3' in other.lines()                        # the opener gets its URCs
    assert th.lines() == []
    third = th.modem.spawn_instance()
    with pytest.raises(RuntimeError):
        third.spawn_instance()
