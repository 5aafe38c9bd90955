"""Text <-> SMS alphabets (3GPP TS 23.038): the GSM 7-bit default alphabet with its basic
extension table (septets, unpacked: one value 0-127 per byte) and UCS-2 (big-endian, with
surrogate pairs for characters beyond the BMP, as phones send them).

Portable subset: text is `str` (on 2.7 `unicode`, or an ASCII `str`); decoding returns text.
The tables are code points, so the source stays ASCII.
"""


def _put(out, cp):
    """Append code point cp to `out` as UTF-8: text is built as bytes and decoded once (a list
    of one-character strings would take 8 bytes a character more on a small heap)."""
    if cp < 0x80:
        out.append(cp)
    elif cp < 0x800:
        out.append(0xC0 | (cp >> 6))
        out.append(0x80 | (cp & 0x3F))
    elif cp < 0x10000:
        out.append(0xE0 | (cp >> 12))
        out.append(0x80 | ((cp >> 6) & 0x3F))
        out.append(0x80 | (cp & 0x3F))
    else:
        out.append(0xF0 | (cp >> 18))
        out.append(0x80 | ((cp >> 12) & 0x3F))
        out.append(0x80 | ((cp >> 6) & 0x3F))
        out.append(0x80 | (cp & 0x3F))

# s6.2.1 default alphabet, the positions whose character is not the ASCII one of that value;
# 0x10-0x1A are Greek capitals (beyond Latin-1): 0 in the byte table, their code points in _GREEK
_NOT_ASCII = (
    (0x00, 0x40), (0x01, 0xA3), (0x02, 0x24), (0x03, 0xA5), (0x04, 0xE8), (0x05, 0xE9),
    (0x06, 0xF9), (0x07, 0xEC), (0x08, 0xF2), (0x09, 0xC7), (0x0B, 0xD8), (0x0C, 0xF8),
    (0x0E, 0xC5), (0x0F, 0xE5), (0x10, 0), (0x11, 0x5F), (0x12, 0), (0x13, 0), (0x14, 0),
    (0x15, 0), (0x16, 0), (0x17, 0), (0x18, 0), (0x19, 0), (0x1A, 0), (0x1B, 0xA0),
    (0x1C, 0xC6), (0x1D, 0xE6), (0x1E, 0xDF), (0x1F, 0xC9), (0x24, 0xA4), (0x40, 0xA1),
    (0x5B, 0xC4), (0x5C, 0xD6), (0x5D, 0xD1), (0x5E, 0xDC), (0x5F, 0xA7), (0x60, 0xBF),
    (0x7B, 0xE4), (0x7C, 0xF6), (0x7D, 0xF1), (0x7E, 0xFC), (0x7F, 0xE0),
)
_GREEK = (0x394, 0x5F, 0x3A6, 0x393, 0x39B, 0x3A9, 0x3A0, 0x3A8, 0x3A3, 0x398, 0x39E)
ESC = 0x1B
# s6.2.1.1 basic extension table: septet after ESC -> code point
EXTENSION = ((0x0A, 0x0C), (0x14, 0x5E), (0x28, 0x7B), (0x29, 0x7D), (0x2F, 0x5C),
             (0x3C, 0x5B), (0x3D, 0x7E), (0x3E, 0x5D), (0x40, 0x7C), (0x65, 0x20AC))

_basic = None


def _table():
    # 128 bytes, built once (a list of 128 ints would take 1 KB of a 64 KB heap)
    global _basic
    if _basic is None:
        t = bytearray(range(128))
        for k, cp in _NOT_ASCII:
            t[k] = cp
        _basic = t
    return _basic


def _char(table, s):
    cp = table[s]
    return cp if cp else _GREEK[s - 0x10]


def _septet(table, cp):
    """The default-alphabet septet of code point cp, or -1."""
    if cp < 128 and table[cp] == cp:
        return cp
    if cp < 256:
        for k in range(128):
            if table[k] == cp:
                return k
        return -1
    for k in range(len(_GREEK)):
        if _GREEK[k] == cp:
            return 0x10 + k
    return -1


def _ext_septet(cp):
    for k, c in EXTENSION:
        if c == cp:
            return k
    return -1


def septet_len(text):
    """Septets `text` takes in the default alphabet (escapes count 2), or -1 when some
    character is not in it (then UCS-2 is needed)."""
    table = _table()
    n = 0
    for ch in text:
        cp = ord(ch)
        if _septet(table, cp) >= 0:
            n += 1
        elif _ext_septet(cp) >= 0:
            n += 2
        else:
            return -1
    return n


def encode(text):
    """Septets (a bytearray of values 0-127) of `text`; ValueError for a character that is in
    neither table."""
    table = _table()
    out = bytearray()
    for ch in text:
        cp = ord(ch)
        k = _septet(table, cp)
        if k >= 0:
            out.append(k)
            continue
        k = _ext_septet(cp)
        if k < 0:
            raise ValueError('character U+%04X is not in the GSM 7-bit alphabet' % cp)
        out.append(ESC)
        out.append(k)
    return out


def decode(septets):
    """Text of unpacked septets; an unknown escape shows its base character (s6.2.1.1:
    "a receiving entity shall display the character in the default alphabet")."""
    table = _table()
    out = bytearray()
    esc = False
    for s in bytearray(septets):
        s &= 0x7F
        if esc:
            esc = False
            cp = -1
            for k, c in EXTENSION:
                if k == s:
                    cp = c
            _put(out, cp if cp >= 0 else _char(table, s))
        elif s == ESC:
            esc = True
        else:
            _put(out, _char(table, s))
    return bytes(out).decode('utf-8')


def ucs2_encode(text):
    """UTF-16 big-endian bytes of `text` (UCS-2, surrogates beyond the BMP)."""
    out = bytearray()
    for ch in text:
        cp = ord(ch)
        if cp > 0xFFFF:
            cp -= 0x10000
            hi, lo = 0xD800 | (cp >> 10), 0xDC00 | (cp & 0x3FF)
            out.append(hi >> 8)
            out.append(hi & 0xFF)
            cp = lo
        out.append(cp >> 8)
        out.append(cp & 0xFF)
    return out


def ucs2_decode(data):
    """Text of UCS-2 bytes (an odd last byte is dropped, a lone surrogate kept as U+FFFD)."""
    data = bytearray(data)
    out = bytearray()
    i = 0
    while i + 1 < len(data):
        cp = (data[i] << 8) | data[i + 1]
        i += 2
        if 0xD800 <= cp < 0xDC00 and i + 1 < len(data):
            lo = (data[i] << 8) | data[i + 1]
            if 0xDC00 <= lo < 0xE000:
                i += 2
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00)
        if 0xD800 <= cp < 0xE000:
            cp = 0xFFFD
        _put(out, cp)
    return bytes(out).decode('utf-8')


def ucs2_units(text):
    """16-bit units of `text` in UCS-2 (2 for a character beyond the BMP)."""
    n = 0
    for ch in text:
        n += 2 if ord(ch) > 0xFFFF else 1
    return n
