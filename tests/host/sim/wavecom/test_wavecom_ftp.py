"""Wavecom #FTPGET / #FTPPUT against pyftpdlib on 127.0.0.1 (MT Chapter 4 and App. A/B, GP §3,
§7.4.7 and §8; digest C.3, C.4.5)."""

import random

import pytest

from test_wavecom_support import (DLE, ETX, FTP_PASSWORD, FTP_USER, connect, ftp_server, modem,
                                  read_until)

# GP §7.4.7 worked examples
SERVER_FILE = b'0123456' + DLE + b'654321' + ETX + b'123456'
HOST_FILE = b'0123456' + DLE + DLE + b'654321' + DLE + ETX + b'123456' + ETX

__all__ = ['ftp_server']
pytestmark = pytest.mark.filterwarnings('ignore:The asyn:DeprecationWarning')


def configure(h, server, mode=1, path='', **extra):
    settings = {'FTPSERV': '"127.0.0.1"', 'FTPPORT': server.port, 'FTPUN': f'"{FTP_USER}"',
                'FTPPW': f'"{FTP_PASSWORD}"', 'FTPMODE': mode, 'FTPGETPATH': f'"{path}"',
                'FTPPUTPATH': f'"{path}"', **extra}
    for name, value in settings.items():
        assert h.cmd(f'AT#{name}={value}') == ['OK'], name


@pytest.fixture
def mt(ftp_server):
    with modem('multitech') as h:
        connect(h)
        configure(h, ftp_server)
        yield h


@pytest.mark.parametrize('mode', [1, 0], ids=['passive', 'active'])
def test_ftpget_reception_example(mt, ftp_server, mode):
    # GP §7.4.7 "Reception example": the file arrives DLE-encoded and ends with a bare ETX
    (ftp_server.root / 'file.bin').write_bytes(SERVER_FILE)
    mt.cmd(f'ATE0;#FTPMODE={mode};#FTPGETFILENAME="file.bin"')
    mt.write('AT#FTPGET\r')
    assert read_until(mt, b'OK\r\n') == \
        b'\r\nOK_Info_DataBegin\r\n' + HOST_FILE + b'\r\nOK\r\n'
    assert mt.modem.mode == 'command' and mt.modem.ftp is None


def test_ftpget_file_ending_in_etx_from_a_sub_directory(mt, ftp_server):
    # GP §7.4.7: "The serial port will output the file terminated with <DLE><ETX> then <ETX>"
    (ftp_server.root / 'sub' / 'end.txt').write_bytes(b'datadat' + ETX)
    mt.cmd('ATE0;#FTPGETPATH="sub";#FTPGETFILENAME="end.txt"')
    mt.write('AT#FTPGET\r')
    assert read_until(mt, b'OK\r\n') == \
        b'\r\nOK_Info_DataBegin\r\ndatadat' + DLE + ETX + ETX + b'\r\nOK\r\n'


def test_data_arriving_before_the_delayed_banner_waits_for_it(ftp_server):
    # with a turnaround delay the whole (tiny) file is in before 'OK_Info_DataBegin' goes out
    (ftp_server.root / 'tiny.bin').write_bytes(b'ab' + ETX)
    with modem('multitech', turnaround_s=0.3) as h:
        connect(h)
        configure(h, ftp_server, FTPGETFILENAME='"tiny.bin"')
        h.cmd('ATE0')
        h.write('AT#FTPGET\r')
        assert read_until(h, b'OK\r\n') == \
            b'\r\nOK_Info_DataBegin\r\nab' + DLE + ETX + ETX + b'\r\nOK\r\n'


def test_ftpget_large_binary_file(mt, ftp_server):
    rng = random.Random(5)
    content = bytes(rng.randrange(256) for _ in range(60_000))
    (ftp_server.root / 'big.bin').write_bytes(content)
    mt.cmd('ATE0;#FTPGETFILENAME="big.bin"')
    mt.write('AT#FTPGET\r')
    out = read_until(mt, ETX + b'\r\nOK\r\n', 20.0)
    body = out[len(b'\r\nOK_Info_DataBegin\r\n'):-len(b'\r\nOK\r\n')]
    assert body.endswith(ETX)
    assert body[:-1].replace(DLE + DLE, b'\x00DLE').replace(DLE + ETX, ETX) \
        .replace(b'\x00DLE', DLE) == content


@pytest.mark.parametrize('mode', [1, 0], ids=['passive', 'active'])
def test_ftpput_transmission_example(mt, ftp_server, mode):
    # GP §7.4.7 "Transmission example"; MT FTPPUT banner (Information Messages spelling);
    # MT App. A: the end-of-data ETX "is echoed", then OK
    mt.cmd(f'AT#FTPMODE={mode};#FTPPUTFILENAME="upload.text"')
    assert mt.cmd('AT#FTPPUT') == ['OK_Info_WaitingForData']
    mt.write(HOST_FILE)
    assert read_until(mt, b'OK\r\n') == ETX + b'\r\nOK\r\n'
    assert (ftp_server.root / 'upload.text').read_bytes() == SERVER_FILE


def test_ftpput_ascii_type_strips_the_eighth_bit(mt, ftp_server):
    # MT #FTPTYPE: "binary data containing 8 bits characters will be corrupted ... if the
    # FTPTYPE is set to A"
    mt.cmd('AT#FTPTYPE=A;#FTPPUTFILENAME="ascii.txt"')
    mt.cmd('AT#FTPPUT')
    mt.write(b'caf\xe9' + ETX)
    read_until(mt, b'OK\r\n')
    assert (ftp_server.root / 'ascii.txt').read_bytes() == b'cafi'


def test_commands_after_the_upload_wait_for_its_result(mt, ftp_server):
    mt.cmd('AT#FTPPUTFILENAME="x.bin"')
    mt.cmd('AT#FTPPUT')
    mt.write(b'abc' + ETX + b'AT#VSTATE\r')
    assert read_until(mt, b'"CONNECTED"\r\n\r\nOK\r\n') == \
        ETX + b'\r\nOK\r\nAT#VSTATE\r#STATE: "CONNECTED"\r\n\r\nOK\r\n'
    assert (ftp_server.root / 'x.bin').read_bytes() == b'abc'


def test_genpro_upload_banner_and_get(ftp_server):
    with modem('genpro') as h:
        connect(h)
        configure(h, ftp_server)
        h.cmd('AT#FTPPUTFILENAME="filename.txt";#FTPGETFILENAME="filename.txt"')
        # GP §3.3.2: the upload opens with 'Ok_Info_DataBegin'
        assert h.cmd('AT#FTPPUT') == ['Ok_Info_DataBegin']
        h.write(b'hello' + ETX)
        assert read_until(h, b'OK\r\n') == ETX + b'\r\nOK\r\n'
        h.cmd('ATE0')
        h.write('AT#FTPGET\r')
        assert read_until(h, b'OK\r\n') == \
            b'\r\nOk_Info_DataBegin\r\nhello' + ETX + b'\r\nOK\r\n'


@pytest.mark.parametrize('setting,error', [
    ('#FTPPW="wrong"', 38081),                  # "Password rejected by server"
    ('#FTPGETPATH="nodir"', 38022),             # "Change Directory attempt failed"
    ('#FTPGETFILENAME="missing.bin"', 38024),   # "Data retrieve attempt failed"
    ('#FTPSERV="ftp.invalid"', 38027),          # DNS
    ('#FTPPORT=1', 38016),                      # "Open session attempt failed"
])
def test_ftpget_errors_before_data(mt, setting, error):
    mt.cmd('AT#FTPGETFILENAME="missing.bin"')
    mt.cmd(f'AT{setting}')
    assert mt.cmd('AT#FTPGET') == [f'#CME ERROR: {error}']
    assert mt.modem.ftp is None


def test_ftp_needs_the_bearer_and_a_free_stack(mt, tcp_echo_server):
    mt.cmd(f'AT#TCPSERV=1,"255.255.255.255";#TCPPORT=1,{tcp_echo_server.port + 1}')
    mt.cmd('AT#LTCPSTART=1')
    # "except when the TCP/IP stack software is already in a process using TCP resources"
    assert mt.cmd('AT#FTPGET') == ['#CME ERROR: 37122']
    mt.cmd('AT#CONNECTIONSTOP')
    assert mt.cmd('AT#FTPPUT') == ['#CME ERROR: 35867']


def test_genpro_invalid_server_name(ftp_server):
    # GP §8 "AT#FTPSERV": "#CME ERROR: 0" and twice "ErrorHandler_ip: Error 17 ..."
    with modem('genpro') as h:
        connect(h)
        h.cmd('AT#FTPSERV="no.such.server"')
        h.cmd('ATE0')
        h.write('AT#FTPGET\r')
        assert h.read() == b'\r#CME ERROR: 0\r\n' + \
            b'ErrorHandler_ip: Error 17 (ADL Release memory error...)\r\n' * 2


def test_bearer_loss_during_a_paced_download_is_etx_prefixed(ftp_server):
    # the serial line (115200 bd) is slower than the server: the download is throttled, and
    # the bearer lost meanwhile ends it with ETX + "#CME ERROR: 35841 GPRS session lost"
    (ftp_server.root / 'f.bin').write_bytes(b'x' * 200_000)
    with modem('multitech', baud=115200) as h:
        connect(h)
        configure(h, ftp_server, FTPGETFILENAME='"f.bin"')
        h.write('AT#FTPGET\r')
        h.advance(0.5)
        assert h.modem.ftp.data.paused and h.wire.backlog_s() < 0.5
        h.modem.pdp_deactivate(1)
        out = read_until(h, b'35841\r\n', 15.0)
        assert out.startswith(b'AT#FTPGET\r\r\nOK_Info_DataBegin\r\nxxx')
        assert out.endswith(b'x' + ETX + b'\r#CME ERROR: 35841\r\n')
        assert 5_000 < out.count(b'x') < 20_000
