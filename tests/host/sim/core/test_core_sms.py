"""The 27.005 SMS store of the emulator core, on every dialect: text and PDU mode, +CMTI,
+CMGR/+CMGL/+CMGD, +CMGS with the prompt (Ctrl-Z sends, ESC cancels), +CMS ERROR codes, the
store full, and the T-RUN s2.3 examples."""

import pytest

from harness import Harness
from modemkit import smspdu
from mktools.sim.quectel.modem import QuectelModem
from mktools.sim.telit.modem import TelitModem
from mktools.sim.wavecom.modem import WavecomModem

MOBILE = '+393468686711'
# T-RUN s2.3: the digest request the mobile sends (a 52-octet TPDU; the seed writes AT+CMGS=53)
TRUN_REQUEST = ('079193432900200011000C919343868676110015AD26D0D0D000110157696A437032715633734E'
                '762B61727532305A5561773D3D41542B434F50533F')
MODEMS = {'quectel': (QuectelModem, {}), 'telit': (TelitModem, {'variant': 'he910'}),
          'wavecom': (WavecomModem, {'variant': 'multitech'})}


@pytest.fixture(params=sorted(MODEMS))
def h(request):
    cls, config = MODEMS[request.param]
    with Harness(cls, config=dict(config, sms_echo='+15550000')) as harness:
        harness.advance(3.0)
        harness.cmd('ATE0')
        assert harness.cmd('AT+CMEE=1') == ['OK']
        yield harness


def test_text_mode_read_list_delete(h):
    assert h.cmd('AT+CMGF=1') == ['OK']
    assert h.modem.deliver_sms('+39346123456', 'Hello [world]',
                               timestamp=(8, 5, 28, 11, 4, 37, 8)) == [1]
    assert h.expect_urc('+CMTI: "SM",1')
    # T-RUN s2.3: +CMGR: "REC UNREAD","+39346XYWZ","","08/05/28,11:04:37+08"
    assert h.cmd('AT+CMGR=1') == ['+CMGR: "REC UNREAD","+39346123456","","08/05/28,11:04:37+08"',
                                  'Hello [world]', 'OK']
    assert h.cmd('AT+CMGR=1')[0].startswith('+CMGR: "REC READ"')
    h.modem.deliver_sms('+39346123457', 'second')
    lines = h.cmd('AT+CMGL')                                    # default "REC UNREAD"
    assert lines[0].startswith('+CMGL: 2,"REC UNREAD","+39346123457"') and len(lines) == 3
    lines = h.cmd('AT+CMGL=all')                                # T-RUN s2.4 writes it so
    assert [l.split(',')[0] for l in lines if l.startswith('+CMGL')] == ['+CMGL: 1', '+CMGL: 2']
    assert h.cmd('AT+CMGL="REC UNREAD"') == ['OK']
    assert h.cmd('AT+CMGD=1') == ['OK']
    assert h.cmd('AT+CMGR=1') == ['+CMS ERROR: 321']
    assert h.cmd('AT+CMGD=1,4') == ['OK']
    assert h.cmd('AT+CPMS?') == ['+CPMS: "SM",0,20,"SM",0,20,"SM",0,20', 'OK']


def test_pdu_mode_read_and_list(h):
    assert h.cmd('AT+CMGF?') == ['+CMGF: 0', 'OK']
    h.modem.deliver_sms(MOBILE, data=b'\x01\x02\xff')
    h.expect_urc('+CMTI: "SM",1')
    head, pdu, ok = h.cmd('AT+CMGR=1')
    p = smspdu.parse(smspdu.from_hex(pdu))
    assert head == f'+CMGR: 0,"",{smspdu.tpdu_length(smspdu.from_hex(pdu))}' and ok == 'OK'
    assert (p.number, p.text(), p.smsc) == (MOBILE, b'\x01\x02\xff', '+393492000200')
    assert h.cmd('AT+CMGL=0') == ['OK']
    assert h.cmd('AT+CMGL=4')[0].startswith('+CMGL: 1,1,"",')
    assert h.cmd('AT+CMGL="ALL"') == ['+CMS ERROR: 304']      # text-mode values in PDU mode


def test_long_ucs2_arrives_in_concatenated_parts(h):
    text = '\u4f60\u597d' * 40          # 80 UCS-2 characters: two parts of 67 + 13
    assert h.modem.deliver_sms(MOBILE, text) == [1, 2]
    parts = []
    for index in (1, 2):
        pdu = h.cmd(f'AT+CMGR={index}')[1]
        parts.append(smspdu.parse(smspdu.from_hex(pdu)))
    assert [p.concat()[1:] for p in parts] == [(2, 1), (2, 2)]
    assert ''.join(p.text() for p in parts) == text


def test_cmgs_pdu_mode_prompt_send_and_echo(h):
    ud, udl = smspdu.user_data(b'\x00\x01data', smspdu.DATA8)
    pdu = smspdu.submit('+15550000', ud, udl, dcs=0x04)
    n = smspdu.tpdu_length(pdu)
    assert h.cmd(f'AT+CMGS={n}') == ['>']
    h.write(smspdu.to_hex(pdu) + '\x1a')
    h.wait_for(lambda: b'OK' in h.rx[h.mark:], 5)
    assert h.modem.sms_out[-1]['to'] == '+15550000'
    assert h.modem.sms_out[-1]['user_data'] == b'\x00\x01data'
    h.expect_urc('+CMTI: "SM",1')            # the echo number sends it back
    echoed = smspdu.parse(smspdu.from_hex(h.cmd('AT+CMGR=1')[1]))
    assert echoed.kind == smspdu.DELIVER and echoed.text() == b'\x00\x01data'


def test_cmgs_text_mode_and_esc(h):
    h.cmd('AT+CMGF=1')
    assert h.cmd('AT+CMGS="+393331234567"') == ['>']
    h.write('abc\x1b')
    h.wait_for(lambda: b'OK' in h.rx[h.mark:], 5)
    assert list(h.modem.sms_out) == []
    assert h.cmd('AT+CMGS="+393331234567"') == ['>']
    h.mark = len(h.rx)
    h.write('Hi \u00e9\x1a')                      # IRA / Latin-1 bytes, +CSCS "GSM"
    h.wait_for(lambda: b'OK\r\n' in h.rx[h.mark:], 5)
    assert h.read().split()[0].startswith(b'+CMGS:')
    assert h.modem.sms_out[-1]['user_data'] == 'Hi \u00e9'
    assert h.modem.sms_out[-1]['dcs'] == 0


def test_trun_request_length(h):
    """T-RUN s2.3 sends its 52-octet request with AT+CMGS=53 [SEED-ISSUE]: 27.005 counts the
    TPDU octets, so 53 is refused and 52 is sent."""
    assert h.cmd('AT+CMGS=53') == ['>']
    h.mark = len(h.rx)
    h.write(TRUN_REQUEST + '\x1a')
    h.wait_for(lambda: b'ERROR' in h.rx[h.mark:], 5)
    assert b'+CMS ERROR: 304' in h.read()
    assert h.cmd('AT+CMGS=52') == ['>']
    h.mark = len(h.rx)
    h.write(TRUN_REQUEST + '\x1a')
    h.wait_for(lambda: b'OK' in h.rx[h.mark:], 5)
    assert h.modem.sms_out[-1]['to'] == '+393468686711'


def test_errors(h):
    assert h.cmd('AT+CMGR=0') == ['+CMS ERROR: 321']
    assert h.cmd('AT+CMGR=21') == ['+CMS ERROR: 321']
    assert h.cmd('AT+CNMI=2,2') == ['+CMS ERROR: 303']
    assert h.cmd('AT+CMEE=2') == ['OK']
    assert h.cmd('AT+CMGR=5') == ['+CMS ERROR: invalid memory index']
    assert h.cmd('AT+CMEE=0') == ['OK']
    assert h.cmd('AT+CMGR=5') == ['ERROR']
    h.cmd('AT+CMEE=1')
    h.modem.set_registration(0)
    pdu = smspdu.submit('+15550000', b'A', 1, dcs=4)
    assert h.cmd(f'AT+CMGS={smspdu.tpdu_length(pdu)}') == ['>']
    h.mark = len(h.rx)
    h.write(smspdu.to_hex(pdu) + '\x1a')
    h.wait_for(lambda: b'ERROR' in h.rx[h.mark:], 5)
    assert b'+CMS ERROR: 331' in h.read()


def test_store_full_waits_at_the_centre_and_cmgw_refuses(h):
    h.cmd('AT+CNMI=2,0')
    for i in range(20):
        h.modem.deliver_sms(MOBILE, f'm{i}')
    assert h.modem.deliver_sms(MOBILE, 'late') == [None]
    assert h.cmd('AT+CMGW=10') == ['+CMS ERROR: 322']
    h.cmd('AT+CMGF=1')
    h.cmd('AT+CNMI=2,1')
    assert h.cmd('AT+CMGD=3') == ['OK', '+CMTI: "SM",3']     # it arrives now
    assert h.cmd('AT+CMGR=3')[1] == 'late'


def test_cnmi_mode_0_keeps_indications_until_mode_2(h):
    h.cmd('AT+CNMI=0,1')
    h.modem.deliver_sms(MOBILE, 'a')
    h.advance(0.5)
    assert b'+CMTI' not in h.read()
    assert h.cmd('AT+CNMI=2,1') == ['OK', '+CMTI: "SM",1']      # <bfr> 0: flushed


def test_telit_smsatrun_consumes_its_sms_and_stores_the_others():
    with Harness(TelitModem, config={'variant': 'he910', 'operator': 'vodafone IT'}) as h:
        h.advance(3.0)
        h.cmd('ATE0')
        for line in ('AT#SMSATRUNCFG=3,1,2', 'AT#SMSATRUN=1', f'AT#SMSATWL=0,1,0,"{MOBILE}"'):
            assert h.cmd(line) == ['OK']
        assert h.modem.deliver_sms(MOBILE, 'AT+COPS?') == [None]     # run, never stored
        h.wait_for(lambda: len(h.modem.sms_out) == 1, 10)
        assert '+COPS: 0,0,"vodafone IT"' in h.modem.sms_out[0]['user_data'].decode()
        assert h.modem.inject_sms('+393330000000', 'AT+CGMR') is False   # not white-listed
        assert h.modem.deliver_sms(MOBILE, 'just a text') == [2]
        h.cmd('AT+CMGF=1')
        assert h.cmd('AT+CMGR=1')[1] == 'AT+CGMR'
        assert h.cmd('AT+CMGR=2')[1] == 'just a text'


def test_cmgw_then_cmss_sends_from_the_store(h):
    """27.005 s3.5.3/s3.5.2: a message written to the store (STO UNSENT) is sent by AT+CMSS,
    to another number when one is given; it stays stored as STO SENT. A received message
    cannot be sent (302), an empty slot is 321."""
    pdu = smspdu.submit('+393331234567', smspdu.pack7(bytearray(b'later')), 5)
    assert h.cmd(f'AT+CMGW={smspdu.tpdu_length(pdu)}') == ['>']
    h.write(smspdu.to_hex(pdu) + '\x1a')
    h.wait_for(lambda: b'OK' in h.rx[h.mark:], 5)
    assert h.read().split()[0] == b'+CMGW:'
    assert h.cmd('AT+CMSS=1')[0].startswith('+CMSS: ')
    assert h.cmd('AT+CMSS=1,"+15550000"')[0].startswith('+CMSS: ')
    assert [(e['to'], e['user_data']) for e in h.modem.sms_out] == \
        [('+393331234567', 'later'), ('+15550000', 'later')]
    h.expect_urc('+CMTI: "SM",2')            # the echo number sends the second back
    assert h.cmd('AT+CMSS=2') == ['+CMS ERROR: 302']
    assert h.cmd('AT+CMSS=3') == ['+CMS ERROR: 321']
    h.cmd('AT+CMGF=1')
    assert h.cmd('AT+CMGL="STO SENT"')[0].startswith('+CMGL: 1,"STO SENT"')
