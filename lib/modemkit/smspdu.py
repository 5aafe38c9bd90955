"""SMS-SUBMIT and SMS-DELIVER PDUs (3GPP TS 23.040 s9.2.2), as the bytes AT+CMGS / +CMGR
carry in PDU mode (27.005 s3.1: the SMSC address, then the TPDU), and the user data around them:
septet packing with the fill bits a user data header asks for, the concatenation header
(IEI 0x00, 8-bit reference, or 0x08, 16-bit), and the split of a text into parts.

Pure functions in the portable subset; smsdigest (the SMSATRUN digest), the sms driver and the
emulator share them.

    ud, udl = user_data(gsm7.encode('hello'), GSM7)
    pdu = submit('+393331234567', ud, udl, dcs=0x00)
    p = parse(pdu); p.number, p.body(), p.concat()
"""
import binascii

from modemkit import gsm7

GSM7 = 0
DATA8 = 1
UCS2 = 2
ALPHABETS = ('gsm7', '8bit', 'ucs2')
DCS = (0x00, 0x04, 0x08)              # 23.038 s4 general group, no class
SINGLE = (160, 140, 140)              # septets / octets of one SMS
PART = (153, 134, 134)                # ... of one part, after a 6-octet concatenation header
MAX_PDU = 176                          # 12-octet SMSC address + 164-octet TPDU

DELIVER = 0
SUBMIT = 1


def alphabet(dcs):
    """GSM7, DATA8 or UCS2 for a 23.038 data coding scheme; ValueError for a compressed or
    reserved one."""
    if dcs & 0x80 == 0x00:                      # general data coding (0x40: auto-delete)
        if dcs & 0x20:
            raise ValueError('compressed SMS (DCS 0x%02X) not supported' % dcs)
        a = (dcs >> 2) & 0x03
        if a < 3:
            return a
    elif dcs & 0xF0 == 0xF0:                    # data coding / message class
        return DATA8 if dcs & 0x04 else GSM7
    elif dcs & 0xF0 in (0xC0, 0xD0):            # message waiting, discard / store, 7-bit
        return GSM7
    elif dcs & 0xF0 == 0xE0:                    # message waiting, store, UCS2
        return UCS2
    raise ValueError('reserved data coding scheme 0x%02X' % dcs)


# -- septets ------------------------------------------------------------------------------

def pack7(septets, fill=0):
    """Septets packed LSB first (23.038 s6.1.2.1), after `fill` zero bits."""
    out = bytearray()
    acc = 0
    bits = fill
    for s in bytearray(septets):
        acc |= (s & 0x7F) << bits
        bits += 7
        while bits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            bits -= 8
    if bits:
        out.append(acc & 0xFF)
    return out


def unpack7(data, count, fill=0):
    """`count` septets from packed `data`, skipping `fill` bits; ValueError if it is short."""
    data = bytearray(data)
    if (count * 7 + fill + 7) // 8 > len(data):
        raise ValueError('user data shorter than its length')
    out = bytearray(count)
    for k in range(count):
        bit = fill + 7 * k
        i, r = bit >> 3, bit & 7
        v = data[i] >> r
        if r > 1:
            v |= data[i + 1] << (8 - r)
        out[k] = v & 0x7F
    return out


# -- user data ----------------------------------------------------------------------------

def concat_header(ref, total, seq):
    """The 23.040 s9.2.3.24.1 concatenation header (UDHL included), 8-bit reference."""
    return bytearray((5, 0x00, 3, ref & 0xFF, total, seq))


def user_data(body, alpha, udh=None):
    """`(ud, udl)`: the TP-UD octets and TP-UDL for `body` (septets for GSM7, else octets)
    after an optional header `udh` (with its UDHL octet)."""
    udh = bytearray(udh or b'')
    if alpha == GSM7:
        fill = (7 - (len(udh) * 8) % 7) % 7
        ud = udh + pack7(body, fill)
        return ud, (len(udh) * 8 + fill) // 7 + len(body)
    ud = udh + bytearray(body)
    return ud, len(ud)


def split(body, alpha, limit=None):
    """The bodies of the SMS that carry `body`: itself when it fits one SMS, else parts that fit
    one concatenated part each, never cutting a GSM escape or a UCS-2 surrogate pair. At most
    `limit` parts (ValueError beyond)."""
    body = bytearray(body)
    if len(body) <= SINGLE[alpha]:
        return [body]
    size = PART[alpha]
    parts = []
    i = 0
    while i < len(body):
        end = min(i + size, len(body))
        if end < len(body):
            if alpha == GSM7 and body[end - 1] == gsm7.ESC:
                end -= 1
            elif alpha == UCS2 and 0xD8 <= body[end - 2] < 0xDC:
                end -= 2
        parts.append(body[i:end])
        i = end
        if limit is not None and len(parts) > limit:
            raise ValueError('message needs more than %d parts' % limit)
    return parts


def text_body(text):
    """`(alphabet, body)` for a text: GSM7 septets when every character is in the default
    alphabet, else UCS-2 octets."""
    if gsm7.septet_len(text) >= 0:
        return GSM7, gsm7.encode(text)
    return UCS2, gsm7.ucs2_encode(text)


# -- addresses ----------------------------------------------------------------------------

def _semi(digits):
    # from the bytes: no 1-character strings (interned on MicroPython, gsm7.utf8)
    d = bytearray(digits, 'ascii')
    if len(d) % 2:
        d.append(0x3F)                 # F (15) fills the last octet
    out = bytearray()
    for i in range(0, len(d), 2):
        out.append(((d[i + 1] - 48) << 4) | (d[i] - 48))
    return out


def _digits(data, count):
    return ''.join(['%X%X' % (b & 0x0F, b >> 4) for b in bytearray(data)])[:count]


def _check_number(number):
    digits = number[1:] if number.startswith('+') else number
    if len(digits) > 20 or digits and not digits.isdigit():
        raise ValueError('not a phone number: %r' % number)
    return digits


def address(number):
    """23.040 s9.1.2.5 address: digit count, type (0x91 international with '+', else 0x81),
    semi-octets."""
    digits = _check_number(number)
    return bytearray((len(digits), 0x91 if number.startswith('+') else 0x81)) + _semi(digits)


def smsc_field(number):
    """The SMSC address that leads a PDU (octet count first); one 0 octet for the default."""
    if not number:
        return bytearray(1)
    digits = _check_number(number)
    body = bytearray((0x91 if number.startswith('+') else 0x81,)) + _semi(digits)
    return bytearray((len(body),)) + body


def _read_address(pdu, at):
    count, toa = pdu[at], pdu[at + 1]
    end = at + 2 + (count + 1) // 2
    if end > len(pdu):
        raise IndexError
    if toa & 0x70 == 0x50:       # alphanumeric: GSM 7-bit packed, count in semi-octets
        return gsm7.decode(unpack7(pdu[at + 2:end], count * 4 // 7)), end
    return ('+' if toa & 0x70 == 0x10 else '') + _digits(pdu[at + 2:end], count), end


# -- timestamps ---------------------------------------------------------------------------

def timestamp_field(fields):
    """23.040 s9.2.3.11 from `(yy, mm, dd, hh, mm, ss, tz_quarters)`."""
    quarters = fields[6]
    octets = _semi(''.join(['%02d' % v for v in fields[:6]]) + '%02d' % abs(quarters))
    if quarters < 0:
        octets[-1] |= 0x08
    return octets


def _read_timestamp(data):
    values = [int(_digits(data[i:i + 1], 2)) for i in range(6)]
    tz = data[6]
    quarters = int('%X%X' % (tz & 0x07, tz >> 4))
    return tuple(values) + (-quarters if tz & 0x08 else quarters,)


# -- PDUs ---------------------------------------------------------------------------------

def submit(number, ud, udl, dcs=0x00, udhi=False, smsc='', mr=0, vp=0xAD, pid=0):
    """An SMS-SUBMIT with a relative validity period (first octet 0x11, 0x51 with a header).
    0xAD is the T-RUN s2.3 example's validity (4 days)."""
    first = 0x51 if udhi else 0x11
    tpdu = bytearray((first, mr & 0xFF)) + address(number)
    tpdu += bytearray((pid, dcs, vp, udl)) + bytearray(ud)
    return smsc_field(smsc) + tpdu


def deliver(number, ud, udl, timestamp, dcs=0x00, udhi=False, smsc='', pid=0):
    """An SMS-DELIVER (first octet 0x04: no more messages to send; 0x44 with a header)."""
    tpdu = bytearray((0x44 if udhi else 0x04,)) + address(number) + bytearray((pid, dcs))
    tpdu += timestamp_field(timestamp) + bytearray((udl,)) + bytearray(ud)
    return smsc_field(smsc) + tpdu


class Pdu(object):
    """A parsed PDU: kind (DELIVER/SUBMIT), smsc, number (originator or destination), mr,
    pid, dcs, timestamp (DELIVER), udhi, udl, ud (raw TP-UD octets, a bytearray)."""

    def __init__(self):
        self.mr = 0
        self.timestamp = None

    def alphabet(self):
        return alphabet(self.dcs)

    def header(self):
        """The user data header with its UDHL octet, or empty."""
        if not self.udhi or not self.ud:
            return bytearray()
        return bytearray(self.ud[:1 + self.ud[0]])

    def body(self):
        """Septets (GSM7) or octets of the user data after its header."""
        h = len(self.header())
        if self.alphabet() == GSM7:
            fill = (7 - (h * 8) % 7) % 7
            skip = (h * 8 + fill) // 7
            return unpack7(self.ud[h:], max(self.udl - skip, 0), fill)
        return bytearray(self.ud[h:self.udl])

    def concat(self):
        """`(ref, total, seq)` from a concatenation header, or None."""
        h = self.header()
        i = 1
        while i + 1 < len(h):
            iei, n = h[i], h[i + 1]
            v = h[i + 2:i + 2 + n]
            if iei == 0x00 and n == 3 and len(v) == 3:
                return v[0], v[1], v[2]
            if iei == 0x08 and n == 4 and len(v) == 4:
                return (v[0] << 8) | v[1], v[2], v[3]
            i += 2 + n
        return None

    def text(self):
        """The user data as text (GSM7 or UCS2); the octets for 8-bit data."""
        a = self.alphabet()
        if a == GSM7:
            return gsm7.decode(self.body())
        if a == UCS2:
            return gsm7.ucs2_decode(self.body())
        return bytes(self.body())


def parse(pdu):
    """A `Pdu` from the bytes of an SMS-DELIVER or SMS-SUBMIT with its SMSC field; ValueError
    for anything else or one cut short."""
    pdu = bytearray(pdu)
    p = Pdu()
    try:
        n = pdu[0]
        if n:
            digits = _digits(pdu[2:1 + n], 2 * (n - 1)).rstrip('F')
            p.smsc = ('+' if pdu[1] == 0x91 else '') + digits
        else:
            p.smsc = ''
        at = 1 + n
        first = pdu[at]
        p.udhi = bool(first & 0x40)
        mti = first & 0x03
        if mti == 0x00:
            p.kind = DELIVER
            p.number, at = _read_address(pdu, at + 1)
            p.pid, p.dcs = pdu[at], pdu[at + 1]
            p.timestamp = _read_timestamp(pdu[at + 2:at + 9])
            at += 9
        elif mti == 0x01:
            p.kind = SUBMIT
            p.mr = pdu[at + 1]
            p.number, at = _read_address(pdu, at + 2)
            p.pid, p.dcs = pdu[at], pdu[at + 1]
            vpf = first & 0x18
            at += 2 + (1 if vpf == 0x10 else 7 if vpf else 0)
        else:
            raise ValueError('not an SMS-DELIVER or SMS-SUBMIT (MTI %d)' % mti)
        p.udl = pdu[at]
    except IndexError:
        raise ValueError('PDU cut short')
    a = alphabet(p.dcs)
    size = (p.udl * 7 + 7) // 8 if a == GSM7 else p.udl
    if len(pdu) < at + 1 + size or size > 140:
        raise ValueError('PDU user data shorter than its length')
    p.ud = pdu[at + 1:at + 1 + size]
    return p


def tpdu_length(pdu):
    """The octet count AT+CMGS and +CMGR give: the PDU without its SMSC field; ValueError when
    the PDU is shorter than its own SMSC field says."""
    head = bytearray(pdu[:1])
    if not head or len(pdu) < 1 + head[0]:
        raise ValueError('PDU cut short')
    return len(pdu) - 1 - head[0]


def to_hex(data):
    return binascii.hexlify(bytes(data)).decode().upper()


def from_hex(text):
    try:
        return bytearray(binascii.unhexlify(text))
    except (ValueError, TypeError):       # binascii.Error is a ValueError on 3.x; 2.7 TypeError
        raise ValueError('not a hexadecimal PDU')
