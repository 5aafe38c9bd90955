"""SMSATRUN messages: the digest user data of T-RUN §2.1 (Tab. 1 and Tab. 2), the text and
white-list rules shared with simple ATRUN SMS, and the GSM 03.40 PDUs of the §2.3 worked example.

Pure functions, no I/O. Texts and user data are ``bytes``; a ``str`` argument is encoded as
Latin-1, which maps the 8-bit alphabet one byte per character.
"""

import base64
import hashlib
import re
from typing import NamedTuple

REQUEST_CODE = b'\xd0\xd0\xd0'
RESPONSE_CODE = b'\xd1\xd1\xd1'
DIGEST_SIZE = 24
HEADER_SIZE = 6 + DIGEST_SIZE       # code, transaction, segment, session, digest (Tab. 1)
MAX_USER_DATA = 140
MAX_SEGMENTS = 15          # T-RUN §2.5.2 note 9: at most 15 concatenated response SMS
SEGMENT_TEXT = MAX_USER_DATA - HEADER_SIZE
PASSWORD_SIZE = 16         # T-RUN §2.3: "the password has to be 16 characters length"

SINGLE_SIZE = {'gsm7': 160, '8bit': 140}     # characters / octets of one SMS
PART_SIZE = {'gsm7': 153, '8bit': 134}       # ... of one part of a concatenated SMS (6-octet UDH)
PHONE_ENTRY = re.compile(r'\+?[0-9]+\*?')

DCS_8BIT = 0x15            # the worked example's DCS: general coding, 8-bit data, class 1


class DigestError(ValueError):
    """User data that is not a valid digest ATRUN SMS (wrong code, segment or digest)."""


class DigestSms(NamedTuple):
    """One decoded digest ATRUN SMS."""
    text: bytes
    password: bytes
    transaction: int
    session: int
    segment: int
    segments: int


class SubmitPdu(NamedTuple):
    """The fields of an SMS-SUBMIT that SMSATRUN cares about."""
    smsc: str
    destination: str
    dcs: int
    user_data: bytes


class DeliverPdu(NamedTuple):
    """The fields of an SMS-DELIVER that SMSATRUN cares about."""
    smsc: str
    originator: str
    dcs: int
    timestamp: tuple
    user_data: bytes


def _bytes(value):
    return value.encode('latin-1') if isinstance(value, str) else bytes(value)


def _b64_md5(data):
    return base64.b64encode(hashlib.md5(data).digest())


def digest(pwd, text):
    """The 24 ASCII bytes B64(MD5(B64(MD5(Pwd)):B64(MD5(Useful Text)))) of Tab. 1/Tab. 2.

    The ':' is a literal colon between the two inner Base64 strings (digest A.8.2, checked against
    both worked examples).
    """
    return _b64_md5(_b64_md5(_bytes(pwd)) + b':' + _b64_md5(_bytes(text)))


def _encode(code, pwd, text, transaction, session, segment, segments):
    # T-RUN Tab. 1: 0x11 is "Segment 1 of 1"; the nibble order for larger counts is not in the
    # manual, so the high nibble is read as the segment number and the low one as the count.
    header = code + bytes([transaction & 0xFF, (segment << 4) | segments, session & 0xFF])
    return header + digest(pwd, text) + text


def build_request(pwd, text, transaction=0, session=1):
    """User data of a digest ATRUN request SMS (Tab. 1); it is never concatenated (§2.1)."""
    text = _bytes(text)
    if len(text) > SEGMENT_TEXT:
        raise DigestError(f'request text longer than {SEGMENT_TEXT} bytes')
    return _encode(REQUEST_CODE, pwd, text, transaction, session, 1, 1)


def build_response(pwd, text, transaction=0, session=1):
    """User data of the response SMS (Tab. 2), one item per SMS.

    A long response is split into at most 15 SMS, each with its own header and a digest over the
    text it carries (§2.1: "the MD5 digest is calculated on the portion of text contained in the
    same SMS"); text beyond 15 SMS is dropped, as note 9 of §2.5.2 says for long responses.
    """
    text = _bytes(text)
    parts = [text[i:i + SEGMENT_TEXT] for i in range(0, len(text), SEGMENT_TEXT)][:MAX_SEGMENTS]
    parts = parts or [b'']
    return [_encode(RESPONSE_CODE, pwd, part, transaction, session, n, len(parts))
            for n, part in enumerate(parts, 1)]


def _decode(code, user_data, passwords):
    user_data = bytes(user_data)
    if len(user_data) < HEADER_SIZE or user_data[:3] != code:
        raise DigestError('not a digest ATRUN SMS')
    transaction, seg, session = user_data[3], user_data[4], user_data[5]
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

    Returns a ``DigestSms``; raises ``DigestError`` for a wrong code, a concatenated request
    (§2.1: "The received SMS hasn't to be concatenated") or a digest no password produces.
    """
    sms = _decode(REQUEST_CODE, user_data, passwords)
    if (sms.segment, sms.segments) != (1, 1):
        raise DigestError('concatenated request')
    return sms


def parse_response(user_data, passwords):
    """Check and decode one response SMS (Tab. 2); raises ``DigestError``."""
    return _decode(RESPONSE_CODE, user_data, passwords)


def run_text(text):
    """Split an ATRUN text (§2.1 b) into ``(reply, command_line)``, or ``None`` if it is not one.

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
    fits, else the parts of a concatenated SMS, at most 15 (T-RUN §2.5.2 note 9)."""
    text = _bytes(text)
    if len(text) <= SINGLE_SIZE[alphabet]:
        return [text]
    size = PART_SIZE[alphabet]
    return [text[i:i + size] for i in range(0, len(text), size)][:MAX_SEGMENTS]


def valid_phone_entry(text):
    """A white-list number: digits, an optional leading '+' and an optional trailing '*'."""
    return bool(PHONE_ENTRY.fullmatch(text))


def number_matches(entry, sender):
    """Whether `sender` matches a white-list number; "+39*" matches every number that begins
    with +39 (Telit AT ref. guide, #SMSATWL; T-RUN §2.4 "All the numbers starting with +39")."""
    if entry.endswith('*'):
        return sender.startswith(entry[:-1])
    return sender == entry


def dcs_alphabet(dcs):
    """'gsm7', '8bit' or 'ucs2' for a 3GPP 23.038 data coding scheme (general and 0xF_ groups)."""
    if dcs & 0xC0 == 0x00 and dcs & 0x0C != 0x0C:
        return ('gsm7', '8bit', 'ucs2')[(dcs >> 2) & 0x03]
    if dcs & 0xF0 == 0xF0:
        return '8bit' if dcs & 0x04 else 'gsm7'
    raise ValueError(f'unsupported data coding scheme 0x{dcs:02X}')


def _semi_octets(digits):
    digits = digits + 'F' * (len(digits) % 2)
    return bytes(int(digits[i + 1] + digits[i], 16) for i in range(0, len(digits), 2))


def _digits(data, count):
    text = ''.join(f'{b & 0x0F:X}{b >> 4:X}' for b in data)
    return text[:count]


def _address(number):
    digits = number.lstrip('+')
    return bytes([len(digits), 0x91 if number.startswith('+') else 0x81]) + _semi_octets(digits)


def _smsc(number):
    if not number:
        return b'\x00'
    digits = number.lstrip('+')
    body = bytes([0x91 if number.startswith('+') else 0x81]) + _semi_octets(digits)
    return bytes([len(body)]) + body


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
    user_data = bytes(user_data)
    tpdu = (bytes([0x11, reference]) + _address(destination)
            + bytes([0x00, dcs, validity, len(user_data)]) + user_data)
    return (_smsc(smsc) + tpdu).hex().upper()


def _timestamp(fields):
    *clock, quarters = fields
    digits = ''.join(f'{v:02d}' for v in clock) + f'{abs(quarters):02d}'
    octets = bytearray(_semi_octets(digits))
    if quarters < 0:
        octets[-1] |= 0x08
    return bytes(octets)


def _read_timestamp(data):
    values = [int(_digits(bytes([b]), 2)) for b in data[:6]]
    tz = data[6]
    quarters = int(f'{tz & 0x07:X}{tz >> 4:X}')
    return tuple(values) + (-quarters if tz & 0x08 else quarters,)


def deliver_pdu(smsc, originator, timestamp, user_data, dcs=DCS_8BIT):
    """Hex of an SMS-DELIVER (first octet 0x04) with 8-bit user data.

    ``timestamp`` is ``(yy, mm, dd, hh, mm, ss, tz_quarters)``.
    """
    _require_8bit(dcs)
    user_data = bytes(user_data)
    tpdu = (b'\x04' + _address(originator) + bytes([0x00, dcs]) + _timestamp(timestamp)
            + bytes([len(user_data)]) + user_data)
    return (_smsc(smsc) + tpdu).hex().upper()


def tpdu_length(pdu_hex):
    """The octet count that AT+CMGS / +CMGR give: the PDU without its SMSC part."""
    pdu = bytes.fromhex(pdu_hex)
    return len(pdu) - _read_smsc(pdu)[1]


def parse_submit_pdu(pdu_hex):
    """Decode an 8-bit SMS-SUBMIT as built by ``submit_pdu``."""
    pdu = bytes.fromhex(pdu_hex)
    smsc, at = _read_smsc(pdu)
    first = pdu[at]
    if first & 0x03 != 0x01:
        raise ValueError('not an SMS-SUBMIT')
    destination, at = _read_address(pdu, at + 2)
    dcs = pdu[at + 1]
    at += 2 + (1 if first & 0x18 == 0x10 else 7 if first & 0x18 else 0)
    _require_8bit(dcs)
    return SubmitPdu(smsc, destination, dcs, pdu[at + 1:at + 1 + pdu[at]])


def parse_deliver_pdu(pdu_hex):
    """Decode an 8-bit SMS-DELIVER as built by ``deliver_pdu``."""
    pdu = bytes.fromhex(pdu_hex)
    smsc, at = _read_smsc(pdu)
    if pdu[at] & 0x03 != 0x00:
        raise ValueError('not an SMS-DELIVER')
    originator, at = _read_address(pdu, at + 1)
    dcs = pdu[at + 1]
    _require_8bit(dcs)
    timestamp = _read_timestamp(pdu[at + 2:at + 9])
    at += 9
    return DeliverPdu(smsc, originator, dcs, timestamp, pdu[at + 1:at + 1 + pdu[at]])
