"""Quectel data transfer: AT+QISEND (QL §2.1.7), AT+QIRD (§2.1.8), AT+QISENDEX (§2.1.9),
AT+QISWTMD (§2.1.10), the access modes of QL §1.2 and the "recv" URCs of §2.2.2."""

import random

import pytest

from test_quectel_support import (  # noqa: F401
    open_tcp, peer, qh, qird, recv_exactly, send_fixed)


@pytest.fixture
def link(qh, peer):
    """Context 1 active, connectID 0 connected in buffer mode: (harness, peer connection)."""
    open_tcp(qh, peer.port)
    return qh, peer.accept()


def raw_cmd_prompt(h, line):
    """Send `line` and return what follows its echo once the prompt is up."""
    h.mark = len(h.rx)
    h.write(line + '\r')
    h.wait_for(lambda: h.modem.mode == 'prompt')
    return h.read()[len(line) + 1:]


# -- AT+QISEND -----------------------------------------------------------------------------

def test_qisend_test_form(qh):
    assert qh.cmd('AT+QISEND=?') == ['+QISEND: (0-11),(0-1460)', 'OK']


def test_variable_length_send_with_ctrl_z_and_echo(link):
    h, conn = link
    out = raw_cmd_prompt(h, 'AT+QISEND=0')
    assert out == b'\r\n> '
    h.write(b'test1\x1a')
    assert h.read() == b'test1\r\nSEND OK\r\n'      # AT+QISDE=1 echoes the data
    assert conn.recv(10) == b'test1'


def test_fixed_length_send_takes_ctrl_z_and_esc_as_data(link):
    h, conn = link
    assert send_fixed(h, 0, b'a\x1a\x1bb') == b'a\x1a\x1bb\r\nSEND OK\r\n'
    assert recv_exactly(conn, 4) == b'a\x1a\x1bb'


def test_no_echo_with_qisde_0(link):
    h, conn = link
    assert h.cmd('AT+QISDE=0') == ['OK']
    assert send_fixed(h, 0, b'quiet') == b'\r\nSEND OK\r\n'


def test_esc_cancels_with_571(link):
    h, conn = link
    assert h.cmd('AT+QISEND=0') == ['>']
    h.write(b'never\x1b')
    assert h.lines() == ['never', 'ERROR']              # echoed as typed (AT+QISDE=1)
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 571, cancel send', 'OK']
    assert h.cmd('AT+QISEND=0,0') == ['+QISEND: 0,0,0', 'OK']


def test_qisend_timeout_option_ends_the_prompt_with_569(link):
    h, _ = link
    assert h.cmd('AT+QICFG="qisend/timeout",500') == ['OK']
    assert h.cmd('AT+QISEND=0,10') == ['>']
    h.write(b'abc')
    assert h.lines(0.45) == ['abc']
    assert h.lines(0.1) == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 569, operation timeout', 'OK']


def test_variable_length_above_1460_is_refused(link):
    h, conn = link
    assert h.cmd('AT+QISDE=0') == ['OK']
    assert h.cmd('AT+QISEND=0') == ['>']
    h.write(b'x' * 1461 + b'\x1a')
    assert h.lines() == ['ERROR']
    assert h.cmd('AT+QISEND=0,1461') == ['ERROR']


def test_send_on_a_free_or_unconnected_id_is_an_error_without_prompt(qh):
    assert qh.cmd('AT+QISEND=3') == ['ERROR']
    assert qh.cmd('AT+QISEND=3,0') == ['ERROR']
    assert qh.cmd('AT+QISEND=12,1') == ['ERROR']


def test_send_fail_when_the_send_buffer_is_full(link):
    h, conn = link
    h.modem.stall(0)                               # the network takes nothing any more
    assert h.cmd('AT+QISDE=0') == ['OK']
    results = []
    for _ in range(50):
        results.append(send_fixed(h, 0, b'z' * 1460))
        if results[-1] != b'\r\nSEND OK\r\n':
            break
    assert results[-1] == b'\r\nSEND FAIL\r\n'
    sent = 1460 * (len(results) - 1)
    assert sent <= 64 * 1024 < sent + 1460
    assert h.cmd('AT+QISEND=0,0') == [f'+QISEND: {sent},0,{sent}', 'OK']
    h.modem.stall(0, on=False)
    assert len(recv_exactly(conn, sent)) == sent
    h.advance(0.1)
    assert h.cmd('AT+QISEND=0,0') == [f'+QISEND: {sent},{sent},0', 'OK']


# -- AT+QISENDEX ---------------------------------------------------------------------------

def test_qisendex_sends_hex(link):
    h, conn = link
    assert h.cmd('AT+QISENDEX=?') == ['+QISENDEX: (0-11),<hex_string>', 'OK']
    assert h.cmd('AT+QISENDEX=0,"3132333435"') == ['SEND OK']
    assert conn.recv(10) == b'12345'
    assert h.cmd('AT+QISEND=0,0') == ['+QISEND: 5,5,0', 'OK']


@pytest.mark.parametrize('hex_string', ['313', '3g', '', '41' * 257])
def test_qisendex_rejects_bad_hex(link, hex_string):
    h, _ = link
    assert h.cmd(f'AT+QISENDEX=0,"{hex_string}"') == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']


def test_qisendex_takes_512_hex_characters(link):
    h, conn = link
    assert h.cmd(f'AT+QISENDEX=0,"{"41" * 256}"') == ['SEND OK']
    assert recv_exactly(conn, 256) == b'A' * 256


# -- AT+QIRD and the buffer-mode URC -------------------------------------------------------

def test_qird_forms_and_the_1500_byte_cap(link):
    h, conn = link
    assert h.cmd('AT+QIRD=?') == ['+QIRD: (0-11),(0-1500)', 'OK']
    conn.sendall(bytes(range(256)) * 8)
    h.expect_urc('+QIURC: "recv",0')
    h.advance(0.05)
    assert qird(h, 0, 10) == bytes(range(10))
    assert qird(h, 0) == (bytes(range(256)) * 8)[10:1510]
    assert h.cmd('AT+QIRD=0,0') == ['+QIRD: 2048,1510,538', 'OK']
    assert qird(h, 0, 1500) == (bytes(range(256)) * 8)[1510:]
    assert qird(h, 0) == b''
    assert h.cmd('AT+QIRD=0,1501') == ['ERROR']
    assert h.cmd('AT+QIRD=7') == ['ERROR']          # no such connection


def test_recv_urc_is_not_repeated_until_the_buffer_is_drained(link):
    h, conn = link
    conn.sendall(b'one')
    h.expect_urc('+QIURC: "recv",0')
    conn.sendall(b'two')
    h.advance(0.1)
    assert h.read() == b''                          # buffer not empty: no new URC
    assert qird(h, 0, 4) == b'onet'
    conn.sendall(b'three')
    h.advance(0.1)
    assert h.read() == b''                          # still not drained
    assert qird(h, 0) == b'wothree'
    conn.sendall(b'four')
    h.expect_urc('+QIURC: "recv",0')


def test_recvind_adds_the_length(link):
    h, conn = link
    assert h.cmd('AT+QICFG="recvind",1') == ['OK']
    conn.sendall(b'test1')
    h.expect_urc('+QIURC: "recv",0,5')


def test_viewmode_1_puts_the_data_after_a_comma(link):
    h, conn = link
    assert h.cmd('AT+QICFG="viewmode",1') == ['OK']
    conn.sendall(b'abc')
    h.expect_urc('+QIURC: "recv",0')
    assert h.cmd('AT+QIRD=0') == ['+QIRD: 3,abc', 'OK']


def test_hex_dataformat_both_ways(link):
    h, conn = link
    assert h.cmd('AT+QICFG="dataformat",1,1') == ['OK']
    assert h.cmd('AT+QISDE=0') == ['OK']
    assert h.cmd('AT+QISEND=0,2') == ['>']           # 2 bytes typed as 4 hex digits
    h.write(b'4142')
    assert h.lines() == ['SEND OK']
    assert conn.recv(10) == b'AB'
    conn.sendall(b'\x00\xff')
    h.expect_urc('+QIURC: "recv",0')
    assert h.cmd('AT+QIRD=0') == ['+QIRD: 2', '00FF', 'OK']


def test_100_kb_of_random_bytes_round_trip(qh, tcp_echo_server):
    payload = random.Random(7).randbytes(100 * 1024)
    open_tcp(qh, tcp_echo_server.port)
    assert qh.cmd('AT+QISDE=0') == ['OK']
    back = bytearray()
    for offset in range(0, len(payload), 1460):
        assert b'\r\nSEND OK\r\n' in send_fixed(qh, 0, payload[offset:offset + 1460])
        back += drain(qh)
    for _ in range(200):
        if len(back) >= len(payload):
            break
        qh.advance(0.01)
        back += drain(qh)
    assert bytes(back) == payload
    assert qh.cmd('AT+QISEND=0,0') == [f'+QISEND: {len(payload)},{len(payload)},0', 'OK']
    total = len(payload)
    assert qh.cmd('AT+QIRD=0,0') == [f'+QIRD: {total},{total},0', 'OK']


def drain(h):
    data = bytearray()
    while True:
        chunk = qird(h, 0)
        if not chunk:
            return data
        data += chunk


# -- direct push (QL §1.2, §3.4) -----------------------------------------------------------

def test_direct_push_outputs_header_then_data(qh, peer):
    open_tcp(qh, peer.port, mode=1)
    conn = peer.accept()
    conn.sendall(b'test')
    qh.expect_urc('+QIURC: "recv",0,4')
    assert qh.read() == b'test\r\n'
    assert qh.cmd('AT+QIRD=0,0') == ['+QIRD: 4,4,0', 'OK']


def test_direct_push_waits_for_command_mode_and_precedes_closed(qh, peer):
    open_tcp(qh, peer.port, mode=1)
    conn = peer.accept()
    assert qh.cmd('AT+QISEND=0') == ['>']          # the port is in a data phase
    conn.sendall(b'pushed')
    conn.close()
    qh.advance(0.2)
    assert qh.read() == b''
    qh.write(b'x\x1b')
    assert qh.read(0.1) == (b'x\r\nERROR\r\n\r\n+QIURC: "recv",0,6\r\npushed\r\n'
                            b'\r\n+QIURC: "closed",0\r\n')


def test_direct_push_splits_large_data(qh, peer):
    open_tcp(qh, peer.port, mode=1)
    conn = peer.accept()
    conn.sendall(b'x' * 3000)
    qh.advance(0.2)
    lines = qh.lines()
    assert lines == ['+QIURC: "recv",0,1500', 'x' * 1500, '+QIURC: "recv",0,1500', 'x' * 1500]


# -- access-mode switching and transparent mode (QL §1.2, §2.1.10, §3.3) -------------------

def test_qiswtmd_between_buffer_and_push(link):
    h, conn = link
    assert h.cmd('AT+QISWTMD=?') == ['+QISWTMD: (0-11),(0-2)', 'OK']
    conn.sendall(b'held')
    h.expect_urc('+QIURC: "recv",0')
    assert h.cmd('AT+QISWTMD=0,1') == ['OK']
    assert h.lines(0.05) == ['+QIURC: "recv",0,4', 'held']
    assert h.cmd('AT+QISTATE=1,0')[0].split(',')[8] == '1'
    assert h.cmd('AT+QISWTMD=0,0') == ['OK']
    conn.sendall(b'again')
    h.expect_urc('+QIURC: "recv",0')
    assert h.cmd('AT+QISWTMD=5,1') == ['ERROR']
    assert h.cmd('AT+QISWTMD=0,3') == ['ERROR']


def test_transparent_bridge_escape_ato_and_no_carrier(qh, peer):
    lines = qh.cmd(f'AT+QIOPEN=1,0,"TCP","127.0.0.1",{peer.port},0,2')
    assert lines == ['CONNECT']
    conn = peer.accept()
    assert qh.modem.mode == 'online'
    qh.write(b'AT+QIRD=0\r')                        # commands are data now
    qh.advance(0.3)                                 # "transwaittm" 2 x 100 ms
    assert recv_exactly(conn, 10) == b'AT+QIRD=0\r'
    conn.sendall(b'Test 1')
    qh.advance(0.05)
    assert qh.read() == b'Test 1'                   # raw, no header
    qh.advance(1.1)
    qh.write(b'+++')
    qh.advance(1.1)
    assert qh.read() == b'\r\nOK\r\n'
    assert qh.cmd('AT+QISTATE=1,0')[0].split(',')[8] == '0'   # buffer access mode now
    conn.sendall(b'while in command mode')
    qh.expect_urc('+QIURC: "recv",0')
    assert qh.cmd('ATO') == ['CONNECT']             # buffered data follows the CONNECT
    qh.advance(0.05)
    assert qh.read() == b'while in command mode'
    conn.close()
    qh.advance(0.1)
    assert qh.read() == b'\r\nNO CARRIER\r\n'
    assert qh.cmd('AT+QISTATE=1,0')[0].split(',')[5] == '4'
    assert qh.cmd('ATO') == ['NO CARRIER']
    assert qh.cmd('AT+QICLOSE=0') == ['OK']


def test_ato_without_a_previous_transparent_connection_is_no_carrier(link):
    h, _ = link
    assert h.cmd('ATO') == ['NO CARRIER']


def test_qiswtmd_2_enters_transparent_mode(link):
    h, conn = link
    assert h.cmd('AT+QISWTMD=0,2') == ['CONNECT']
    h.write(b'raw')
    h.advance(0.3)
    assert recv_exactly(conn, 3) == b'raw'
    h.advance(1.1)
    h.write(b'+++')
    assert h.lines(1.1) == ['OK']
    assert h.cmd('ATO') == ['CONNECT']


def test_escape_needs_the_guard_times(link):
    h, conn = link
    assert h.cmd('AT+QISWTMD=0,2') == ['CONNECT']
    h.write(b'a+++')                                # no silence before: data
    h.advance(1.5)
    assert h.modem.mode == 'online'
    assert recv_exactly(conn, 4) == b'a+++'


def test_transparent_packets_follow_transpktsize(link):
    h, conn = link
    assert h.cmd('AT+QICFG="transpktsize",4') == ['OK']
    assert h.cmd('AT+QICFG="transwaittm",10') == ['OK']
    assert h.cmd('AT+QISWTMD=0,2') == ['CONNECT']
    h.write(b'abcdef')
    h.advance(0.05)
    assert recv_exactly(conn, 4) == b'abcd'         # one full packet at once
    conn.settimeout(0.05)
    with pytest.raises(TimeoutError):
        conn.recv(10)
    h.advance(1.0)                                  # the rest after transwaittm (1 s)
    conn.settimeout(2)
    assert recv_exactly(conn, 2) == b'ef'
