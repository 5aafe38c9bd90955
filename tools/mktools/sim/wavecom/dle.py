"""DLE/ETX framing of the Wavecom IP stack's data mode (MT Chapter 5 #DLEMODE, GP §7.4.7).

In data mode a bare ETX (0x03) marks the end of the data; payload ETX and DLE (0x10) bytes are
sent as DLE ETX and DLE DLE in both directions.
"""

ETX = 0x03
DLE = 0x10
ETX_BYTE = bytes([ETX])


def dle_encode(data):
    """Escape payload bytes for the serial line: ETX -> DLE ETX, DLE -> DLE DLE."""
    if ETX not in data and DLE not in data:
        return bytes(data)
    out = bytearray()
    for byte in data:
        if byte in (ETX, DLE):
            out.append(DLE)
        out.append(byte)
    return bytes(out)


class DleDecoder:
    """Streaming decoder of host bytes: unescapes DLE pairs and stops at the first bare ETX.

    `feed(chunk)` returns `(payload, ended, rest)`: the decoded payload bytes of this chunk,
    whether a bare ETX was met, and the bytes after that ETX (not decoded).  A DLE split across
    two chunks is remembered.  DLE followed by a byte other than ETX/DLE yields that byte: the
    seeds define only the two pairs (digest C.3, "[NOT IN SEED]").
    """

    def __init__(self):
        self._pending_dle = False

    def feed(self, chunk):
        out = bytearray()
        for index, byte in enumerate(chunk):
            if self._pending_dle:
                self._pending_dle = False
                out.append(byte)
            elif byte == DLE:
                self._pending_dle = True
            elif byte == ETX:
                return bytes(out), True, bytes(chunk[index + 1:])
            else:
                out.append(byte)
        return bytes(out), False, b''
