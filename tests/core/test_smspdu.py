"""The SMS codec (gsm7, smspdu): published vectors, the T-RUN s2.3 PDUs byte for byte, round
trips of each alphabet and of concatenated parts. Portable: CPython, MicroPython, 2.7."""
from mktest import raises
from modemkit import gsm7, smspdu
from modemkit.smspdu import DATA8, GSM7, UCS2


def u(text):
    """Text from a literal with \\u escapes: 2.7 keeps them in a byte str (no unicode_literals on
    MicroPython)."""
    return text.decode('unicode_escape') if isinstance(text, bytes) else text

# 3GPP TS 23.038 s6.1.2.1 packing, the classic "hellohello" example
HELLO_PACKED = bytearray(b'\xe8\x32\x9b\xfd\x46\x97\xd9\xec\x37')
# SMS-DELIVER from +31641600986, "How are you?", 02/08/26 19:37:41 +02:00 (SMSC +31624000000):
# the widely copied example, with its time zone octet as 23.040 s9.2.3.11 writes +8 quarters
# (0x80; the copies have 0x08, which reads as -0 with the sign bit set)
DELIVER_HEX = '07911326040000F0040B911346610089F60000208062917314800CC8F71D14969741F977FD07'
# T-RUN s2.3 request (the seed's AT+CMGS=53 is one more than its 52-octet TPDU)
TRUN_REQUEST = ('079193432900200011000C919343868676110015AD26D0D0D000110157696A437032715633734E'
                '762B61727532305A5561773D3D41542B434F50533F')
TRUN_RESPONSE = ('0791934329002000040C9193438686761100158050922102818040D1D1D10011014A756E7261377'
                 '2306B494563483971563534326E33513D3D0D0A2B434F50533A20302C302C22766F6461666F6E6'
                 '5204954220D0A0D0A4F4B0D0A')


def test_pack_hellohello():
    septets = gsm7.encode('hellohello')
    assert smspdu.pack7(septets) == HELLO_PACKED
    assert smspdu.unpack7(HELLO_PACKED, 10) == septets


def test_pack_with_fill_bits_round_trips():
    septets = gsm7.encode('The quick brown fox @ 1234567890')
    for fill in range(7):
        packed = smspdu.pack7(septets, fill)
        assert smspdu.unpack7(packed, len(septets), fill) == septets


def test_unpack_short_data_is_refused():
    raises(ValueError, smspdu.unpack7, HELLO_PACKED[:4], 10)


def test_gsm7_alphabet_and_extension():
    text = u('@\u00a3$\u00a5\u00e8\u00e9 \u0394_\u03a9 \u00c4\u00d6\u00d1\u00dc\u00a7 '
             '\u00bf\u00e0 [x]{y}~^\\|\u20ac')
    septets = gsm7.encode(text)
    assert septets[:3] == bytearray(b'\x00\x01\x02')
    assert gsm7.decode(septets) == text
    # each extension character takes an escape and a septet
    assert gsm7.septet_len('[]') == 4 and gsm7.septet_len('ab') == 2
    assert gsm7.septet_len(u('\u4f60')) == -1
    raises(ValueError, gsm7.encode, '`')


def test_ucs2_round_trip_with_surrogates():
    text = u('Gr\u00fc\u00dfe \u4f60\u597d \U0001f600')
    data = gsm7.ucs2_encode(text)
    assert data[:4] == bytearray(b'\x00G\x00r')
    assert len(data) == 2 * gsm7.ucs2_units(text) == 2 * 11       # a surrogate pair
    assert gsm7.ucs2_decode(data) == text


def test_published_deliver_pdu():
    p = smspdu.parse(smspdu.from_hex(DELIVER_HEX))
    assert p.kind == smspdu.DELIVER
    assert (p.smsc, p.number) == ('+31624000000', '+31641600986')
    assert p.timestamp == (2, 8, 26, 19, 37, 41, 8)
    assert p.text() == 'How are you?'
    ud, udl = smspdu.user_data(gsm7.encode('How are you?'), GSM7)
    again = smspdu.deliver('+31641600986', ud, udl, p.timestamp, smsc='+31624000000')
    assert smspdu.to_hex(again) == DELIVER_HEX


def test_published_submit_pdu():
    ud, udl = smspdu.user_data(gsm7.encode('hellohello'), GSM7)
    pdu = smspdu.submit('+46708251358', ud, udl, vp=0xAA)
    assert smspdu.to_hex(pdu) == '0011000B916407281553F80000AA0AE8329BFD4697D9EC37'


def test_trun_pdus_byte_for_byte():
    req = smspdu.parse(smspdu.from_hex(TRUN_REQUEST))
    assert (req.kind, req.smsc, req.number, req.dcs) == (smspdu.SUBMIT, '+393492000200',
                                                        '+393468686711', 0x15)
    assert smspdu.tpdu_length(smspdu.from_hex(TRUN_REQUEST)) == 52
    again = smspdu.submit(req.number, req.ud, req.udl, req.dcs, smsc=req.smsc)
    assert smspdu.to_hex(again) == TRUN_REQUEST
    resp = smspdu.parse(smspdu.from_hex(TRUN_RESPONSE))
    assert smspdu.tpdu_length(smspdu.from_hex(TRUN_RESPONSE)) == 83
    again = smspdu.deliver(resp.number, resp.ud, resp.udl, resp.timestamp, resp.dcs,
                           smsc=resp.smsc)
    assert smspdu.to_hex(again) == TRUN_RESPONSE


def _round_trip(alpha, body, udh=None):
    ud, udl = smspdu.user_data(body, alpha, udh)
    pdu = smspdu.submit('+15551234', ud, udl, smspdu.DCS[alpha], udhi=udh is not None, mr=7)
    p = smspdu.parse(pdu)
    assert p.mr == 7 and p.number == '+15551234' and p.alphabet() == alpha
    return p


def test_concatenated_gsm7_parts():
    text = ''.join([chr(0x41 + i % 26) for i in range(300)])
    alpha, body = smspdu.text_body(text)
    parts = smspdu.split(body, alpha)
    assert alpha == GSM7 and [len(b) for b in parts] == [153, 147]
    got = []
    for seq in range(len(parts)):
        p = _round_trip(alpha, parts[seq], smspdu.concat_header(0x2A, 2, seq + 1))
        assert p.concat() == (0x2A, 2, seq + 1)
        assert p.udl == 7 + len(parts[seq])     # 6 header octets + 1 fill bit = 7 septets
        got.append(p.text())
    assert ''.join(got) == text


def test_split_keeps_escapes_and_surrogates_whole():
    body = gsm7.encode('a' * 152 + '[' + 'b' * 20)
    parts = smspdu.split(body, GSM7)
    assert len(parts[0]) == 152 and parts[1][:2] == bytearray(b'\x1b\x3c')
    body = gsm7.ucs2_encode('x' * 66 + u('\U0001f600') + 'y' * 10)
    parts = smspdu.split(body, UCS2)
    assert len(parts[0]) == 132
    raises(ValueError, smspdu.split, bytearray(1000), DATA8, 4)


def test_ucs2_and_8bit_round_trip():
    text = u('\u041f\u0440\u0438\u0432\u0435\u0442 \u4f60\u597d')
    alpha, body = smspdu.text_body(text)
    assert alpha == UCS2
    assert _round_trip(alpha, body).text() == text
    data = bytearray(range(256))[:140]
    p = _round_trip(DATA8, data)
    assert p.text() == bytes(data) and p.concat() is None


def test_alphanumeric_originator():
    # TP-OA type 0xD0: "Google", 7-bit packed in 11 semi-octets; one septet 'A' of text
    pdu = smspdu.from_hex('00040BD0C7F7FBCC2E030000' + '42100141000000' + '0141')
    p = smspdu.parse(pdu)
    assert p.number == 'Google' and p.text() == 'A'


def test_malformed_pdus_are_refused():
    raises(ValueError, smspdu.parse, smspdu.from_hex(TRUN_REQUEST)[:30])
    raises(ValueError, smspdu.from_hex, 'XYZ0')
    raises(ValueError, smspdu.parse, bytearray(b'\x00\x02\x00'))      # SMS-STATUS-REPORT
    raises(ValueError, smspdu.address, '+12ab')
    raises(ValueError, smspdu.alphabet, 0x0C)


def test_text_walked_as_utf8_bytes():
    # gsm7 walks the UTF-8 bytes of a text (no 1-character strings: MicroPython interns
    # them); every length of sequence, and a stray byte taken for its Latin-1 character
    text = u('a\u00e9\u20ac\U0001f600')
    b = gsm7.utf8(text)
    got = []
    i = 0
    while i < len(b):
        v = gsm7.point(b, i)
        got.append((v >> 3, v & 7))
        i += v & 7
    assert got == [(0x61, 1), (0xE9, 2), (0x20AC, 3), (0x1F600, 4)]
    assert gsm7.point(bytearray(b'\xe9x'), 0) == 0xE9 * 8 + 1
    assert gsm7.ucs2_units(text) == 5
    assert gsm7.septet_len(u('a\u00e9\u20ac')) == 4 and gsm7.septet_len(text) == -1
    assert gsm7.ucs2_decode(gsm7.ucs2_encode(text)) == text
    assert smspdu.address('+12345') == bytearray(b'\x05\x91\x21\x43\xf5')
