"""Text <-> SMS alphabets (3GPP TS 23.038): the GSM 7-bit default alphabet with its basic
extension table (septets, unpacked: one value 0-127 per byte) and UCS-2 (big-endian, with
surrogate pairs for characters beyond the BMP, as phones send them).

Portable subset: text is `str` (on 2.7 `unicode`, or an ASCII `str`); decoding returns text.
The tables are bytes constants written with escapes (ASCII source, nothing built in the heap but
four small bytearrays on first use).
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

# s6.2.1 default alphabet as Latin-1 bytes, septet -> character; 0x10 and 0x12-0x1A are Greek
# capitals (beyond Latin-1): 0 here, their code points in _GREEK. Bytes constants, not tuples:
# a tuple of tuples takes about 2 KB of heap once imported, these stay in ROM.
_LATIN = (
    b'@\xa3$\xa5\xe8\xe9\xf9\xec\xf2\xc7\x0a\xd8\xf8\x0d\xc5\xe5'
    b'\x00_\x00\x00\x00\x00\x00\x00\x00\x00\x00\xa0\xc6\xe6\xdf\xc9'
    b' !"#\xa4%&\x27()*+,-./'
    b'0123456789:;<=>?'
    b'\xa1ABCDEFGHIJKLMNO'
    b'PQRSTUVWXYZ\xc4\xd6\xd1\xdc\xa7'
    b'\xbfabcdefghijklmno'
    b'pqrstuvwxyz\xe4\xf6\xf1\xfc\xe0')
# code points of 0x10-0x1A, big-endian pairs (0x11 is '_', in _LATIN)
_GREEK = b'\x03\x94\x00\x5f\x03\xa6\x03\x93\x03\x9b\x03\xa9\x03\xa0\x03\xa8\x03\xa3\x03\x98\x03\x9e'
ESC = 0x1B
# s6.2.1.1 basic extension table: the septets after ESC and their characters (the last, 0x65,
# is the euro sign U+20AC)
_EXT = b'\x0a\x14\x28\x29\x2f\x3c\x3d\x3e\x40\x65'
_EXT_CHARS = b'\x0c^{}\\[~]|\x00'

_tables = None


def _get():
    # (latin, greek, ext, ext_chars) as bytearrays: indexing gives ints on every interpreter
    global _tables
    if _tables is None:
        _tables = (bytearray(_LATIN), bytearray(_GREEK), bytearray(_EXT), bytearray(_EXT_CHARS))
    return _tables


def _char(s):
    latin, greek = _get()[:2]
    cp = latin[s]
    return cp if cp else (greek[2 * (s - 0x10)] << 8) | greek[2 * (s - 0x10) + 1]


def _ext_char(s):
    t = _get()
    k = t[2].find(bytearray((s,)))
    if k < 0:
        return _char(s)     # s6.2.1.1: an unknown escape shows its default-alphabet character
    return 0x20AC if k == 9 else t[3][k]


def _septet(cp):
    """The default-alphabet septet of code point cp, or -1."""
    latin, greek = _get()[:2]
    if cp < 128 and latin[cp] == cp:
        return cp
    if 0 < cp < 256:
        return latin.find(bytearray((cp,)))
    for k in range(0, len(greek), 2):
        if (greek[k] << 8) | greek[k + 1] == cp:
            return 0x10 + k // 2
    return -1


def _ext_septet(cp):
    t = _get()
    if cp == 0x20AC:
        return 0x65
    k = t[3].find(bytearray((cp,))) if 0 < cp < 256 else -1
    return t[2][k] if k >= 0 else -1


def utf8(text):
    """`text` as UTF-8 bytes in a bytearray (2.7: a non-ASCII `str` as it is). The loops below
    walk these bytes, not the text: on MicroPython each 1-character string a loop over a str
    makes is interned for good (a qstr), and a full qstr pool takes a new block of 640 bytes
    or more in the middle of an exchange."""
    try:
        return bytearray(text, 'utf-8')
    except (TypeError, UnicodeError):
        return bytearray(text)


def point(b, i):
    """The code point at b[i] and its UTF-8 length, as cp * 8 + length (no tuple); a byte that
    starts no valid sequence is taken for its Latin-1 character."""
    c = b[i]
    if c < 0xC0:
        return c * 8 + 1
    n = 2 if c < 0xE0 else 3 if c < 0xF0 else 4
    if i + n > len(b):
        return c * 8 + 1
    cp = c & (0x1F, 0x0F, 0x07)[n - 2]
    for k in range(i + 1, i + n):
        if b[k] & 0xC0 != 0x80:
            return c * 8 + 1
        cp = (cp << 6) | (b[k] & 0x3F)
    return cp * 8 + n


def septet_len(text):
    """Septets `text` takes in the default alphabet (escapes count 2), or -1 when some
    character is not in it (then UCS-2 is needed)."""
    n = 0
    b = utf8(text)
    i = 0
    while i < len(b):
        v = point(b, i)
        cp = v >> 3
        i += v & 7
        if _septet(cp) >= 0:
            n += 1
        elif _ext_septet(cp) >= 0:
            n += 2
        else:
            return -1
    return n


def encode(text):
    """Septets (a bytearray of values 0-127) of `text`; ValueError for a character that is in
    neither table."""
    out = bytearray()
    b = utf8(text)
    i = 0
    while i < len(b):
        v = point(b, i)
        cp = v >> 3
        i += v & 7
        k = _septet(cp)
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
    out = bytearray()
    esc = False
    for s in bytearray(septets):
        s &= 0x7F
        if esc:
            esc = False
            _put(out, _ext_char(s))
        elif s == ESC:
            esc = True
        else:
            _put(out, _char(s))
    return bytes(out).decode('utf-8')


def ucs2_encode(text):
    """UTF-16 big-endian bytes of `text` (UCS-2, surrogates beyond the BMP)."""
    out = bytearray()
    b = utf8(text)
    i = 0
    while i < len(b):
        v = point(b, i)
        cp = v >> 3
        i += v & 7
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
    b = utf8(text)
    i = 0
    while i < len(b):
        v = point(b, i)
        n += 2 if v >> 3 > 0xFFFF else 1
        i += v & 7
    return n
