"""The dialect-independent DCE (`mktools.sim.core.modem.Modem`), per docs/emulator.md and V.250."""

import pytest

from harness import Harness
from mktools.sim.core.modem import PENDING, BadArg, Modem, Quoted


class LabModem(Modem):
    """A test-only dialect exercising the data-phase and online-mode hooks."""

    COMMANDS = {'+SEND': 'send_cmd', '+SLOW': 'slow', '+DIAL': 'dial', '+ARGS': 'args_cmd',
                '+RAW': 'raw'}

    def reset(self):
        super().reset()
        self.sent = []
        self.peer = bytearray()
        self.raw_in = bytearray()

    def send_cmd(self, op, args):
        size = self.arg_int(args, 0, 1, 100, default=None) if op == 'set' else None

        def on_data(data):
            if data is None:
                return 'ERROR'
            self.sent.append(data)
            return 'SEND OK'
        return self.prompt(b'> ', on_data, size=size, timeout_s=5.0)

    def slow(self, op, args):
        self.later(2.0, self.finish, 'OK')
        return PENDING

    def dial(self, op, args):
        self.go_online(self.peer.extend, lambda: 'OK')
        return 'CONNECT'

    def args_cmd(self, op, args):
        self.arg_str(args, 0, maxlen=3)
        self.line(repr([(type(a).__name__, a) for a in args]))
        return 'OK'

    def raw(self, op, args):
        def take(data):
            end = data.find(b'!')
            if end < 0:
                self.raw_in.extend(data)
                return None
            self.raw_in.extend(data[:end])
            self.release_input('DONE')
            return data[end + 1:]
        self.take_input(take)
        return 'OK'


@pytest.fixture
def h():
    with Harness(LabModem) as harness:
        yield harness


def test_at_ok_with_echo(h):
    h.write('AT\r')
    assert h.read() == b'AT\r\r\nOK\r\n'


def test_lowercase_and_spacing(h):
    # Telit GT-3: spaces around '=' and ',' are tolerated
    assert h.cmd('at+cmee = 2 ; +creg = 1') == ['OK']
    assert h.cmd('AT+CMEE?') == ['+CMEE: 2', 'OK']
    assert h.cmd('AT+CREG?') == ['+CREG: 1,1', 'OK']


def test_basic_chain_then_numeric_results(h):
    h.write('ATE0V0\r')
    assert h.read() == b'ATE0V0\r0\r'          # echo was still on when the line was typed
    h.write('AT\r')
    assert h.read() == b'0\r'
    h.write('AT+NOPE\r')
    assert h.read() == b'4\r'
    h.write('ATI\r')
    assert h.read() == b'Generic\r\nSIM\r\nRevision: 1.0\r\n0\r'


def test_information_commands(h):
    assert h.cmd('ATI') == ['Generic', 'SIM', 'Revision: 1.0', 'OK']
    assert h.cmd('AT+CGMI;+CGMM;+CGMR;+CGSN') == [
        'Generic', 'SIM', '1.0', '350000000000001', 'OK']
    assert h.cmd('AT+CSQ') == ['+CSQ: 20,99', 'OK']
    assert h.cmd('AT+CPIN?') == ['+CPIN: READY', 'OK']
    assert h.cmd('AT+COPS?') == ['+COPS: 0,0,"Emulated",7', 'OK']
    assert h.cmd('AT+CGATT?;+CFUN?') == ['+CGATT: 1', '+CFUN: 1', 'OK']


def test_unknown_command_and_chain_stops_at_first_failure(h):
    assert h.cmd('AT+NOPE') == ['ERROR']
    assert h.cmd('AT+CMEE=1;+NOPE;+CMEE=2') == ['ERROR']
    assert h.cmd('AT+CMEE?') == ['+CMEE: 1', 'OK']


def test_line_without_at_is_ignored(h):
    h.write('hello\r')
    assert h.read() == b'hello\r'
    assert h.modem.events[-1]['event'] == 'ignored_line'


def test_backspace_edits_the_line(h):
    h.write('ATX\x08\r')
    assert h.read().endswith(b'\r\nOK\r\n')


def test_cmee_forms(h):
    assert h.cmd('AT+CFUN=7') == ['ERROR']
    assert h.cmd('AT+CMEE=1;+CFUN=7') == ['+CME ERROR: 50']
    assert h.cmd('AT+CMEE=2;+CFUN=7') == ['+CME ERROR: incorrect parameters']
    assert h.cmd('AT+CMEE=3') == ['+CME ERROR: incorrect parameters']


def test_arguments_quoted_unquoted_empty(h):
    lines = h.cmd('AT+ARGS="ab",  7 ,,"x,y"')
    assert lines[0] == "[('Quoted', 'ab'), ('str', '7'), ('NoneType', None), ('Quoted', 'x,y')]"
    assert lines[1] == 'OK'
    assert h.cmd('AT+ARGS="abcd"') == ['ERROR']       # BadArg -> cme(50) with +CMEE=0


def test_arg_helpers():
    assert Modem.arg_int(['"5"'.strip('"')], 0, 0, 9) == 5
    assert Modem.arg_int([None], 0, default=3) == 3
    assert Modem.arg_int([], 2, default=None) is None
    with pytest.raises(BadArg):
        Modem.arg_int(['x'], 0)
    with pytest.raises(BadArg):
        Modem.arg_int(['10'], 0, 0, 9)
    with pytest.raises(BadArg):
        Modem.arg_int([], 0)
    assert Modem.arg_str([Quoted('abc')], 0, 3) == 'abc'
    with pytest.raises(BadArg):
        Modem.arg_str(['abcd'], 0, 3)


def test_input_is_held_while_a_command_is_pending(h):
    h.write('AT+SLOW\rAT+CSQ\r')
    assert h.read(1.0) == b'AT+SLOW\r'               # nothing else until the final result
    assert h.read(1.5) == b'\r\nOK\r\nAT+CSQ\r\r\n+CSQ: 20,99\r\n\r\nOK\r\n'


def test_turnaround_delays_the_final_result():
    with Harness(Modem, config={'turnaround_s': 0.3}) as h:
        h.write('ATE0\r')
        assert h.read(0.29) == b'ATE0\r'
        assert h.read(0.02) == b'\r\nOK\r\n'


def test_urc_now_in_command_mode_held_during_command(h):
    h.modem.urc('+EV: 1')
    assert h.read() == b'\r\n+EV: 1\r\n'
    h.write('AT+SLOW\r')
    h.modem.urc('+EV: 2')
    assert h.read(1.0) == b'AT+SLOW\r'
    assert h.read(1.5) == b'\r\nOK\r\n\r\n+EV: 2\r\n'


def test_prompt_ctrl_z(h):
    assert h.cmd('AT+SEND') == ['>']
    h.write(b'hello\x1a')
    assert h.read() == b'\r\nSEND OK\r\n'            # no echo of the data
    assert h.modem.sent == [b'hello']


def test_prompt_escape_cancels(h):
    h.cmd('AT+SEND')
    h.write(b'abc\x1b')
    assert h.read() == b'\r\nERROR\r\n'
    assert h.modem.sent == []


def test_prompt_fixed_size_takes_ctrl_z_as_data(h):
    h.write(b'AT+SEND=3\r\x1a\x1bxAT\r')              # the data may follow at once
    assert h.read() == b'AT+SEND=3\r> \r\nSEND OK\r\nAT\r\r\nOK\r\n'
    assert h.modem.sent == [b'\x1a\x1bx']


def test_prompt_timeout(h):
    h.cmd('AT+SEND')
    h.write(b'ab')
    assert h.read(4.9) == b''
    assert h.read(0.2) == b'\r\nERROR\r\n'
    assert h.modem.events[-1]['event'] == 'prompt_timeout'


def test_online_mode_and_guarded_escape():
    with Harness(LabModem, config={'guard_s': 1.0}) as h:
        assert h.cmd('AT+DIAL') == ['CONNECT']
        h.modem.urc('+EV: held')
        h.write(b'data+++')                          # no guard before: plain data
        h.advance(1.1)
        h.write(b'+++')
        assert h.read(0.5) == b''                   # the guard time after has not passed yet
        assert h.read(0.6) == b'\r\nOK\r\n\r\n+EV: held\r\n'
        assert bytes(h.modem.peer) == b'data+++'     # the escape itself is not forwarded
        assert h.modem.mode == 'command'
        assert h.cmd('AT') == ['OK']


def test_escape_broken_by_a_late_byte_is_data():
    with Harness(LabModem) as h:
        h.cmd('AT+DIAL')
        h.advance(1.5)
        h.write(b'++')
        h.advance(0.5)
        h.write(b'+x')                              # a byte inside the after-guard
        h.advance(2.0)
        assert h.modem.mode == 'online'
        assert bytes(h.modem.peer) == b'+++x'


def test_escape_pluses_too_slow_go_to_the_peer():
    with Harness(LabModem) as h:
        h.cmd('AT+DIAL')
        h.advance(1.5)
        h.write(b'+')
        h.advance(1.5)                              # second '+' never comes within the guard
        assert bytes(h.modem.peer) == b'+'
        assert h.modem.mode == 'online'


def test_online_peer_data_and_no_carrier(h):
    h.cmd('AT+DIAL')
    h.modem.to_dte(b'from peer')
    assert h.read() == b'from peer'
    h.modem.go_command()
    assert h.read() == b'\r\nNO CARRIER\r\n'
    assert h.cmd('AT') == ['OK']


def test_take_input_until_released(h):
    h.write(b'AT+RAW\rabc!AT\r')
    assert h.read() == b'AT+RAW\r\r\nOK\r\n\r\nDONE\r\nAT\r\r\nOK\r\n'
    assert bytes(h.modem.raw_in) == b'abc'


def test_s12_sets_the_guard_time(h):
    assert h.cmd('ATS12?') == ['050', 'OK']
    assert h.cmd('ATS12=10') == ['OK']
    assert h.modem.guard_s == 0.2


def test_quiet_suppresses_results(h):
    h.write('ATQ1\r')
    assert h.read() == b'ATQ1\r'
    h.write('ATQ0\r')
    assert h.read() == b'ATQ0\r\r\nOK\r\n'


def test_registration_urcs_follow_cfun(h):
    assert h.cmd('AT+CREG=1;+CEREG=2') == ['OK']
    # URCs generated while the line ran come right after its final result
    assert h.cmd('AT+CFUN=4') == ['OK', '+CREG: 0', '+CEREG: 0']
    h.write('AT+CFUN=1\r')
    assert h.lines() == ['AT+CFUN=1', 'OK', '+CREG: 1', '+CEREG: 1,"0001","00000001"']


def test_reboot_drops_input_then_comes_back():
    class Booting(LabModem):
        STARTUP_URCS = ('RDY',)

    with Harness(Booting) as h:
        h.cmd('AT+CMEE=2;E0')
        h.modem.reboot(delay_s=1.0)
        h.write('AT\r')
        assert h.read(0.9) == b''
        assert h.read(0.2) == b'\r\nRDY\r\n'
        assert h.modem.cmee == 0 and h.modem.echo
        assert [e['event'] for e in h.modem.events][-2:] == ['reboot', 'input_lost']


def test_cfun_reset_reboots(h):
    assert h.cmd('AT+CFUN=1,1') == ['OK']
    h.advance(0.01)
    assert h.modem.mode == 'off'
    h.advance(2.0)
    assert h.modem.mode == 'command'


def test_peer_data_waits_for_connect_during_turnaround():
    with Harness(LabModem, config={'turnaround_s': 0.2}) as h:
        h.write('AT+DIAL\r')
        h.modem.to_dte(b'early')
        assert h.read(0.1) == b'AT+DIAL\r'
        assert h.read(0.2) == b'\r\nCONNECT\r\nearly'


def test_escape_forwarded_when_the_dialect_says_so():
    class Forwarding(LabModem):
        ESCAPE_TO_PEER = True               # Telit: the echo server got the +++ back (§8.7)

    with Harness(Forwarding) as h:
        h.cmd('AT+DIAL')
        h.advance(1.5)
        h.write(b'+++')
        h.advance(1.5)
        assert h.modem.mode == 'command'
        assert bytes(h.modem.peer) == b'+++'


def test_numeric_urc_with_v0(h):
    h.cmd('ATV0')
    h.modem.urc('RING')
    h.modem.urc('+EV: 3')
    assert h.read() == b'2\r+EV: 3\r\n'


def test_overlong_line_is_an_error(h):
    h.write('AT' + 'E' * 2000 + '\r')
    assert h.read().endswith(b'\r\nERROR\r\n')
    assert h.modem.events[-1]['event'] == 'parse_error'


def test_reboot_cancels_pending_work(h):
    h.write('AT+SLOW\r')
    h.modem.reboot(delay_s=0.5)
    h.read(0.0)
    assert h.read(3.0) == b''                 # no OK from the command the reboot killed
    h.modem.finish('OK')
    assert h.modem.events[-1]['event'] == 'stray_finish'


def test_prompt_echo_as_typed():
    class Echoing(LabModem):
        def send_cmd(self, op, args):
            return self.prompt(b'> ', lambda data: 'SEND OK', size=4, echo=True)

    with Harness(Echoing) as h:
        h.cmd('AT+SEND')
        h.write(b'ab')
        assert h.read() == b'ab'
        h.write(b'cdAT\r')
        assert h.read() == b'cd\r\nSEND OK\r\nAT\r\r\nOK\r\n'
