"""Quectel contexts, options and the error register: AT+QICSGP/QIACT/QIDEACT (QL §2.1.1-2.1.3),
AT+QICFG (§2.1.15), AT+QISDE (§2.1.16), AT+QIGETERROR (§2.1.17, §4)."""

import pytest

from harness import Harness
from mktools.sim.quectel.modem import QuectelModem
from mktools.sim.quectel.common import ERRORS
from test_quectel_support import APN_COMMAND, make_harness, open_tcp, peer, qh  # noqa: F401


@pytest.fixture
def h():
    with Harness(QuectelModem, config={'activation_s': 1.0, 'deactivation_s': 0.5}) as harness:
        yield harness


def test_ships_with_echo_on_and_identifies_as_quectel(h):
    h.write('AT\r')
    assert h.read() == b'AT\r\r\nOK\r\n'
    assert h.cmd('ATI') == ['Quectel', 'EC25', 'Revision: EC25EFAR06A06M4G', 'OK']
    assert h.cmd('AT+CGMI') == ['Quectel', 'OK']


# -- AT+QICSGP (QL §2.1.1) -----------------------------------------------------------------

def test_qicsgp_test_query_and_write(h):
    assert h.cmd('AT+QICSGP=?') == [
        '+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3),(0-1)', 'OK']
    assert h.cmd('AT+QICSGP=1') == ['+QICSGP: 1,"","","",0', 'OK']
    assert h.cmd('AT+QICSGP=1,1,"UNINET","user","pw",3,0') == ['OK']
    assert h.cmd('AT+QICSGP=1') == ['+QICSGP: 1,"UNINET","user","pw",3', 'OK']
    assert h.cmd('AT+QICSGP=2,3,"apn2"') == ['OK']
    assert h.cmd('AT+QICSGP=2') == ['+QICSGP: 3,"apn2","","",0', 'OK']


@pytest.mark.parametrize('line', [
    'AT+QICSGP=0,1,"x"',                    # contextID 1-16
    'AT+QICSGP=17',
    'AT+QICSGP=1,4,"x"',                    # context_type 1-3
    'AT+QICSGP=1,1',                        # <context_type> without <APN>
    'AT+QICSGP=1,1,"x","user"',             # <username> without <password>
    'AT+QICSGP=1,1,"x","u","p",4',          # authentication 0-3
    'AT+QICSGP=1,1,"x","u","p",0,2',        # cdma_pwd 0-1
    'AT+QICSGP=1,1,"x","' + 'u' * 128 + '","p"',     # username at most 127 bytes
    'AT+QICSGP?',
])
def test_qicsgp_rejects_bad_forms_with_552(h, line):
    assert h.cmd(line) == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']


# -- AT+QIACT / AT+QIDEACT (QL §2.1.2, §2.1.3) ---------------------------------------------

def test_qiact_takes_activation_time_and_blocks_the_parser(h):
    assert h.cmd(APN_COMMAND) == ['OK']
    h.write('AT+QIACT=1\rAT+QIACT?\r')
    assert h.read(0.9) == b'AT+QIACT=1\r'          # nothing else, not even the next echo
    assert h.read(0.2) == (b'\r\nOK\r\nAT+QIACT?\r\r\n+QIACT: 1,1,1,"10.7.157.1"\r\n'
                           b'\r\nOK\r\n')


def test_qiact_test_and_read_forms(h):
    assert h.cmd('AT+QIACT=?') == ['+QIACT: (1-16)', 'OK']
    assert h.cmd('AT+QIACT?') == ['OK']             # nothing active


def test_qiact_needs_a_configured_context(h):
    assert h.cmd('AT+QIACT=1') == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 573, apn not configured', 'OK']


def test_at_most_three_contexts_active(h):
    for ctx in (1, 2, 3, 4):
        assert h.cmd(f'AT+QICSGP={ctx},1,"apn{ctx}"') == ['OK']
    for ctx in (1, 2, 3):
        assert h.cmd(f'AT+QIACT={ctx}') == ['OK']
    assert h.cmd('AT+QIACT=4') == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 561, open pdp context failed', 'OK']
    assert h.cmd('AT+QIACT?') == ['+QIACT: 1,1,1,"10.7.157.1"', '+QIACT: 2,1,1,"10.7.157.2"',
                                  '+QIACT: 3,1,1,"10.7.157.3"', 'OK']
    assert h.cmd('AT+QIACT=2') == ['ERROR']         # already active


def test_qideact_takes_time_and_frees_the_context(h):
    assert h.cmd(APN_COMMAND) == ['OK']
    assert h.cmd('AT+QIACT=1') == ['OK']
    assert h.cmd('AT+QIDEACT=?') == ['+QIDEACT: (1-16)', 'OK']
    h.write('AT+QIDEACT=1\r')
    assert h.read(0.45) == b'AT+QIDEACT=1\r'
    assert h.read(0.2) == b'\r\nOK\r\n'
    assert h.cmd('AT+QIACT?') == ['OK']
    assert h.cmd('AT+QIACT=1') == ['OK']


def test_qideact_closes_the_contexts_sockets(qh, peer):
    open_tcp(qh, peer.port, cid=3)
    conn = peer.accept()
    assert qh.cmd('AT+QIDEACT=1') == ['OK']
    assert conn.recv(10) == b''                     # the connection was closed
    assert qh.cmd('AT+QISTATE') == ['OK']


# -- AT+QIGETERROR (QL §2.1.17, §4) --------------------------------------------------------

def test_qigeterror_starts_at_zero_and_is_not_cleared_by_itself(h):
    assert h.cmd('AT+QIGETERROR=?') == ['OK']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 0, operation successful', 'OK']
    assert h.cmd('AT+QIRD=5') == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']
    assert h.cmd('AT+CSQ') == ['+CSQ: 20,99', 'OK']      # not a TCP/IP command
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']
    assert h.cmd('AT+QISDE?') == ['+QISDE: 1', 'OK']    # a successful TCP/IP command clears it
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 0, operation successful', 'OK']


@pytest.mark.parametrize('code', sorted(ERRORS))
def test_every_error_code_has_its_lower_case_description(h, code):
    h.modem.last_error = code
    assert h.cmd('AT+QIGETERROR') == [f'+QIGETERROR: {code}, {ERRORS[code].lower()}', 'OK']


def test_error_table_is_the_manuals():
    assert set(ERRORS) == {0} | set(range(550, 575))
    assert ERRORS[552] == 'Invalid parameters' and ERRORS[574] == 'Port busy'


# -- AT+QICFG (QL §2.1.15) -----------------------------------------------------------------

QICFG_TEST = [
    '+QICFG: "transpktsize",(1-1460)',
    '+QICFG: "transwaittm",(0-20)',
    '+QICFG: "dataformat",(0,1),(0,1)',
    '+QICFG: "viewmode",(0,1)',
    '+QICFG: "tcp/retranscfg",(3-20),(5-1000)',
    '+QICFG: "dns/cache",(0,1)',
    '+QICFG: "qisend/timeout",(0-3600)',
    '+QICFG: "passiveclosed",(0,1)',
    '+QICFG: "udp/readmode",(0,1)',
    '+QICFG: "udp/sendmode",(0,1)',
    '+QICFG: "tcp/accept",(0,1)',
    '+QICFG: "tcp/keepalive",(0,1),(1-120),(25-100),(3-10)',
    '+QICFG: "recv/buffersize",(10240-524288)',
    '+QICFG: "recvind",(0,1)',
    'OK',
]


def test_qicfg_test_response_is_verbatim(h):
    assert h.cmd('AT+QICFG=?') == QICFG_TEST


@pytest.mark.parametrize('name, default, written', [
    ('transpktsize', '1024', '1460'),
    ('transwaittm', '2', '0'),
    ('dataformat', '0,0', '1,1'),
    ('viewmode', '0', '1'),
    ('tcp/retranscfg', '12,600', '3,1000'),
    ('dns/cache', '0', '1'),
    ('qisend/timeout', '0', '3600'),
    ('passiveclosed', '0', '1'),
    ('udp/readmode', '0', '1'),
    ('udp/sendmode', '0', '1'),
    ('tcp/accept', '1', '0'),
    ('tcp/keepalive', '0', '1,1,25,3'),
    ('recv/buffersize', '10240', '524288'),
    ('recvind', '0', '1'),
])
def test_qicfg_read_default_write_read_back(h, name, default, written):
    assert h.cmd(f'AT+QICFG="{name}"') == [f'+QICFG: "{name}",{default}', 'OK']
    assert h.cmd(f'AT+QICFG="{name}",{written}') == ['OK']
    assert h.cmd(f'AT+QICFG="{name}"') == [f'+QICFG: "{name}",{written}', 'OK']


@pytest.mark.parametrize('args', [
    '"transpktsize",0', '"transpktsize",1461', '"transwaittm",21', '"dataformat",1',
    '"dataformat",1,2', '"tcp/retranscfg",2,600', '"qisend/timeout",3601',
    '"recv/buffersize",10239', '"recv/buffersize",524289', '"recvind",2', '"nosuch",1',
    '"tcp/keepalive",1,0,25,3', '"tcp/keepalive",1,1,25', '"viewmode",0,0',
])
def test_qicfg_rejects_out_of_range_values(h, args):
    assert h.cmd(f'AT+QICFG={args}') == ['ERROR']
    assert h.cmd('AT+QIGETERROR') == ['+QIGETERROR: 552, invalid parameters', 'OK']


def test_qicfg_keepalive_enable_alone_keeps_its_timing(h):
    assert h.cmd('AT+QICFG="tcp/keepalive",1,10,30,5') == ['OK']
    assert h.cmd('AT+QICFG="tcp/keepalive",0') == ['OK']
    assert h.cmd('AT+QICFG="tcp/keepalive"') == ['+QICFG: "tcp/keepalive",0', 'OK']
    assert h.cmd('AT+QICFG="tcp/keepalive",1') == ['OK']
    assert h.cmd('AT+QICFG="tcp/keepalive"') == ['+QICFG: "tcp/keepalive",1,10,30,5', 'OK']


def test_rx_buffer_config_sets_the_buffersize_default():
    with make_harness({'rx_buffer': 20000}) as h:
        assert h.cmd('AT+QICFG="recv/buffersize"') == ['+QICFG: "recv/buffersize",20000', 'OK']


# -- AT+QISDE (QL §2.1.16) -----------------------------------------------------------------

def test_qisde_forms(h):
    assert h.cmd('AT+QISDE=?') == ['+QISDE: (0,1)', 'OK']
    assert h.cmd('AT+QISDE?') == ['+QISDE: 1', 'OK']
    assert h.cmd('AT+QISDE=0') == ['OK']
    assert h.cmd('AT+QISDE?') == ['+QISDE: 0', 'OK']
    assert h.cmd('AT+QISDE=2') == ['ERROR']
