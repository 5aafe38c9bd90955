"""The harness drives real loopback sockets on the fake clock: a transparent-mode round trip."""

from harness import Harness
from mktools.sim.core.modem import PENDING, Modem


class DialModem(Modem):
    """Test-only: AT+OPEN="host",port connects and goes online, as dialects do."""

    COMMANDS = {'+OPEN': 'open_cmd'}

    def open_cmd(self, op, args):
        self.conn = self.net.tcp_connect(self.arg_str(args, 0), self.arg_int(args, 1), self)
        return PENDING

    def on_connect(self, conn):
        self.finish('CONNECT')
        self.go_online(conn.send, lambda: 'OK')

    def on_error(self, conn, why):
        self.finish(self.cme(30) if why == 'dns' else 'NO CARRIER')

    def on_data(self, conn, data):
        self.to_dte(data)

    def on_close(self, conn, reset):
        self.go_command('NO CARRIER')


def test_transparent_round_trip_and_peer_close(tcp_echo_server):
    config = {'hosts': {'echo.test': '127.0.0.1'}}
    with Harness(DialModem, config=config, net_latency_s=0.05) as h:
        assert h.cmd(f'AT+OPEN="echo.test",{tcp_echo_server.port}') == ['CONNECT']
        start = h.now()
        h.write(b'ping')
        h.wait_for(lambda: h.rx.endswith(b'ping'), 5.0)
        assert h.now() - start >= 0.1                    # 50 ms each way
        tcp_echo_server.drop_all()
        assert h.expect_urc('NO CARRIER', 5.0) == 'NO CARRIER'
        assert h.cmd('AT') == ['OK']


def test_unknown_name_fails_without_dialling():
    with Harness(DialModem) as h:
        assert h.cmd('AT+CMEE=2;+OPEN="nowhere.test",80') == ['+CME ERROR: no network service']
        assert [e['event'] for e in h.net.events] == ['dns_unknown', 'connect_failed']
