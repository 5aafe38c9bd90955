"""Telit native FTP (T-IPE §12) against a pyftpdlib server on 127.0.0.1."""

import os

import pytest

from test_telit_support import Port, escape, ftp_server, make_harness  # noqa: F401

HOSTS = {'hosts': {'server': '127.0.0.1'}}


@pytest.fixture
def fh(ftp_server):
    """HE910, cid 1 active, FTP session open (binary)."""
    with make_harness(activate=(1,), config=HOSTS) as h:
        assert h.cmd(f'AT#FTPOPEN="server:{ftp_server.port}","username","password"') == ['OK']
        yield h


def put_file(server, name, data):
    with open(server.path(name), 'wb') as f:
        f.write(data)


def read_file(server, name):
    with open(server.path(name), 'rb') as f:
        return f.read()


def test_commands_without_a_session(ftp_server):
    with make_harness(activate=(1,), config=HOSTS) as h:
        assert h.cmd('AT#FTPTYPE=0') == ['+CME ERROR: FTP not connected']      # §12.5
        assert h.cmd('AT#FTPGET="f"') == ['+CME ERROR: FTP not connected']     # §12.9.1
        assert h.cmd('AT#FTPGETPKT="f"') == ['+CME ERROR: FTP not connected']  # §12.9.2
        assert h.cmd('AT#FTPCLOSE') == ['OK']
        assert h.cmd(f'AT#FTPOPEN="server:{ftp_server.port}","username","wrong"') == [
            '+CME ERROR: generic undocumented error']
        assert h.cmd('AT#FTPOPEN="nowhere.example","username","password"') == [
            '+CME ERROR: Cannot resolve name']
        h.modem.config['hosts'] = {}
        assert h.cmd('AT#FTPOPEN="127.0.0.1:1","username","password"') == [
            '+CME ERROR: Cannot connect control socket']


def test_ftpto_read_and_range(ftp_server):
    with make_harness(activate=(1,), config=HOSTS) as h:
        assert h.cmd('AT#FTPTO?') == ['#FTPTO: 100', 'OK']
        assert h.cmd('AT#FTPTO=1000') == ['OK']
        assert h.cmd('AT#FTPTO=') == ['#FTPTO: 1000', 'OK']
        assert h.cmd('AT#FTPTO=99') == ['+CME ERROR: incorrect parameters']


def test_type_pwd_fsize_rest(fh, ftp_server):
    put_file(ftp_server, 'data.bin', bytes(range(256)))
    assert fh.cmd('AT#FTPTYPE=1') == ['OK']
    assert fh.cmd('AT#FTPTYPE?') == ['#FTPTYPE: 1', 'OK']
    # §12.7 / §12.10: #FTPFSIZE and #FTPREST need binary type
    assert fh.cmd('AT#FTPFSIZE="data.bin"') == ['+CME ERROR: operation not allowed']
    assert fh.cmd('AT#FTPREST=10') == ['+CME ERROR: operation not allowed']
    assert fh.cmd('AT#FTPTYPE=0') == ['OK']
    assert fh.cmd('AT#FTPFSIZE="data.bin"') == ['#FTPFSIZE: 256', 'OK']
    assert fh.cmd('AT#FTPPWD') == ['#FTPPWD: 257 "/"', 'OK']
    assert fh.cmd('AT#FTPREST=250') == ['OK']
    fh.read()
    fh.write('AT#FTPGET="data.bin"\r')
    fh.wait_for(lambda: fh.rx.endswith(b'NO CARRIER\r\n'))
    assert fh.read() == (b'AT#FTPGET="data.bin"\r\r\nCONNECT\r\n' + bytes(range(250, 256)) +
                         b'\r\nNO CARRIER\r\n')


def test_binary_download_online_at_a_baud_rate(ftp_server):
    data = os.urandom(20000)
    put_file(ftp_server, 'big.bin', data)
    with make_harness(activate=(1,), config=HOSTS, baud=460800) as h:
        assert h.cmd(f'AT#FTPOPEN="server:{ftp_server.port}","username","password"') == ['OK']
        h.read()
        h.write('AT#FTPGET="big.bin"\r')
        h.wait_for(lambda: h.rx.endswith(b'\r\nNO CARRIER\r\n'), 10.0)
        assert h.read() == b'AT#FTPGET="big.bin"\r\r\nCONNECT\r\n' + data + b'\r\nNO CARRIER\r\n'
        assert h.cmd('AT#FTPFSIZE="big.bin"') == ['#FTPFSIZE: 20000', 'OK']


def test_upload_command_mode_binary_with_fsize_and_app(fh, ftp_server):
    payload = os.urandom(3000)
    assert fh.cmd('AT#FTPPUT="up.bin",1') == ['OK']
    for i in range(0, 3000, 1500):
        assert fh.cmd(f'AT#FTPAPPEXT=1500{",1" if i else ""}') == ['>']
        fh.write(payload[i:i + 1500])
        fh.wait_for(lambda: b'OK\r\n' in fh.rx[fh.mark:])
        assert fh.lines() == ['#FTPAPPEXT: 1500', 'OK']
    assert read_file(ftp_server, 'up.bin') == payload
    assert fh.cmd('AT#FTPFSIZE="up.bin"') == ['#FTPFSIZE: 3000', 'OK']
    # §12.7: #FTPAPP appends the missing part
    assert fh.cmd('AT#FTPAPP="up.bin",1') == ['OK']
    assert fh.cmd('AT#FTPAPPEXT=4,1') == ['>']
    fh.write(b'tail')
    fh.wait_for(lambda: b'OK\r\n' in fh.rx[fh.mark:])
    assert read_file(ftp_server, 'up.bin') == payload + b'tail'


def test_appext_without_put_or_after_data_close(fh, ftp_server):
    assert fh.cmd('AT#FTPAPPEXT=4') == ['+CME ERROR: FTP write data closed']
    assert fh.cmd('AT#FTPPUT="x.bin",1') == ['OK']
    assert fh.cmd('AT#FTPAPPEXT=2,1') == ['>']
    fh.write(b'ab')
    fh.wait_for(lambda: b'OK\r\n' in fh.rx[fh.mark:])
    # the data connection is gone: §12.8.2 note, reopen with #FTPPUT
    assert fh.cmd('AT#FTPAPPEXT=2') == ['+CME ERROR: FTP write data closed']


def test_online_put_escape_then_second_transfer(fh, ftp_server):
    assert fh.cmd('AT#FTPPUT="a.txt"') == ['CONNECT']
    fh.write(b'first file')
    escape(fh)
    assert fh.lines() == ['NO CARRIER']                  # §12.8.1: +++ closes the upload
    assert fh.cmd('AT#FTPPUT="b.txt",0') == ['CONNECT']
    fh.write(b'second')
    escape(fh)
    assert fh.lines() == ['NO CARRIER']
    fh.advance(0.3)
    assert read_file(ftp_server, 'a.txt') == b'first file'
    assert read_file(ftp_server, 'b.txt') == b'second'


def test_getpkt_hex_view_and_transfer_in_progress(fh, ftp_server):
    put_file(ftp_server, 'h.bin', b'\x00\x01\xfe\xff')
    assert fh.cmd('AT#FTPGETPKT="h.bin",1') == ['OK']
    assert fh.cmd('AT#FTPGET="h.bin"') == ['+CME ERROR: wrong state']
    fh.advance(0.3)
    assert fh.cmd('AT#FTPRECV=2') == ['#FTPRECV: 2', '0001', 'OK']
    assert fh.cmd('AT#FTPGETPKT?') == ['#FTPGETPKT: h.bin,1,1', 'OK']   # EOF, 2 bytes left
    assert fh.cmd('AT#FTPRECV=10') == ['#FTPRECV: 2', 'FEFF', 'OK']
    assert fh.cmd('AT#FTPGETPKT?') == ['#FTPGETPKT: h.bin,1,1', 'OK']
    assert fh.cmd('AT#FTPRECV?') == ['+CME ERROR: wrong state']          # data port closed


def test_missing_file(fh):
    assert fh.cmd('AT#FTPGET="nope.txt"') == ['+CME ERROR: generic undocumented error']
    assert fh.cmd('AT#FTPFSIZE="nope.txt"') == ['+CME ERROR: generic undocumented error']


def test_one_session_per_module_across_instances(fh, ftp_server):
    other = Port(fh, fh.modem.spawn_instance())
    assert other.cmd('AT+CMEE=2') == ['OK']                 # +CMEE is per AT instance
    assert other.cmd(f'AT#FTPOPEN="server:{ftp_server.port}","username","password"') == [
        '+CME ERROR: Already connected']


def test_deactivating_the_context_drops_the_session(fh):
    assert fh.cmd('AT#SGACT=1,0') == ['OK']
    assert fh.cmd('AT#FTPTYPE?') == ['+CME ERROR: FTP not connected']


def test_me910c1_ftpopen_takes_the_cid(ftp_server):
    with make_harness('me910c1', define=(3,), activate=(3,), config=HOSTS) as h:
        target = f'"server:{ftp_server.port}","username","password"'
        assert h.cmd(f'AT#FTPOPEN={target},0') == ['+CME ERROR: Cannot resolve name']
        assert h.cmd(f'AT#FTPOPEN={target},0,3') == ['OK']
