"""Telit variants, PDP contexts, errors and #PING (T-IPE §4, §5, §9, §14; digest A.1, A.5)."""

import pytest

from test_telit_support import make_harness, th  # noqa: F401


@pytest.mark.parametrize('variant, model, platform_id', [
    ('he910', 'HE910', 12), ('le910c1', 'LE910C1-EU', 25), ('me910c1', 'ME910C1-WW', 30)])
def test_cgmr_leads_with_the_platform_version_id(variant, model, platform_id):
    with make_harness(variant, define=()) as h:
        assert h.cmd('AT+CGMM') == [model, 'OK']
        revision = h.cmd('AT+CGMR')[0]
        assert int(revision.split('.')[0]) == platform_id        # digest A.1


def test_unknown_variant_is_refused():
    with pytest.raises(ValueError):
        make_harness('ge910')


# -- +CGDCONT -------------------------------------------------------------------------------

def test_cgdcont_3g_test_set_read_remove():
    with make_harness(define=()) as h:
        assert h.cmd('AT+CGDCONT?') == ['OK']                 # 2G/3G: nothing defined
        assert h.cmd('AT+CGDCONT=?') == [                     # §4.1.3
            '+CGDCONT: (1-5),"IP",,,(0,1),(0,1)', '+CGDCONT: (1-5),"IPV6",,,(0,1),(0,1)',
            '+CGDCONT: (1-5),"IPV4V6",,,(0,1),(0,1)', 'OK']
        assert h.cmd('AT+CGDCONT=1,"IP", "Access_Point_Name"') == ['OK']
        assert h.cmd('AT+CGDCONT=3,"IP","apn","0.0.0.0",0,0') == ['OK']
        assert h.cmd('AT+CGDCONT?') == ['+CGDCONT: 1,"IP","Access_Point_Name","0.0.0.0",0,0',
                                        '+CGDCONT: 3,"IP","apn","0.0.0.0",0,0', 'OK']
        assert h.cmd('AT+CGDCONT=3') == ['OK']                # §4.4: removes cid 3
        assert h.cmd('AT#CGPADDR=?') == ['#CGPADDR: (1)', 'OK']
        assert h.cmd('AT+CGDCONT=6,"IP","apn"') == ['+CME ERROR: incorrect parameters']
        assert h.cmd('AT+CGDCONT=1,"PPP","apn"') == ['+CME ERROR: incorrect parameters']


def test_cgdcont_4g_default_cid1_and_restore():
    with make_harness('le910c1', define=()) as h:
        assert h.cmd('AT+CGDCONT?') == ['+CGDCONT: 1,"IPV4V6","","",0,0,0,0', 'OK']   # §9.2.3.1
        assert h.cmd('AT+CGDCONT=?')[0] == '+CGDCONT: (1-24),"IP",,,(0-2),(0-4),(0-1),(0-1)'
        assert h.cmd('AT+CGDCONT=1,"IP","Access_Point_Name"') == ['OK']    # §5.6
        assert h.cmd('AT+CGDCONT?') == ['+CGDCONT: 1,"IP","Access_Point_Name","",0,0,0,0', 'OK']
        assert h.cmd('AT+CGDCONT=1') == ['OK']
        assert h.cmd('AT+CGDCONT?') == ['+CGDCONT: 1,"IPV4V6","","",0,0,0,0', 'OK']


# -- #SGACT ---------------------------------------------------------------------------------

def test_sgact_2g3g_needs_a_bound_socket():
    with make_harness(define=(3,)) as h:
        # §15.3.1 / GT-26: cid 3 is bound to no socket
        assert h.cmd('AT#SGACT=3,1') == ['+CME ERROR: operation not supported']
        assert h.cmd('AT#SCFG=1,3,300,90,600,50') == ['OK']
        assert h.cmd('AT#SGACT=3,1') == ['#SGACT: 10.0.0.2', 'OK']
        assert h.cmd('AT#SGACT=3,1') == ['+CME ERROR: context already activated']
        assert h.cmd('AT#SGACT=0,1') == ['+CME ERROR: operation not supported']
        assert h.cmd('AT#SGACT=?') == ['#SGACT: (0-5),(0,1)', 'OK']


def test_sgact_takes_its_time():
    with make_harness(config={'activation_s': 3.0}) as h:
        start = h.now()
        assert h.cmd('AT#SGACT=1,1') == ['#SGACT: 10.0.0.2', 'OK']
        assert h.now() - start == pytest.approx(3.0, abs=0.05)


def test_sgact_user_password_syntax_per_platform():
    with make_harness() as h:
        assert h.cmd('AT#SGACT=1,1,"user"') == ['+CME ERROR: incorrect parameters']
        assert h.cmd('AT#SGACT=1,1,"user","pwd"')[-1] == 'OK'
    with make_harness('me910c1', define=()) as h:
        # A.1.1 #5: ID 30/37 accepts <userId> without <pwd>
        assert h.cmd('AT#SGACT=1,1,"user"')[-1] == 'OK'


def test_4g_attach_bearer_gets_an_interface_without_binding():
    with make_harness('le910c1', define=(), config={'ip_pool': ['10.178.0.31', '2.2.2.2']}) as h:
        assert h.cmd('AT+CGACT?') == ['+CGACT: 1,1', 'OK']      # §5.1: active after attach
        assert h.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']      # §12.11.3: no interface
        assert h.cmd('AT#SD=1,0,80,"address",0,0,1') == ['+CME ERROR: context not opened']
        assert h.cmd('AT#SGACT=1,1') == ['#SGACT: 10.178.0.31', 'OK']   # the bearer's address
        assert h.cmd('AT+CGDCONT=5,"IP","apn"') == ['OK']
        assert h.cmd('AT#SGACT=5,1') == ['#SGACT: 2.2.2.2', 'OK']      # no #SCFG binding needed
        assert h.cmd('AT#SGACT=1,0') == ['OK']
        assert h.cmd('AT#SGACT?') == ['#SGACT: 1,0', '#SGACT: 5,1', 'OK']


def test_sgact_deactivation_closes_its_sockets(th, tcp_echo_server):
    assert th.cmd(f'AT#SD=1,0,{tcp_echo_server.port},"address",0,0,1') == ['OK']
    th.advance(0.2)
    assert th.cmd('AT#SGACT=1,0') == ['OK']
    assert th.cmd('AT#SS=1') == ['#SS: 1,0', 'OK']
    th.wait_for(lambda: tcp_echo_server.connections() == 0, 2.0)


def test_cgact_deactivates_too():
    with make_harness(define=(1,)) as h:
        assert h.cmd('AT+CGACT=1,1') == ['OK']
        assert h.cmd('AT+CGACT?') == ['+CGACT: 1,1', 'OK']
        assert h.cmd('AT+CGACT=0,1') == ['OK']
        assert h.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']


def test_detach_drops_contexts(th):
    assert th.cmd('AT+CGATT=0') == ['OK']
    assert th.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']
    assert th.cmd('AT#SGACT=1,1') == ['+CME ERROR: activation failed']
    assert th.cmd('AT+CGATT=1') == ['OK']
    assert th.cmd('AT#SGACT=1,1')[-1] == 'OK'


def test_cgpaddr(th):
    assert th.cmd('AT#CGPADDR=') == ['#CGPADDR: 1,"10.0.0.2"', 'OK']
    assert th.cmd('AT+CGDCONT=2,"IP","apn"') == ['OK']
    assert th.cmd('AT#CGPADDR=1,2') == ['#CGPADDR: 1,"10.0.0.2"', '#CGPADDR: 2,""', 'OK']


def test_sgactcfg_reactivates_after_network_deactivation(th):
    assert th.cmd('AT#SGACTCFG=1,3') == ['OK']                 # §4.2.5.2
    assert th.cmd('AT#SGACTCFG?') == ['#SGACTCFG: 1,3,180,0', 'OK']
    th.modem.pdp_deactivate(1)
    assert th.cmd('AT#SGACT?') == ['#SGACT: 1,0', 'OK']
    th.advance(1.0)
    assert th.cmd('AT#SGACT?') == ['#SGACT: 1,1', 'OK']
    assert th.cmd('AT+CGDCONT=3,"IP","apn"') == ['OK']
    assert th.cmd('AT#SGACTCFG=3,1') == ['+CME ERROR: operation not supported']   # unbound


def test_protocolcfg_only_on_le910c1():
    with make_harness('he910') as h:
        assert h.cmd('AT#PROTOCOLCFG?') == ['ERROR']
    with make_harness('le910c1', define=()) as h:
        assert h.cmd('AT#PROTOCOLCFG=?')[0] == '#PROTOCOLCFG: "FTP",(1-5),(0),(0),(0)'
        assert h.cmd('AT#PROTOCOLCFG="PING",3') == ['OK']
        assert h.cmd('AT#PROTOCOLCFG?')[2] == '#PROTOCOLCFG: "PING",3,0,0,0'
        assert h.cmd('AT#PROTOCOLCFG="HTTP",3') == ['+CME ERROR: incorrect parameters']


# -- error forms (digest A.5, X.1) ----------------------------------------------------------

def test_cmee_forms():
    ips = ['1.1.1.1', '1.1.1.2', '1.1.1.3']
    with make_harness(define=(1, 2, 3, 4), config={'ip_pool': ips}) as h:
        for conn_id, cid in ((1, 1), (2, 2), (3, 3), (4, 4)):
            assert h.cmd(f'AT#SCFG={conn_id},{cid},300,90,600,50') == ['OK']
        for cid in (1, 2, 3):
            assert h.cmd(f'AT#SGACT={cid},1')[-1] == 'OK'
        assert h.cmd('AT#SGACT=4,1') == ['+CME ERROR: activation failed']
        assert h.cmd('AT+CMEE=1') == ['OK']
        assert h.cmd('AT#SGACT=4,1') == ['+CME ERROR: 555']       # [EXTERNAL] X.1
        assert h.cmd('AT+CMEE=0') == ['OK']
        assert h.cmd('AT#SGACT=4,1') == ['ERROR']


def test_mqtt_commands_do_not_exist_on_he910(th):
    assert th.cmd('AT#MQEN?') == ['ERROR']
    assert th.cmd('AT#MQEN=1,1') == ['ERROR']


# -- #PING (§14) ----------------------------------------------------------------------------

def test_ping_loopback_answers(th):
    assert th.cmd('AT#PING="127.0.0.1",2') == ['#PING: 01,"127.0.0.1",1,64',
                                                '#PING: 02,"127.0.0.1",1,64', 'OK']


def test_ping_unreachable_times_out_per_retry(th):
    start = th.now()
    assert th.cmd('AT#PING="192.0.2.1",3,32,10') == ['OK']
    assert th.now() - start == pytest.approx(3.0, abs=0.05)       # 3 x 1 s (<timeout> 10)


def test_ping_errors():
    with make_harness() as h:
        assert h.cmd('AT#PING="127.0.0.1"') == ['ERROR']          # cid 1 not active
    with make_harness(activate=(1,)) as h:
        assert h.cmd('AT#PING="no.such.host"') == ['+CME ERROR: cannot resolve DN']
        assert h.cmd('AT#PING="127.0.0.1",65') == ['+CME ERROR: incorrect parameters']


def test_ping_on_me910c1_takes_the_cid():
    with make_harness('me910c1', define=(2,), activate=(2,)) as h:
        # cid 1 (the default) has the attach bearer but no interface
        assert h.cmd('AT#PING="127.0.0.1",1,32,50,128') == ['+CME ERROR: context not opened']
        assert h.cmd('AT#PING="127.0.0.1",1,32,50,128,2') == ['#PING: 01,"127.0.0.1",1,64',
                                                                 'OK']
