"""Quectel services: AT+QIDNSCFG/QIDNSGIP (QL §2.1.13, §2.1.14), AT+QPING (§2.1.11, §3.7),
AT+QNTP against a real SNTP server on 127.0.0.1 (§2.1.12, §3.8) and AT+CCLK."""

import calendar
import socket
import struct
import threading

import pytest

from mktools.sim.quectel.services import NTP_EPOCH_OFFSET, sntp_reply_time, sntp_request
from test_quectel_support import make_harness, qh  # noqa: F401

SERVER_TIME = calendar.timegm((2019, 7, 21, 6, 10, 59))        # QL §3.8's answer


class SntpServer:
    """A tiny SNTP server (RFC 4330) on 127.0.0.1 answering with a fixed time."""

    def __init__(self, unix_s):
        self.unix_s = unix_s
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(('127.0.0.1', 0))
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.requests = []
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop and len(self.requests) < 100:
            try:
                request, addr = self.sock.recvfrom(512)
            except (TimeoutError, OSError):
                continue
            self.requests.append(request)
            if len(request) < 48:
                continue
            transmit = struct.pack('!II', self.unix_s + NTP_EPOCH_OFFSET, 0)
            reply = (bytes([0x24, 1, 0, 0]) + bytes(20) + request[40:48]
                     + transmit + transmit)
            self.sock.sendto(reply, addr)

    def close(self):
        self._stop = True
        self._thread.join(2.0)
        self.sock.close()


@pytest.fixture
def sntp_server():
    server = SntpServer(SERVER_TIME)
    yield server
    server.close()


@pytest.fixture
def named():
    """Context 1 active, with names mapped to loopback and one to an outside address."""
    hosts = {'www.baidu.com': '127.0.0.1', 'ntp.test': '127.0.0.1', 'far.test': '61.135.169.125'}
    with make_harness({'hosts': hosts, 'ntp_timeout_s': 2.0}, net_latency_s=0.05) as h:
        yield h


# -- DNS -----------------------------------------------------------------------------------

def test_qidnscfg_query_and_set(qh):
    assert qh.cmd('AT+QIDNSCFG=?') == ['+QIDNSCFG: (1-16),<pridnsaddr>,<secdnsaddr>', 'OK']
    assert qh.cmd('AT+QIDNSCFG=1') == ['+QIDNSCFG: 1,"10.7.0.1","10.7.0.2"', 'OK']
    assert qh.cmd('AT+QIDNSCFG=1,"8.8.8.8","8.8.4.4"') == ['OK']
    assert qh.cmd('AT+QIDNSCFG=1') == ['+QIDNSCFG: 1,"8.8.8.8","8.8.4.4"', 'OK']
    assert qh.cmd('AT+QIDNSCFG=1,"dns.test"') == ['ERROR']
    assert qh.cmd('AT+QIDNSCFG=2') == ['ERROR']           # context must be active
    assert qh.cmd('AT+QIGETERROR') == ['+QIGETERROR: 561, open pdp context failed', 'OK']


def test_qidnsgip_resolves_through_the_host_map(named):
    assert named.cmd('AT+QIDNSGIP=?') == ['+QIDNSGIP: (1-16),<hostname>', 'OK']
    assert named.cmd('AT+QIDNSGIP=1,"www.baidu.com"') == ['OK']
    assert named.lines(0.09) == []                        # a network round trip later
    assert named.lines(0.02) == ['+QIURC: "dnsgip",0,1,600', '+QIURC: "dnsgip","127.0.0.1"']
    assert named.cmd('AT+QIDNSGIP=1,"far.test"') == ['OK']
    assert named.lines(0.2) == ['+QIURC: "dnsgip",0,1,600',
                                '+QIURC: "dnsgip","61.135.169.125"']


def test_qidnsgip_failure_is_565(named):
    assert named.cmd('AT+QIDNSGIP=1,"nowhere.test"') == ['OK']
    assert named.lines(0.2) == ['+QIURC: "dnsgip",565']
    assert named.cmd('AT+QIGETERROR') == ['+QIGETERROR: 565, dns parse failed', 'OK']
    named.net.dns_fail = True
    assert named.cmd('AT+QIDNSGIP=1,"www.baidu.com"') == ['OK']
    assert named.lines(0.2) == ['+QIURC: "dnsgip",565']


def test_qidnsgip_needs_an_active_context(qh):
    assert qh.cmd('AT+QIDNSGIP=3,"www.baidu.com"') == ['ERROR']


# -- ping ----------------------------------------------------------------------------------

def test_qping_replies_from_loopback_with_the_network_latency(named):
    assert named.cmd('AT+QPING=?') == ['+QPING: (1-16),<host>,(1-255),(1-10)', 'OK']
    assert named.cmd('AT+QPING=1,"www.baidu.com"') == ['OK']
    reply = '+QPING: 0,"127.0.0.1",32,100,255'
    assert named.lines(0.09) == []                        # one round trip per request
    assert named.lines(3.0) == [reply] * 3                # one request a second
    assert named.lines(0.02) == [reply, '+QPING: 0,4,4,0,100,100,100']


def test_qping_count_and_literal_address(named):
    assert named.cmd('AT+QPING=1,"127.0.0.2",1,2') == ['OK']
    assert named.lines(1.2) == ['+QPING: 0,"127.0.0.2",32,100,255'] * 2 + [
        '+QPING: 0,2,2,0,100,100,100']


def test_qping_unreachable_host_times_out_per_request(named):
    assert named.cmd('AT+QPING=1,"far.test",2,3') == ['OK']
    assert named.lines(1.9) == []
    assert named.lines(0.2) == ['+QPING: 569']
    assert named.lines(4.0) == ['+QPING: 569', '+QPING: 569', '+QPING: 0,3,0,3,0,0,0']


def test_qping_unknown_host_and_inactive_context(named):
    assert named.cmd('AT+QPING=1,"nowhere.test"') == ['OK']
    assert named.lines(0.2) == ['+QPING: 565']
    assert named.cmd('AT+QPING=2,"www.baidu.com"') == ['OK', '+QPING: 561']
    assert named.cmd('AT+QPING=1,"x",0') == ['ERROR']
    assert named.cmd('AT+QPING=1,"x",4,11') == ['ERROR']


# -- NTP and the clock ---------------------------------------------------------------------

def test_sntp_codec_checks_the_reply():
    request = sntp_request(1000.5)
    assert len(request) == 48 and request[0] == 0x23
    reply = bytes([0x24, 2]) + bytes(22) + request[40:48] + bytes(8) + \
        struct.pack('!II', 5000 + NTP_EPOCH_OFFSET, 1 << 31)
    assert sntp_reply_time(reply, request) == 5000.5
    assert sntp_reply_time(reply[:40], request) is None
    assert sntp_reply_time(bytes([0x23]) + reply[1:], request) is None      # not a server
    assert sntp_reply_time(reply[:24] + bytes(8) + reply[32:], request) is None


def test_qntp_synchronises_the_clock_from_a_real_sntp_server(named, sntp_server):
    assert named.cmd('AT+CCLK?') == ['+CCLK: "80/01/06,00:00:00+00"', 'OK']
    assert named.cmd(f'AT+QNTP=1,"ntp.test",{sntp_server.port}') == ['OK']
    named.expect_urc('+QNTP: 0,"2019/07/21,06:10:59+00"', 2.0)
    assert len(sntp_server.requests) == 1 and sntp_server.requests[0][0] == 0x23
    named.advance(6.0)
    assert named.cmd('AT+CCLK?') == ['+CCLK: "19/07/21,06:11:05+00"', 'OK']


def test_qntp_autosettime_0_leaves_the_clock(named, sntp_server):
    assert named.cmd(f'AT+QNTP=1,"127.0.0.1",{sntp_server.port},0') == ['OK']
    named.expect_urc('+QNTP: 0,"2019/07/21,06:10:59+00"', 2.0)
    assert named.cmd('AT+CCLK?')[0].startswith('+CCLK: "80/01/06')


def test_qntp_read_while_syncing_and_busy(named):
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(('127.0.0.1', 0))
    port = silent.getsockname()[1]
    assert named.cmd('AT+QNTP=?') == ['+QNTP: (1-16),<server>,(1-65535),(0,1)', 'OK']
    assert named.cmd(f'AT+QNTP=1,"ntp.test",{port}') == ['OK']
    assert named.cmd('AT+QNTP?') == [f'+QNTP: "ntp.test",{port}', 'OK']
    assert named.cmd(f'AT+QNTP=1,"ntp.test",{port}') == ['ERROR']
    assert named.cmd('AT+QIGETERROR') == ['+QIGETERROR: 568, operation busy', 'OK']
    named.expect_urc('+QNTP: 569', 3.0)                   # nobody answered
    assert named.cmd('AT+QNTP?') == ['OK']
    silent.close()


def test_qntp_to_an_outside_server_times_out(named):
    assert named.cmd('AT+QNTP=1,"202.112.10.36",123') == ['OK']
    assert named.lines(1.9) == []
    assert named.lines(0.2) == ['+QNTP: 569']


def test_qntp_unknown_name_is_565(named):
    assert named.cmd('AT+QNTP=1,"nowhere.test"') == ['OK']
    assert named.lines(0.2) == ['+QNTP: 565']


def test_cclk_write_and_read(qh):
    assert qh.cmd('AT+CCLK="24/02/29,23:59:58+08"') == ['OK']
    qh.advance(3.0)
    assert qh.cmd('AT+CCLK?') == ['+CCLK: "24/03/01,00:00:01+08"', 'OK']
    assert qh.cmd('AT+CCLK="24/13/01,00:00:00+00"') == ['ERROR']
    assert qh.cmd('AT+CCLK="24/01/01,00:00:00+60"') == ['ERROR']
