"""SMSATRUN digest user data and PDUs against the worked example of T-RUN s2.3 (digest A.8.2)."""
import binascii

from mktest import raises
from modemkit import smsdigest

PWD = '1234567890123456'
REQUEST_PDU = ('079193432900200011000C919343868676110015AD26D0D0D000110157696A437032715633734E76'
               '2B61727532305A5561773D3D41542B434F50533F')
RESPONSE_PDU = ('0791934329002000040C9193438686761100158050922102818040D1D1D10011014A756E7261377'
                '2306B494563483971563534326E33513D3D0D0A2B434F50533A20302C302C22766F6461666F6E6'
                '5204954220D0A0D0A4F4B0D0A')
RESPONSE_TEXT = b'\r\n+COPS: 0,0,"vodafone IT"\r\n\r\nOK\r\n'
SMSC, MOBILE = '+393492000200', '+393468686711'


def test_request_digest_matches_table_1():
    assert smsdigest.digest(PWD, 'AT+COPS?') == binascii.unhexlify(
        '57696A437032715633734E762B61727532305A5561773D3D')


def test_response_digest_covers_the_crlf_framed_text():
    assert smsdigest.digest(PWD, RESPONSE_TEXT) == binascii.unhexlify(
        '4A756E72613772306B494563483971563534326E33513D3D')


def test_build_request_reproduces_the_example_pdu_byte_for_byte():
    user_data = smsdigest.build_request(PWD, 'AT+COPS?', transaction=0, session=1)
    assert smsdigest.submit_pdu(SMSC, MOBILE, user_data) == REQUEST_PDU


def test_build_response_reproduces_the_example_pdu_byte_for_byte():
    [user_data] = smsdigest.build_response(PWD, RESPONSE_TEXT, transaction=0, session=1)
    pdu = smsdigest.deliver_pdu(SMSC, MOBILE, (8, 5, 29, 12, 20, 18, 8), user_data)
    assert pdu == RESPONSE_PDU
    assert smsdigest.tpdu_length(pdu) == 83       # the example's +CMGR: 0,"",83


def test_request_tpdu_is_52_octets():
    # digest A.8.2: the example's AT+CMGS=53 is one more than the TPDU actually holds
    assert smsdigest.tpdu_length(REQUEST_PDU) == 52


def test_parse_request_from_the_example_pdu():
    pdu = smsdigest.parse_submit_pdu(REQUEST_PDU)
    assert (pdu.smsc, pdu.destination, pdu.dcs) == (SMSC, MOBILE, 0x15)
    sms = smsdigest.parse_request(pdu.user_data, ['wrongpassword123', PWD])
    assert sms == smsdigest.DigestSms(b'AT+COPS?', b'1234567890123456', 0, 1, 1, 1)


def test_parse_response_from_the_example_pdu():
    pdu = smsdigest.parse_deliver_pdu(RESPONSE_PDU)
    assert pdu.timestamp == (8, 5, 29, 12, 20, 18, 8)
    assert smsdigest.parse_response(pdu.user_data, [PWD]).text == RESPONSE_TEXT


def test_wrong_password_is_rejected():
    user_data = smsdigest.build_request(PWD, 'AT+CGMR')
    raises(smsdigest.DigestError, smsdigest.parse_request, user_data, ['6543210987654321'])


def test_tampered_text_is_rejected():
    user_data = smsdigest.build_request(PWD, 'AT+CGMR')
    raises(smsdigest.DigestError, smsdigest.parse_request, user_data[:-1] + b'I', [PWD])


def test_concatenated_request_is_rejected():
    # s2.1: "The received SMS hasn't to be concatenated"
    user_data = bytearray(smsdigest.build_request(PWD, 'AT+CGMR'))
    user_data[4] = 0x12
    raises(smsdigest.DigestError, smsdigest.parse_request, bytes(user_data), [PWD])


def test_long_response_is_split_with_a_digest_per_segment():
    text = bytes(bytearray(range(32, 127))) * 3                                # 285 bytes
    parts = smsdigest.build_response(PWD, text, session=7)
    assert [len(p) for p in parts] == [140, 140, 30 + 285 - 220]
    decoded = [smsdigest.parse_response(p, [PWD]) for p in parts]
    assert [(d.segment, d.segments, d.session) for d in decoded] == [
        (1, 3, 7), (2, 3, 7), (3, 3, 7)]
    assert b''.join(d.text for d in decoded) == text


def test_response_is_truncated_at_15_segments():
    # s2.5.2 note 9: at most 15 concatenated SMS
    parts = smsdigest.build_response(PWD, b'x' * 2000)
    assert len(parts) == 15
    assert [bytearray(p)[4] & 0x0F for p in parts] == [15] * 15


def test_run_text_prefixes():
    assert smsdigest.run_text(b'AT+CGMR;+CGSN') == (True, b'AT+CGMR;+CGSN')
    assert smsdigest.run_text(b'HAT+COPS?') == (False, b'AT+COPS?')
    assert smsdigest.run_text(b'at+cgmr') == (True, b'at+cgmr')
    assert smsdigest.run_text(b'hello') is None


def test_dcs_alphabets():
    assert smsdigest.dcs_alphabet(0x00) == 'gsm7'
    assert smsdigest.dcs_alphabet(0x15) == '8bit'
    assert smsdigest.dcs_alphabet(0xF4) == '8bit'
    assert smsdigest.dcs_alphabet(0x08) == 'ucs2'


def test_deliver_timestamp_with_a_negative_time_zone_round_trips():
    pdu = smsdigest.deliver_pdu('', MOBILE, (24, 1, 2, 3, 4, 5, -12), b'\x01\x02')
    parsed = smsdigest.parse_deliver_pdu(pdu)
    assert (parsed.smsc, parsed.timestamp, parsed.user_data) == ('', (24, 1, 2, 3, 4, 5, -12),
                                                                  b'\x01\x02')


def test_only_8bit_pdus_and_known_alphabets():
    raises(ValueError, smsdigest.submit_pdu, SMSC, MOBILE, b'AT', 0x00)
    raises(ValueError, smsdigest.dcs_alphabet, 0x0C)                # reserved alphabet


def test_garbage_pdus_are_value_errors():
    raises(ValueError, smsdigest.parse_submit_pdu, 'ZZZZ')
    raises(ValueError, smsdigest.parse_submit_pdu, REQUEST_PDU[:40])
    raises(ValueError, smsdigest.parse_deliver_pdu, RESPONSE_PDU[:30])
    raises(ValueError, smsdigest.parse_deliver_pdu, REQUEST_PDU)    # a SUBMIT is no DELIVER


def test_tpdu_length_of_a_cut_pdu_is_a_value_error():
    # found by fuzzing (tests/host/fuzz): an empty PDU raised IndexError, and an SMSC length
    # past the end gave a negative length
    for pdu in ('', '07', '0791'):
        raises(ValueError, smsdigest.tpdu_length, pdu)
    assert smsdigest.tpdu_length('0011000C91') == 4
