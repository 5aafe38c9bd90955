"""Telit IP Easy sockets in online and command mode (T-IPE §6, §8) against loopback peers."""

import os
import socket

import pytest

from test_telit_support import escape, make_harness, send_ext, srecv, th  # noqa: F401


def open_cmd_mode(h, port, conn_id=1, udp=0):
    assert h.cmd(f'AT#SD={conn_id},{udp},{port},"address",0,0,1') == ['OK']


# -- #SCFG (§6.1) ---------------------------------------------------------------------------

def test_scfg_test_and_no_change_while_open(th, tcp_echo_server):
    assert th.cmd('AT#SCFG=?') == ['#SCFG: (1-6),(0-5),(0-1500),(0-65535),(10-1200),(0-264)',
                                   'OK']
    open_cmd_mode(th, tcp_echo_server.port)
    # §6.1.1: "The socket configuration cannot be modified when the socket is open"
    assert th.cmd('AT#SCFG=1,1,500,90,600,50') == ['+CME ERROR: wrong state']
    assert th.cmd('AT#SCFG=2,1,500,90,600,50') == ['OK']
    assert th.cmd('AT#SCFG=2,1,1501,90,600,50') == ['+CME ERROR: incorrect parameters']


def test_scfg_is_kept_in_nvm_across_reboot(th):
    assert th.cmd('AT#SCFG=2,3,500,10,100,0') == ['OK']
    assert th.cmd('AT#SCFGEXT=2,1,0,0') == ['OK']
    th.modem.reboot(delay_s=1.0)
    th.advance(1.5)
    assert '#SCFG: 2,3,500,10,100,0' in th.cmd('AT#SCFG?')
    assert '#SCFGEXT: 2,1,0,0,0,0' in th.cmd('AT#SCFGEXT?')


# -- #SD (§6.2, §8.1) -----------------------------------------------------------------------

def test_sd_needs_an_active_context():
    with make_harness(define=(1,)) as h:
        # §6.2: "the PDP context ... must be active, otherwise the command returns an ERROR"
        assert h.cmd('AT#SD=1,0,80,"address"') == ['ERROR']


def test_sd_failures_give_verbose_errors(th, tcp_echo_server):
    closed = socket.socket()
    closed.bind(('127.0.0.1', 0))
    refused_port = closed.getsockname()[1]
    closed.close()
    assert th.cmd(f'AT#SD=1,0,{refused_port},"address",0,0,1') == [
        '+CME ERROR: connection failed']
    assert th.cmd('AT#SD=1,0,80,"unknown.example",0,0,1') == ['+CME ERROR: cannot resolve DN']
    assert th.cmd('AT#SD=1,0,80,"10.1.1.1",0,0,1') == ['+CME ERROR: timeout in opening socket']
    assert th.cmd('AT#SD=7,0,80,"address"') == ['+CME ERROR: incorrect parameters']
    open_cmd_mode(th, tcp_echo_server.port)
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == [
        '+CME ERROR: wrong state']
    assert th.cmd('AT+CMEE=1') == ['OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['+CME ERROR: 551']


def test_sd_on_an_apn_without_data_times_out_after_connto():
    with make_harness(activate=(1,), config={'blocked_cids': [1]}) as h:
        assert h.cmd('AT#SCFG=1,1,300,90,20,50') == ['OK']        # connTo 2 s
        start = h.now()
        assert h.cmd('AT#SD=1,0,80,"address",0,0,1') == ['+CME ERROR: timeout in opening socket']
        assert h.now() - start == pytest.approx(2.0, abs=0.05)


# -- sending in command mode (§8.4) ---------------------------------------------------------

def test_ssend_and_send_alias_with_echo_and_backspace(th, tcp_echo_server):
    open_cmd_mode(th, tcp_echo_server.port)
    assert th.cmd('AT#SSEND=1') == ['>']
    th.write(b'helx\x08lo\x1a')
    assert th.lines(0.2) == ['helx\x08lo', 'OK', 'SRING: 1']     # ATE1 echoes the text
    assert th.cmd('AT#SEND=1') == ['>']                         # the seed body's name
    th.write(b'abc\x1b')                                        # ESC: nothing is sent
    assert th.lines(0.2) == ['abc', 'OK']
    assert tcp_echo_server.received == b'hello'


def test_ssendext_sends_exact_binary_count(th, tcp_echo_server):
    open_cmd_mode(th, tcp_echo_server.port)
    payload = bytes(range(256)) * 2
    assert th.cmd('AT#SSENDEXT=1,512') == ['>']
    th.write(payload[:100])
    th.advance(0.1)
    assert th.modem.mode == 'prompt'
    th.write(payload[100:])
    th.wait_for(lambda: bytes(tcp_echo_server.received) == payload, 2.0)
    assert th.cmd('AT#SSENDEXT=1,1501') == ['+CME ERROR: incorrect parameters']
    assert th.cmd('AT#SSENDEXT=2,5') == ['+CME ERROR: wrong state']


def test_sendext_alias(th, tcp_echo_server):
    open_cmd_mode(th, tcp_echo_server.port)
    assert th.cmd('AT#SENDEXT=1,3') == ['>']
    th.write(b'\x1a\x1b\x08')
    th.wait_for(lambda: tcp_echo_server.received == b'\x1a\x1b\x08', 2.0)


# -- receiving in command mode (§8.5, §8.7) -------------------------------------------------

def test_srecv_reads_part_then_rest_and_rearms_normal_sring(th, tcp_echo_server):
    open_cmd_mode(th, tcp_echo_server.port)
    send_ext(th, 1, b'0123456789')
    th.expect_urc('SRING: 1')
    assert srecv(th, 1, 4) == b'0123'
    assert th.cmd('AT#SI=1') == ['#SI: 1,10,4,6,0', 'OK']
    assert srecv(th, 1, 100) == b'456789'
    assert srecv(th, 1, 100) == b''                    # '#SRECV: 1,0' when nothing is pending
    send_ext(th, 1, b'again')
    th.expect_urc('SRING: 1')                          # drained -> Normal mode fires again


def test_srecv_hex_view(th, tcp_echo_server):
    assert th.cmd('AT#SCFGEXT=1,1,1,0') == ['OK']
    open_cmd_mode(th, tcp_echo_server.port)
    send_ext(th, 1, b'\x00\xffA')
    th.expect_urc('SRING: 1,3')
    assert th.cmd('AT#SRECV=1,10') == ['#SRECV: 1,3', '00FF41', 'OK']


def test_srecv_on_a_closed_socket_fails(th):
    assert th.cmd('AT#SRECV=1,10') == ['+CME ERROR: wrong state']


def test_srecv_udp_info(th, udp_echo_server):
    open_cmd_mode(th, udp_echo_server.port, udp=1)
    send_ext(th, 1, b'datagram')
    th.expect_urc('SRING: 1')
    port = udp_echo_server.port
    assert th.cmd('AT#SRECV=1,5,1') == [f'#SRECV: "127.0.0.1",{port},1,5,3', 'datag', 'OK']
    assert th.cmd('AT#SRECV=1,5,1') == [f'#SRECV: "127.0.0.1",{port},1,3,0', 'ram', 'OK']


def test_sring_data_view_tcp_caps_at_64_bytes(th, tcp_echo_server):
    assert th.cmd('AT#SCFGEXT=1,2,0,0') == ['OK']
    assert th.cmd('AT#SCFGEXT=2,2,1,0') == ['OK']
    open_cmd_mode(th, tcp_echo_server.port, 1)
    open_cmd_mode(th, tcp_echo_server.port, 2)
    send_ext(th, 1, b'x' * 70)
    assert th.expect_urc('SRING: 1,64,' + 'x' * 64)
    assert th.expect_urc('SRING: 1,6,xxxxxx')
    send_ext(th, 2, b'hello')
    # §8.7.5 (seed defect digest E #6: '68656C66F' has 9 nibbles)
    assert th.expect_urc('SRING: 2,5,68656C6C6F')
    assert th.cmd('AT#SI=1') == ['#SI: 1,70,70,0,0', 'OK']


# -- online mode (§6.2.1, §6.3, §6.4) -------------------------------------------------------

def test_online_data_leaves_at_pktsz_or_txto(th, tcp_echo_server):
    assert th.cmd('AT#SCFG=1,1,10,90,600,20') == ['OK']      # 10-byte packets, txTo 2 s
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.write(b'0123456789abc')
    th.advance(0.5)
    assert tcp_echo_server.received == b'0123456789'
    th.advance(1.0)
    assert tcp_echo_server.received == b'0123456789'
    th.advance(0.6)
    assert tcp_echo_server.received == b'0123456789abc'
    assert th.read(0.2) == b'0123456789abc'


def test_escape_reaches_peer_unless_skipesc(th, tcp_echo_server):
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    escape(th)
    assert th.lines(0.2) == ['OK', 'SRING: 1']
    assert th.cmd('AT#SKIPESC=1') == ['OK']
    assert th.cmd('AT#SKIPESC?') == ['#SKIPESC: 1', 'OK']
    assert th.cmd('AT#SO=1') == ['CONNECT', '+++']     # the echo of the first escape
    escape(th)
    assert th.lines(0.5) == ['OK']                    # no second echo: nothing was sent
    assert tcp_echo_server.received == b'+++'


def test_so_and_sh_on_closed_sockets(th):
    assert th.cmd('AT#SO=3') == ['NO CARRIER']       # §6.4
    assert th.cmd('AT#SH=3') == ['OK']               # §6.5: OK when already closed


def test_remote_close_online_delivers_data_then_no_carrier(th, tcp_echo_server):
    assert th.cmd('AT#SCFG=1,1,300,90,600,5') == ['OK']
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.write(b'bye')
    th.advance(0.6)
    tcp_echo_server.drop_all()
    assert th.lines(1.0) == ['bye', 'NO CARRIER']
    assert th.cmd('AT#SLASTCLOSURE=1') == ['#SLASTCLOSURE: 1,1', 'OK']
    assert th.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']


def test_remote_close_in_command_mode_keeps_pending_data(th, tcp_echo_server):
    open_cmd_mode(th, tcp_echo_server.port)
    send_ext(th, 1, b'last words')
    th.expect_urc('SRING: 1')
    tcp_echo_server.drop_all(reset=True)
    th.advance(0.5)
    assert th.cmd('AT#SS=1')[0].startswith('#SS: 1,3,')     # still readable
    assert srecv(th, 1, 100) == b'last words'
    # §8.7.1: the closure is then shown as NO CARRIER
    assert th.lines(0.2) == ['NO CARRIER']
    assert th.cmd('AT#SLASTCLOSURE=1') == ['#SLASTCLOSURE: 1,2', 'OK']


@pytest.mark.parametrize('mode, text', [(0, 'NO CARRIER'), (1, 'NO CARRIER: 1'),
                                        (2, 'NO CARRIER: 1,1')])
def test_no_carrier_mode_of_scfgext2(th, tcp_echo_server, mode, text):
    assert th.cmd(f'AT#SCFGEXT2=1,0,0,0,0,{mode}') == ['OK']
    open_cmd_mode(th, tcp_echo_server.port)
    th.advance(0.2)
    tcp_echo_server.drop_all()
    assert th.expect_urc(text)


def test_inactivity_timeout_closes_with_cause_3(th, tcp_echo_server):
    assert th.cmd('AT#SCFG=1,1,300,1,600,50') == ['OK']        # maxTo 1 s
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.advance(0.8)
    assert th.read() == b''
    assert th.lines(0.4) == ['NO CARRIER']
    assert th.cmd('AT#SLASTCLOSURE=1') == ['#SLASTCLOSURE: 1,3', 'OK']


# -- data integrity -------------------------------------------------------------------------

def test_100k_random_bytes_through_ssendext_and_srecv(th, tcp_echo_server):
    payload = os.urandom(100 * 1024)
    open_cmd_mode(th, tcp_echo_server.port)
    for i in range(0, len(payload), 1500):
        send_ext(th, 1, payload[i:i + 1500])
    th.wait_for(lambda: len(tcp_echo_server.received) == len(payload), 10.0)
    got = bytearray()
    for _ in range(200):
        if len(got) == len(payload):
            break
        th.advance(0.05)
        got += srecv(th, 1, 1500)
    assert bytes(tcp_echo_server.received) == payload
    assert bytes(got) == payload
    assert th.cmd('AT#SI=1') == [f'#SI: 1,{len(payload)},{len(payload)},0,0', 'OK']


def test_100k_random_bytes_online(th, tcp_echo_server):
    payload = os.urandom(100 * 1024)
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address"') == ['CONNECT']
    th.read()
    for i in range(0, len(payload), 4096):
        th.write(payload[i:i + 4096])
    th.wait_for(lambda: len(th.rx) - th.mark >= len(payload), 20.0)
    assert th.read() == payload
    assert bytes(tcp_echo_server.received) == payload
    escape(th)
    assert th.lines(0.2) == ['OK', 'SRING: 1']


def test_online_delivery_is_paced_by_the_serial_line(tcp_echo_server):
    payload = os.urandom(4 * 1024)
    with make_harness(activate=(1,), baud=115200) as h:
        assert h.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
        for i in range(0, len(payload), 1500):
            send_ext(h, 1, payload[i:i + 1500])
        h.wait_for(lambda: len(tcp_echo_server.received) == len(payload), 10.0)
        h.advance(0.2)
        h.read()
        h.write('AT#SO=1\r')
        start = h.now()
        head = b'AT#SO=1\r\r\nCONNECT\r\n'
        h.wait_for(lambda: len(h.rx) - h.mark >= len(head) + len(payload), 10.0)
        # 10 bits a byte at 115200 baud: the pump never runs far ahead of the line
        assert h.now() - start >= len(payload) * 10 / 115200
        assert h.read() == head + payload


def test_buffer_full_pauses_the_peer_and_resumes_after_reads(tcp_echo_server):
    with make_harness(activate=(1,), config={'rx_buffer': 4096}) as h:
        open_cmd_mode(h, tcp_echo_server.port)
        payload = os.urandom(20000)
        for i in range(0, len(payload), 1500):
            send_ext(h, 1, payload[i:i + 1500])
        h.advance(1.0)
        buffered = int(h.cmd('AT#SI=1')[0].split(',')[3])
        assert 4096 <= buffered < 20000                # the module holds about rx_buffer
        got = bytearray()
        for _ in range(100):
            if len(got) == len(payload):
                break
            got += srecv(h, 1, 1500)
            h.advance(0.05)
        assert bytes(got) == payload


def test_pending_data_waits_for_a_delayed_connect(tcp_echo_server):
    with make_harness(activate=(1,), config={'turnaround_s': 0.05}) as h:
        open_cmd_mode(h, tcp_echo_server.port)
        send_ext(h, 1, b'queued')
        h.expect_urc('SRING: 1')
        tcp_echo_server.drop_all()
        h.advance(0.3)
        # CONNECT goes out 50 ms late; the data and NO CARRIER still follow it, in order
        h.read()
        h.write('AT#SO=1\r')
        assert h.lines(0.3) == ['AT#SO=1', 'CONNECT', 'queued', 'NO CARRIER']
