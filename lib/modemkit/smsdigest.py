"""SMSATRUN messages: the digest user data of T-RUN s2.1 (Tab. 1 and Tab. 2), the text and
white-list rules shared with simple ATRUN SMS, and the GSM 03.40 PDUs of the s2.3 worked example.

Pure functions, no I/O, in the portable subset: the host's `modemkit sms-digest` command, the
emulator and on-target code share this one implementation.  Texts and user data are bytes; a text
argument is encoded once (Latin-1 on CPython 3, which maps the 8-bit alphabet one byte per
character; MicroPython encodes UTF-8, the same bytes for ASCII).  The digest needs `hashlib.md5`,
which MicroPython has wherever its TLS is built in.

    ud = build_request('1234567890123456', 'AT+COPS?')
    pdu = submit_pdu('+393359609600', '+393331234567', ud)
"""

import binascii
import hashlib
from collections import namedtuple

REQUEST_CODE = b'\xd0\xd0\xd0'
RESPONSE_CODE = b'\xd1\xd1\xd1'
DIGEST_SIZE = 24
HEADER_SIZE = 6 + DIGEST_SIZE       # code, transaction, segment, session, digest (Tab. 1)
MAX_USER_DATA = 140
MAX_SEGMENTS = 15          # T-RUN s2.5.2 note 9: at most 15 concatenated response SMS
SEGMENT_TEXT = MAX_USER_DATA - HEADER_SIZE
PASSWORD_SIZE = 16         # T-RUN s2.3: "the password has to be 16 characters length"

SINGLE_SIZE = {'gsm7': 160, '8bit': 140}     # characters / octets of one SMS
PART_SIZE = {'gsm7': 153, '8bit': 134}       # ... of one part of a concatenated SMS (6-octet UDH)

DCS_8BIT = 0x15            # the worked example's DCS: general coding, 8-bit data, class 1


class DigestError(ValueError):
    """User data that is not a valid digest ATRUN SMS (wrong code, segment or digest)."""


# One decoded digest ATRUN SMS.
DigestSms = namedtuple('DigestSms', ('text', 'password', 'transaction', 'session', 'segment',
                                     'segments'))
# The fields of an SMS-SUBMIT / SMS-DELIVER that SMSATRUN cares about; timestamp is
# (yy, mm, dd, hh, mm, ss, tz_quarters).
SubmitPdu = namedtuple('SubmitPdu', ('smsc', 'destination', 'dcs', 'user_data'))
DeliverPdu = namedtuple('DeliverPdu', ('smsc', 'originator', 'dcs', 'timestamp', 'user_data'))


def _bytes(value):
    if isinstance(value, (bytes, bytearray)):
        return bytes(value)
    try:
        return value.encode('latin-1')
    except (LookupError, UnicodeError):
        return value.encode()


def _b64_md5(data):
    return binascii.b2a_base64(hashlib.md5(data).digest())[:-1]      # without its newline


def digest(pwd, text):
    """The 24 ASCII bytes B64(MD5(B64(MD5(Pwd)):B64(MD5(Useful Text)))) of Tab. 1/Tab. 2.

    The ':' is a literal colon between the two inner Base64 strings (digest A.8.2, checked against
    both worked examples).
    """
    return _b64_md5(_b64_md5(_bytes(pwd)) + b':' + _b64_md5(_bytes(text)))


def _encode(code, pwd, text, transaction, session, segment, segments):
    # T-RUN Tab. 1: 0x11 is "Segment 1 of 1"; the nibble order for larger counts is not in the
    # manual, so the high nibble is read as the segment number and the low one as the count.
    header = bytearray(code)
    header.append(transaction & 0xFF)
    header.append((segment << 4) | segments)
    header.append(session & 0xFF)
    return bytes(header) + digest(pwd, text) + text


def build_request(pwd, text, transaction=0, session=1):
    """User data of a digest ATRUN request SMS (Tab. 1); it is never concatenated (s2.1)."""
    text = _bytes(text)
    if len(text) > SEGMENT_TEXT:
        raise DigestError('request text longer than %d bytes' % SEGMENT_TEXT)
    return _encode(REQUEST_CODE, pwd, text, transaction, session, 1, 1)


def build_response(pwd, text, transaction=0, session=1):
    """User data of the response SMS (Tab. 2), one item per SMS.

    A long response is split into at most 15 SMS, each with its own header and a digest over the
    text it carries (s2.1: "the MD5 digest is calculated on the portion of text contained in the
    same SMS"); text beyond 15 SMS is dropped, as note 9 of s2.5.2 says for long responses.
    """
    text = _bytes(text)
    parts = [text[i:i + SEGMENT_TEXT] for i in range(0, len(text), SEGMENT_TEXT)][:MAX_SEGMENTS]
    parts = parts or [b'']
    out = []
    for n in range(len(parts)):
        out.append(_encode(RESPONSE_CODE, pwd, parts[n], transaction, session, n + 1, len(parts)))
    return out


def _decode(code, user_data, passwords):
    user_data = bytes(user_data)
    if len(user_data) < HEADER_SIZE or user_data[:3] != code:
        raise DigestError('not a digest ATRUN SMS')
    head = bytearray(user_data[3:6])
    transaction, seg, session = head[0], head[1], head[2]
    sent_digest, text = user_data[6:HEADER_SIZE], user_data[HEADER_SIZE:]
    for pwd in passwords:
        pwd = _bytes(pwd)
        if digest(pwd, text) == sent_digest:
            return DigestSms(text, pwd, transaction, session, seg >> 4, seg & 0x0F)
    raise DigestError('digest matches no white-list password')


def is_request(user_data):
    """True when the user data starts with the RUNAT SMS code 0xD0D0D0."""
    return bytes(user_data[:3]) == REQUEST_CODE


def parse_request(user_data, passwords):
    """Check and decode a request (Tab. 1) against the white-list passwords.

    Returns a `DigestSms`; raises `DigestError` for a wrong code, a concatenated request
    (s2.1: "The received SMS hasn't to be concatenated") or a digest no password produces.
    """
    sms = _decode(REQUEST_CODE, user_data, passwords)
    if (sms.segment, sms.segments) != (1, 1):
        raise DigestError('concatenated request')
    return sms


def parse_response(user_data, passwords):
    """Check and decode one response SMS (Tab. 2); raises `DigestError`."""
    return _decode(RESPONSE_CODE, user_data, passwords)


def run_text(text):
    """Split an ATRUN text (s2.1 b) into `(reply, command_line)`, or None if it is not one.

    "AT..." is run and answered by SMS; "HAT..." is run without an answer. The command line keeps
    its "AT" so the module's own parser runs it. The prefix is matched in any case, as the AT
    parser that runs the line does.
    """
    text = _bytes(text)
    head = text[:3].upper()
    if head.startswith(b'AT'):
        return True, text
    if head == b'HAT':
        return False, text[1:]
    return None


def split_simple_response(text, alphabet):
    """The answer of a simple ATRUN SMS as the texts of the SMS that carry it: one SMS when it
    fits, else the parts of a concatenated SMS, at most 15 (T-RUN s2.5.2 note 9)."""
    text = _bytes(text)
    if len(text) <= SINGLE_SIZE[alphabet]:
        return [text]
    size = PART_SIZE[alphabet]
    return [text[i:i + size] for i in range(0, len(text), size)][:MAX_SEGMENTS]


def valid_phone_entry(text):
    """A white-list number: digits, an optional leading '+' and an optional trailing '*'."""
    if text.startswith('+'):
        text = text[1:]
    if text.endswith('*'):
        text = text[:-1]
    return text.isdigit()


def number_matches(entry, sender):
    """Whether `sender` matches a white-list number; "+39*" matches every number that begins
    with +39 (Telit AT ref. guide, #SMSATWL; T-RUN s2.4 "All the numbers starting with +39")."""
    if entry.endswith('*'):
        return sender.startswith(entry[:-1])
    return sender == entry


def dcs_alphabet(dcs):
    """'gsm7', '8bit' or 'ucs2' for a 3GPP 23.038 data coding scheme (general and 0xF_ groups)."""
    if dcs & 0xC0 == 0x00 and dcs & 0x0C != 0x0C:
        return ('gsm7', '8bit', 'ucs2')[(dcs >> 2) & 0x03]
    if dcs & 0xF0 == 0xF0:
        return '8bit' if dcs & 0x04 else 'gsm7'
    raise ValueError('unsupported data coding scheme 0x%02X' % dcs)


# -- GSM 03.40 PDUs, as hex text (what AT+CMGS / +CMGR carry in PDU mode) --

def _hex(data):
    return binascii.hexlify(bytes(data)).decode().upper()


def _unhex(text):
    try:
        return bytearray(binascii.unhexlify(text))
    except (ValueError, TypeError):       # binascii.Error is a ValueError on 3.x; 2.7 TypeError
        raise ValueError('not a hexadecimal PDU')


def _semi_octets(digits):
    digits = digits + 'F' * (len(digits) % 2)
    out = bytearray()
    for i in range(0, len(digits), 2):
        out.append(int(digits[i + 1] + digits[i], 16))
    return out


def _digits(data, count):
    text = ''.join(['%X%X' % (b & 0x0F, b >> 4) for b in bytearray(data)])
    return text[:count]


def _address(number):
    digits = number.lstrip('+')
    out = bytearray((len(digits), 0x91 if number.startswith('+') else 0x81))
    return out + _semi_octets(digits)


def _smsc(number):
    if not number:
        return bytearray(1)
    digits = number.lstrip('+')
    body = bytearray((0x91 if number.startswith('+') else 0x81,)) + _semi_octets(digits)
    return bytearray((len(body),)) + body


def _read_smsc(pdu):
    size = pdu[0]
    if size == 0:
        return '', 1
    digits = _digits(pdu[2:1 + size], 2 * (size - 1)).rstrip('F')
    return ('+' if pdu[1] == 0x91 else '') + digits, 1 + size


def _read_address(pdu, at):
    count, toa = pdu[at], pdu[at + 1]
    end = at + 2 + (count + 1) // 2
    return ('+' if toa == 0x91 else '') + _digits(pdu[at + 2:end], count), end


def _require_8bit(dcs):
    # The digest and 8-bit simple formats are what the worked example shows; GSM 7-bit packing is
    # not needed by SMSATRUN digest PDUs.
    if dcs_alphabet(dcs) != '8bit':
        raise ValueError('only 8-bit user data PDUs are supported')


def submit_pdu(smsc, destination, user_data, dcs=DCS_8BIT, validity=0xAD, reference=0):
    """Hex of an SMS-SUBMIT with relative validity and 8-bit user data (first octet 0x11)."""
    _require_8bit(dcs)
    tpdu = bytearray((0x11, reference)) + _address(destination)
    tpdu += bytearray((0x00, dcs, validity, len(user_data)))
    return _hex(_smsc(smsc) + tpdu + bytearray(user_data))


def _timestamp(fields):
    quarters = fields[6]
    digits = ''.join(['%02d' % v for v in fields[:6]]) + '%02d' % abs(quarters)
    octets = _semi_octets(digits)
    if quarters < 0:
        octets[-1] |= 0x08
    return octets


def _read_timestamp(data):
    values = [int(_digits(data[i:i + 1], 2)) for i in range(6)]
    tz = data[6]
    quarters = int('%X%X' % (tz & 0x07, tz >> 4))
    return tuple(values) + (-quarters if tz & 0x08 else quarters,)


def deliver_pdu(smsc, originator, timestamp, user_data, dcs=DCS_8BIT):
    """Hex of an SMS-DELIVER (first octet 0x04) with 8-bit user data.

    `timestamp` is `(yy, mm, dd, hh, mm, ss, tz_quarters)`.
    """
    _require_8bit(dcs)
    tpdu = bytearray(b'\x04') + _address(originator) + bytearray((0x00, dcs))
    tpdu += _timestamp(timestamp) + bytearray((len(user_data),))
    return _hex(_smsc(smsc) + tpdu + bytearray(user_data))


def tpdu_length(pdu_hex):
    """The octet count that AT+CMGS / +CMGR give: the PDU without its SMSC part."""
    pdu = _unhex(pdu_hex)
    if not pdu or len(pdu) < 1 + pdu[0]:
        raise ValueError('PDU cut short')
    return len(pdu) - _read_smsc(pdu)[1]


def _check_length(pdu, at):
    if len(pdu) < at + 1 or len(pdu) < at + 1 + pdu[at]:
        raise ValueError('PDU cut short')


def parse_submit_pdu(pdu_hex):
    """Decode an 8-bit SMS-SUBMIT as built by `submit_pdu`; ValueError for anything else."""
    pdu = _unhex(pdu_hex)
    try:
        smsc, at = _read_smsc(pdu)
        first = pdu[at]
        if first & 0x03 != 0x01:
            raise ValueError('not an SMS-SUBMIT')
        destination, at = _read_address(pdu, at + 2)
        dcs = pdu[at + 1]
        at += 2 + (1 if first & 0x18 == 0x10 else 7 if first & 0x18 else 0)
    except IndexError:
        raise ValueError('PDU cut short')
    _require_8bit(dcs)
    _check_length(pdu, at)
    return SubmitPdu(smsc, destination, dcs, bytes(pdu[at + 1:at + 1 + pdu[at]]))


def parse_deliver_pdu(pdu_hex):
    """Decode an 8-bit SMS-DELIVER as built by `deliver_pdu`; ValueError for anything else."""
    pdu = _unhex(pdu_hex)
    try:
        smsc, at = _read_smsc(pdu)
        if pdu[at] & 0x03 != 0x00:
            raise ValueError('not an SMS-DELIVER')
        originator, at = _read_address(pdu, at + 1)
        dcs = pdu[at + 1]
        _require_8bit(dcs)
        timestamp = _read_timestamp(pdu[at + 2:at + 9])
    except IndexError:
        raise ValueError('PDU cut short')
    at += 9
    _check_length(pdu, at)
    return DeliverPdu(smsc, originator, dcs, timestamp, bytes(pdu[at + 1:at + 1 + pdu[at]]))
