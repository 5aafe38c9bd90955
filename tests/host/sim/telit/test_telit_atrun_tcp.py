"""TCPATRUN (T-RUN §3, digest A.8.4-A.8.9): configuration, server mode with both login modes
and the firewall, client mode, #TCPATRUNCLOSE, #TCPATCMDSEQ, #ATRUNDELAY, #TCPATCONSER, the
execution timeout and the blocking commands, all with real TCP peers on 127.0.0.1."""

import pytest

from test_telit_atrun_support import Peer, accept, free_port, make_harness
from test_telit_atrun_support import host_listener, peers  # noqa: F401  (fixtures)

USER, PASSWORD = 'testuser', 'testpassw'


def skip_quietly(h, seconds):
    """Jump the fake clock over a quiet stretch in one go: the harness would step it in 10 ms
    pieces while the listener is open, and nothing happens on the sockets meanwhile."""
    h.loop.advance_to(h.now() + seconds)


@pytest.fixture
def h():
    with make_harness() as harness:
        yield harness


def configure_server(h, port, auth_mode=0, timeout=5, rules=(('0.0.0.0', '0.0.0.0'),)):
    """Fig. 8 / §3.9: firewall, credentials, #TCPATRUNCFG, then #TCPATRUNL=1."""
    assert h.cmd('AT#TCPATRUNFRWL=2') == ['OK']
    for ip, mask in rules:
        assert h.cmd(f'AT#TCPATRUNFRWL=1,"{ip}","{mask}"') == ['OK']
    assert h.cmd(f'AT#TCPATRUNAUTH=1,"{USER}","{PASSWORD}"') == ['OK']
    assert h.cmd(f'AT#TCPATRUNCFG=1,2,{port},12345,"212.141.125.127",1,{timeout},{auth_mode},'
                 '5,2') == ['OK']
    assert h.cmd('AT#TCPATRUNL=1') == ['OK']
    h.wait_for(lambda: h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,1', 'OK'], 3.0)


def login(h, peers, port, source='127.0.0.1'):
    """A Telnet-like client that logs in the automatic way (§3.2.2.1)."""
    peer = Peer.connect(port, source)
    peers.append(peer)
    peer.send(f'{USER}\r\n{PASSWORD}\r\n')
    h.wait_for(lambda: any(e['event'] == 'atrun_session' for e in h.modem.events), 5.0)
    return peer


# -- configuration ----------------------------------------------------------------------------

def test_tcpatruncfg_defaults_and_the_seed_example(h):
    assert h.cmd('AT#TCPATRUNCFG?') == ['#TCPATRUNCFG: 1,2,1024,1024,"",1,5,0,0,2', 'OK']
    # §3.1, with the seed's stray backticks removed (digest A.8.4)
    assert h.cmd('AT#TCPATRUNCFG =1,2,1024,12345,"212.141.125.127",1,5,1,5,2') == ['OK']
    assert h.cmd('AT#TCPATRUNCFG?') == [
        '#TCPATRUNCFG: 1,2,1024,12345,"212.141.125.127",1,5,1,5,2', 'OK']
    assert h.cmd('AT#TCPATRUNCFG=2,3,2000,3000,"host.test"') == ['OK']
    assert h.cmd('AT#TCPATRUNCFG?') == ['#TCPATRUNCFG: 2,3,2000,3000,"host.test",1,5,1,5,2', 'OK']
    assert h.cmd('AT#TCPATRUNCFG=1,2,1024,12345,"h",1,6') == ['+CME ERROR: incorrect parameters']
    assert h.cmd('AT#TCPATRUNCFG=?') == [
        '#TCPATRUNCFG: (1-6),(1-3),(1-65535),(1-65535),,(0,1),(1-5),(0,1),(0-5),(1-3600)', 'OK']


def test_tcpatruncfg_refused_while_the_service_is_enabled(h):
    assert h.cmd(f'AT#TCPATRUNCFG=1,2,{free_port()},12345,"1.2.3.4"') == ['OK']
    assert h.cmd('AT#TCPATRUNL=1') == ['OK']
    assert h.cmd('AT#TCPATRUNCFG=1,2,1024,12345,"1.2.3.4"') == ['ERROR']
    assert h.cmd('AT#TCPATRUND=1') == ['ERROR']
    assert h.cmd('AT#TCPATRUNL=0') == ['OK']
    assert h.cmd('AT#TCPATRUNCFG=1,2,1024,12345,"1.2.3.4"') == ['OK']


def test_tcpatrunauth_list(h):
    assert h.cmd('AT#TCPATRUNAUTH=1,"testuser","testpassw"') == ['OK']
    assert h.cmd('AT#TCPATRUNAUTH=1,"MyUser","MyPwd"') == ['OK']
    assert h.cmd('AT#TCPATRUNAUTH?') == ['#TCPATRUNAUTH: "testuser","testpassw"',
                                         '#TCPATRUNAUTH: "MyUser","MyPwd"', 'OK']
    assert h.cmd('AT#TCPATRUNAUTH=0,"testuser","testpassw"') == ['OK']
    assert h.cmd('AT#TCPATRUNAUTH=1,"a","1";#TCPATRUNAUTH=1,"b","2"') == ['OK']
    assert h.cmd('AT#TCPATRUNAUTH=1,"c","3"') == ['+CME ERROR: memory full']    # at most 3
    assert h.cmd('AT#TCPATRUNAUTH=2') == ['OK']
    assert h.cmd('AT#TCPATRUNAUTH?') == ['OK']


def test_tcpatrunfrwl_list_and_the_section_3_9_line(h):
    assert h.cmd('AT#TCPATRUNFRWL=1,"212.141.112.216","255.255.255.255"') == ['OK']
    # §3.9: flush and add in one line
    assert h.cmd('AT#TCPATRUNFRWL=2;#TCPATRUNFRWL=1,"217.0.0.0","255.0.0.0"') == ['OK']
    assert h.cmd('AT#TCPATRUNFRWL?') == ['#TCPATRUNFRWL: "217.0.0.0","255.0.0.0"', 'OK']
    for n in range(1, 5):
        assert h.cmd(f'AT#TCPATRUNFRWL=1,"10.0.0.{n}","255.255.255.255"') == ['OK']
    assert h.cmd('AT#TCPATRUNFRWL=1,"10.0.0.9","255.255.255.255"') == ['+CME ERROR: memory full']
    assert h.cmd('AT#TCPATRUNFRWL=0,"217.0.0.0","255.0.0.0"') == ['OK']
    assert len(h.cmd('AT#TCPATRUNFRWL?')) == 5
    assert h.cmd('AT#TCPATRUNFRWL=1,"bad","255.0.0.0"') == ['+CME ERROR: incorrect parameters']


def test_tcpatcmdseq_and_atrundelay_settings(h):
    assert h.cmd('AT#TCPATCMDSEQ?') == ['#TCPATCMDSEQ: 0', 'OK']
    assert h.cmd('AT#TCPATCMDSEQ=1') == ['OK']
    assert h.cmd('AT#TCPATCMDSEQ?') == ['#TCPATCMDSEQ: 1', 'OK']
    assert h.cmd('AT#ATRUNDELAY=0,10') == ['OK']          # §3.8.1
    assert h.cmd('AT#ATRUNDELAY=1,5') == ['OK']           # §2.5.1
    assert h.cmd('AT#ATRUNDELAY?') == ['#ATRUNDELAY: 0,10', '#ATRUNDELAY: 1,5', 'OK']
    assert h.cmd('AT#ATRUNDELAY=2,5') == ['+CME ERROR: incorrect parameters']


# -- server mode ------------------------------------------------------------------------------

def test_server_mode_runs_commands_from_a_logged_in_client(h, peers):
    port = free_port()
    configure_server(h, port)
    # Fig. 8: the service's socket shows as listening (state 4) on the configured port
    assert h.cmd('AT#SS=1') == [f'#SS: 1,4,10.0.0.2,{port}', 'OK']
    peer = login(h, peers, port)
    assert h.expect_urc('#TCPATRUN: 127.0.0.1') == '#TCPATRUN: 127.0.0.1'
    peer.send('AT+CGMR\r')
    assert peer.expect(h, 'OK\r\n') == b'AT+CGMR\r\r\n12.00.026\r\n\r\nOK\r\n'
    peer.send('ATE0\r')
    peer.expect(h, 'OK\r\n')
    peer.send('AT#SS\r')
    lines = [line for line in peer.expect(h, 'OK\r\n').decode().split('\r\n') if line]
    assert lines[0].startswith('#SS: 1,2,10.0.0.2,')
    assert lines[1:] == ['#SS: 2,0', '#SS: 3,0', '#SS: 4,0', '#SS: 5,0', '#SS: 6,0', 'OK']
    # the serial port's own settings are untouched by the remote ATE0
    assert h.modem.echo is False and h.modem.module.ports[1].echo is False
    h.cmd('ATE1')
    assert h.modem.module.ports[1].echo is False


def test_remote_commands_share_the_module_state(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('AT#ESCRIPT="remote.py"\r')
    peer.expect(h, 'OK\r\n')
    assert h.cmd('AT#ESCRIPT?') == ['#ESCRIPT: "remote.py"', 'OK']


def test_bad_credentials_close_the_connection(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = Peer.connect(port)
    peers.append(peer)
    peer.send(f'{USER}\r{PASSWORD}x\rAT+CGMR\r')
    assert peer.closed(h)
    assert peer.rx == b''
    assert any(e['event'] == 'atrun_login_refused' for e in h.modem.events)
    # still listening for the next client
    assert login(h, peers, port)


def test_step_by_step_login(h, peers):
    port = free_port()
    configure_server(h, port, auth_mode=1)
    peer = Peer.connect(port)
    peers.append(peer)
    assert peer.expect(h, 'Username: ') == b'Username: '
    peer.send(f'{USER}\r\n')
    assert peer.expect(h, 'Password: ') == b'\r\nPassword: '
    peer.send(f'{PASSWORD}\r\n')
    assert peer.expect(h, 'Login successful.\r\n') == b'\r\nLogin successful.\r\n'
    peer.send('AT\r')
    assert peer.expect(h, 'OK\r\n') == b'AT\r\r\nOK\r\n'


def test_step_by_step_unknown_user_is_closed_before_the_password(h, peers):
    port = free_port()
    configure_server(h, port, auth_mode=1)
    peer = Peer.connect(port)
    peers.append(peer)
    peer.expect(h, 'Username: ')
    peer.send('intruder\r')
    assert peer.closed(h)
    assert bytes(peer.rx) == b'Username: '


def test_login_timeout_closes_the_connection(h, peers):
    port = free_port()
    configure_server(h, port, timeout=1)
    peer = Peer.connect(port)
    peers.append(peer)
    peer.send(f'{USER}\r')
    skip_quietly(h, 59.0)
    assert peer.read(h, 0.5) == b'' and not peer.eof
    assert peer.closed(h, 1.0)
    assert any(e['event'] == 'atrun_login_timeout' for e in h.modem.events)


def test_client_outside_the_firewall_is_dropped(h, peers):
    # The accepted range is 127.0.0.2/32, so a client whose source address is 127.0.0.1 is
    # outside it; firewall policy is DROP, so it gets no answer at all (not even a close).
    port = free_port()
    configure_server(h, port, rules=(('127.0.0.2', '255.255.255.255'),))
    outsider = Peer.connect(port, source='127.0.0.1')
    peers.append(outsider)
    outsider.send(f'{USER}\r{PASSWORD}\rAT+CGMR\r')
    assert outsider.read(h, 3.0) == b''
    assert not outsider.eof
    assert any(e['event'] == 'atrun_firewall_drop' and e['remote'][0] == '127.0.0.1'
               for e in h.modem.events)
    assert not any(e['event'] == 'atrun_session' for e in h.modem.events)
    # the same login from the accepted address works
    insider = login(h, peers, port, source='127.0.0.2')
    insider.send('AT+CGMR\r')
    assert insider.expect(h, 'OK\r\n').endswith(b'12.00.026\r\n\r\nOK\r\n')


def test_no_firewall_rule_drops_everybody(h, peers):
    port = free_port()
    configure_server(h, port, rules=())
    peer = Peer.connect(port)
    peers.append(peer)
    peer.send(f'{USER}\r{PASSWORD}\rAT\r')
    assert peer.read(h, 2.0) == b''
    assert any(e['event'] == 'atrun_firewall_drop' for e in h.modem.events)


def test_admin_commands_are_refused_in_server_mode(h, peers):
    # §2.3 / §3.2.1: #SMSATWL and #TCPATRUNFRWL return ERROR through TCPATRUN server mode
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('AT#TCPATRUNFRWL=1,"1.2.3.4","255.255.255.255"\r')
    assert peer.expect(h, 'ERROR\r\n').endswith(b'\r\nERROR\r\n')
    peer.send('AT#SMSATWL=0,1,0,"+39*"\r')
    assert peer.expect(h, 'ERROR\r\n').endswith(b'\r\nERROR\r\n')


def test_tcpatrunclose_closes_and_the_service_restarts(h, peers):
    port = free_port()
    configure_server(h, port)
    first = login(h, peers, port)
    assert h.cmd('AT#TCPATRUNCLOSE') == ['OK', '#TCPATRUN: DISCONNECT']
    assert first.closed(h)
    assert h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,1', 'OK']
    second = login(h, peers, port)
    second.send('AT\r')
    assert second.expect(h, 'OK\r\n')


def test_tcpatrunl_0_stops_listening(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    assert h.cmd('AT#TCPATRUNL=0') == ['OK', '#TCPATRUN: DISCONNECT']
    assert peer.closed(h)
    assert h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 0,0', 'OK']
    assert h.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']


def test_server_waits_for_its_context_and_survives_a_reboot(peers):
    with make_harness(activate=False) as h:
        port = free_port()
        assert h.cmd('AT#TCPATRUNFRWL=1,"0.0.0.0","0.0.0.0"') == ['OK']
        assert h.cmd(f'AT#TCPATRUNAUTH=1,"{USER}","{PASSWORD}"') == ['OK']
        assert h.cmd(f'AT#TCPATRUNCFG=1,2,{port},12345,"1.2.3.4"') == ['OK']
        assert h.cmd('AT#TCPATRUNL=1') == ['OK']
        assert h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,0', 'OK']
        assert h.cmd('AT#SGACT=1,1') == ['#SGACT: 10.0.0.2', 'OK']
        h.wait_for(lambda: h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,1', 'OK'], 3.0)
        h.modem.reboot(delay_s=1.0)
        h.advance(1.5)
        # the setting is in NVM; the service comes back with the context
        assert h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,0', 'OK']
        assert h.cmd('AT#SGACT=1,1')[-1] == 'OK'
        h.wait_for(lambda: h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,1', 'OK'], 3.0)
        peer = login(h, peers, port)
        peer.send('AT+CGSN\r')
        assert b'OK' in peer.expect(h, 'OK\r\n')


def test_context_loss_ends_the_session(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    h.expect_urc('#TCPATRUN: 127.0.0.1')
    h.modem.pdp_deactivate(1)
    assert peer.closed(h)
    assert h.expect_urc('#TCPATRUN: DISCONNECT')
    assert h.cmd('AT#TCPATRUNL?') == ['#TCPATRUNL: 1,0', 'OK']


# -- commands in sequence, delays, timeouts, blocking -------------------------------------------

def test_lines_sent_without_waiting_are_ignored_by_default(h, peers):
    # §3.4: "AT#SGACT=1,1 AT#SS ... The AT#SS would be ignored" (cid 2 takes activation_s)
    assert h.cmd('AT+CGDCONT=2,"IP","apn2"') == ['OK']
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('ATE0\r')
    peer.expect(h, 'OK\r\n')
    peer.send('AT#SGACT=2,1\rAT#SS\r')
    assert peer.expect(h, 'OK\r\n') == b'\r\n#SGACT: 10.0.0.3\r\n\r\nOK\r\n'
    assert peer.read(h, 2.0) == b''
    assert any(e['event'] == 'atrun_ignored' for e in h.modem.events)


def test_tcpatcmdseq_queues_lines_sent_without_waiting(h, peers):
    assert h.cmd('AT+CGDCONT=2,"IP","apn2"') == ['OK']
    assert h.cmd('AT#TCPATCMDSEQ=1') == ['OK']
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('ATE0\r')
    peer.expect(h, 'OK\r\n')
    peer.send('AT#SGACT=2,1\rAT#SS\r')
    assert peer.expect(h, 'OK\r\n') == b'\r\n#SGACT: 10.0.0.3\r\n\r\nOK\r\n'
    assert peer.expect(h, '#SS: 6,0\r\n\r\nOK\r\n').startswith(b'\r\n#SS: 1,2,')


def test_atrundelay_delays_each_tcpatrun_command(h, peers):
    assert h.cmd('AT#ATRUNDELAY=0,10') == ['OK']
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('AT+CGMR\r')
    skip_quietly(h, 9.5)
    assert peer.read(h, 0) == b'AT+CGMR\r'
    assert peer.expect(h, 'OK\r\n', 1.0) == b'\r\n12.00.026\r\n\r\nOK\r\n'
    # the serial port is not delayed
    assert h.cmd('AT+CGMR') == ['12.00.026', 'OK']


def test_command_running_past_the_timeout_reboots_the_module(peers):
    # AT ref. <timeout>: "If timeout expires the module is rebooted"; here #WSCRIPT waits for
    # data that never comes (its own data timeout set longer than the one minute)
    with make_harness(config={'wscript_timeout_s': 600}) as h:
        port = free_port()
        configure_server(h, port, timeout=1)
        peer = login(h, peers, port)
        peer.send('AT#WSCRIPT="never.py",10\r')
        peer.expect(h, '>>>')
        skip_quietly(h, 59.0)
        assert not any(e['event'] == 'reboot' for e in h.modem.events)
        h.wait_for(lambda: any(e['event'] == 'reboot' for e in h.modem.events), 1.5)
        assert any(e['event'] == 'atrun_command_timeout' for e in h.modem.events)
        assert peer.closed(h)


def test_blocking_command_stops_the_tcpatrun_mechanism(h, peers):
    # §3.8.2 note 6: AT+CFUN=4 (and others) "cause an irreversible block"
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('AT+CFUN=4\r')
    assert peer.expect(h, 'OK\r\n').endswith(b'OK\r\n')
    peer.send('AT+CGMR\r')
    assert peer.read(h, 3.0) == b''
    assert any(e['event'] == 'atrun_blocked' for e in h.modem.events)


# -- client mode (§3.3) -------------------------------------------------------------------------

def test_client_mode_connects_to_the_host_and_serves_it(h, host_listener):
    host_port = host_listener.getsockname()[1]
    # the seed's host address stands for the listener on 127.0.0.1 (loopback only)
    assert h.cmd(f'AT#TCPATRUNCFG=1,2,1024,{host_port},"212.141.125.127",1,5,0,0,2') == ['OK']
    assert h.cmd('AT#TCPATRUND=1')[0] == 'OK'
    host = accept(h, host_listener)
    try:
        h.wait_for(lambda: b'\r\n#TCPATRUN: 212.141.125.127\r\n' in h.rx)
        assert h.cmd('AT#TCPATRUND?') == ['#TCPATRUND: 1,1', 'OK']
        host.send('AT+CGSN\r')
        assert host.expect(h, 'OK\r\n') == b'AT+CGSN\r\r\n350000000000001\r\n\r\nOK\r\n'
        assert any(e['event'] == 'atrun_host_mapped' for e in h.modem.events)
    finally:
        host.close()


def test_client_mode_retries_every_delay(h):
    port = free_port()
    assert h.cmd(f'AT#TCPATRUNCFG=1,2,1024,{port},"127.0.0.1",1,5,0,2,1') == ['OK']
    assert h.cmd('AT#TCPATRUND=1') == ['OK']
    h.wait_for(lambda: h.cmd('AT#TCPATRUND?') == ['#TCPATRUND: 1,2', 'OK'], 3.0)
    dials = lambda: sum(e['event'] == 'atrun_dial' for e in h.modem.events)  # noqa: E731
    assert dials() == 1
    h.advance(59.0)
    assert dials() == 1
    h.advance(2.0)
    assert dials() == 2
    h.advance(61.0)
    assert dials() == 3
    h.wait_for(lambda: h.cmd('AT#TCPATRUND?') == ['#TCPATRUND: 1,0', 'OK'], 3.0)


# -- transparent bridge (§3.5) ------------------------------------------------------------------

def test_tcpatconser_bridges_the_serial_line(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    peer.send('ATE0\r')
    peer.expect(h, 'OK\r\n')
    peer.send('AT#TCPATCONSER=1,115200\r')
    assert peer.expect(h, 'CONNECT\r\n') == b'\r\nCONNECT\r\n'
    h.read(0.1)
    peer.send('to the serial line')
    h.wait_for(lambda: b'to the serial line' in h.rx)
    h.write(b'from the serial line')
    assert peer.expect(h, 'from the serial line') == b'from the serial line'
    h.advance(1.5)
    peer.send('+++')                       # one packet (§3.5), with the guard times
    assert peer.expect(h, 'OK\r\n', 5.0) == b'\r\nOK\r\n'
    h.read()
    assert h.cmd('AT') == ['OK']
    assert b'+++' not in h.rx


def test_tcpatconser_only_on_the_tcpatrun_instance(h):
    assert h.cmd('AT#TCPATCONSER=1,115200') == ['ERROR']


# -- remote script upgrade (§3.9) ---------------------------------------------------------------

def test_remote_script_upgrade_over_tcpatrun(h, peers):
    port = free_port()
    configure_server(h, port)
    peer = login(h, peers, port)
    script = b'import MDM\r\nwhile 1:\r\n    MDM.send("AT\\r", 0)\r\n'
    peer.send(f'at#wscript=ciclo3.py,{len(script)}\r')
    assert peer.expect(h, '>>>').endswith(b'\r\n>>>')
    peer.send(script)
    peer.expect(h, 'OK\r\n')
    peer.send('at#escript=ciclo3.py\r')
    peer.expect(h, 'OK\r\n')
    peer.send('at#reboot\r')
    peer.expect(h, 'OK\r\n')
    assert peer.closed(h)
    h.wait_for(lambda: any(e['event'] == 'script_start' and e['name'] == 'ciclo3.py'
                           for e in h.modem.events), 10.0)
    assert h.cmd('AT#RSCRIPT="ciclo3.py"') == ['<<<import MDM', 'while 1:',
                                               'MDM.send("AT\\r", 0)', 'OK']
