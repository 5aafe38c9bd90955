"""A bounded store-and-forward queue on flash: samples wait here until the broker has them.

Records are appended to `<path>.q` as  A5 <len:2> <crc:2> <seq:4> <payload>  (big-endian; the
CRC covers seq and payload). Every record carries the next sequence number, so numbering goes on
without a gap or a repeat after a restart. A power cut in the middle of an append leaves a torn
last record; opening the queue finds it (bad marker, length or CRC), cuts it off, and keeps
everything before it. Where the queue starts (and the next sequence number) lives in
`<path>.h`, replaced with write-then-rename so it is either the old or the new version. When the
file would pass `max_bytes`, the oldest records are dropped and counted in `dropped`; the file is
compacted once its dead head grows past half. Records are removed only by pop(), after the
broker acknowledged them.
"""
import os

from modemkit.port import FileError, const

_MAGIC = const(0xA5)
_HDR = const(5)
_SEQ = const(4)


def crc16(buf, n):
    """CRC-16/CCITT-FALSE of buf[:n]."""
    c = 0xFFFF
    for i in range(n):
        c ^= buf[i] << 8
        for _ in range(8):
            c = (c << 1) ^ 0x1021 if c & 0x8000 else c << 1
        c &= 0xFFFF
    return c


class QueueError(Exception):
    pass


class Queue(object):
    def __init__(self, path, max_bytes=16384, rec_max=200):
        self.path = path
        self.max_bytes = max_bytes
        self.rec_max = rec_max        # payload bytes per record
        self.buf = bytearray(_SEQ + rec_max)
        self.head = 0             # file offset of the first record
        self.end = 0              # file offset after the last good record
        self.count = 0
        self.next_seq = 1
        self.dropped = 0
        self.repaired = 0         # torn bytes cut off when opening
        self._load()

    # -- files -----------------------------------------------------------------------------
    def _load(self):
        try:
            with open(self.path + '.h') as f:
                parts = f.read().split()
            self.head, self.next_seq, self.dropped = int(parts[0]), int(parts[1]), int(parts[2])
        except FileError:
            self.head = 0
        except (ValueError, IndexError):
            self.head = 0
        if not 0 < self.next_seq <= 0xFFFFFFFF:
            # a record holds 4 bytes of it: numbering from a damaged head file would not read
            # back as written; the records still found set it again below
            self.next_seq = 1
        try:
            size = os.stat(self.path + '.q')[6]
        except OSError:
            open(self.path + '.q', 'wb').close()
            size = 0
        if self.head > size or self.head < 0:
            self.head = 0             # a head file that is not ours: read from the start
        pos = self.head
        self.count = 0
        with open(self.path + '.q', 'rb') as f:
            f.seek(pos)
            while True:
                n = self._read(f)
                if n < 0:
                    break
                pos += _HDR + n
                self.count += 1
                seq = self._seq()
                if seq >= self.next_seq:
                    self.next_seq = seq + 1
        self.end = pos
        if pos < size:
            self.repaired = size - pos
            self._truncate(pos)

    def _read(self, f):
        """Read the record at f's position into self.buf (seq + payload); its stored length,
        or -1 if there is none or it is torn."""
        buf = self.buf
        h = bytearray(f.read(_HDR))
        if len(h) < _HDR or h[0] != _MAGIC:
            return -1
        n = h[1] << 8 | h[2]
        if n < _SEQ or n > len(buf):
            return -1
        data = bytearray(f.read(n))
        if len(data) != n:
            return -1
        for i in range(n):
            buf[i] = data[i]
        if crc16(buf, n) != h[3] << 8 | h[4]:
            return -1
        return n

    def _seq(self):
        b = self.buf
        return b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]

    def _truncate(self, size):
        # MicroPython has no truncate(): copy the good part and rename over the file
        tmp = self.path + '.t'
        with open(self.path + '.q', 'rb') as src:
            with open(tmp, 'wb') as dst:
                left = size
                while left:
                    chunk = src.read(min(left, 256))
                    if not chunk:
                        break
                    dst.write(chunk)
                    left -= len(chunk)
        os.rename(tmp, self.path + '.q')

    def _save_head(self):
        tmp = self.path + '.g'
        with open(tmp, 'w') as f:
            f.write('%d %d %d\n' % (self.head, self.next_seq, self.dropped))
        os.rename(tmp, self.path + '.h')

    # -- the queue -------------------------------------------------------------------------
    def __len__(self):
        return self.count

    def append(self, data):
        """Store a record under the sequence number `next_seq` (then incremented); drops the
        oldest records if the bound would be passed. Returns the sequence number."""
        if len(data) > self.rec_max:
            raise QueueError('record of %d bytes > rec_max %d' % (len(data), self.rec_max))
        seq = self.next_seq
        buf = self.buf
        buf[0] = seq >> 24 & 0xFF
        buf[1] = seq >> 16 & 0xFF
        buf[2] = seq >> 8 & 0xFF
        buf[3] = seq & 0xFF
        for i in range(len(data)):
            buf[_SEQ + i] = data[i]
        n = _SEQ + len(data)
        dropped = self.dropped
        while self.count and self.end - self.head + _HDR + n > self.max_bytes:
            self._skip()
            self.dropped += 1
        if self.head > self.max_bytes // 2 or self.end + _HDR + n > 2 * self.max_bytes:
            self._compact()
        elif self.dropped != dropped:
            self._save_head()
        crc = crc16(buf, n)
        with open(self.path + '.q', 'ab') as f:
            f.write(bytearray((_MAGIC, n >> 8, n & 0xFF, crc >> 8, crc & 0xFF)))
            f.write(buf[:n])
        self.end += _HDR + n
        self.count += 1
        self.next_seq = seq + 1
        return seq

    def peek(self):
        """(seq, payload bytes) of the oldest record, or None if the queue is empty."""
        if not self.count:
            return None
        with open(self.path + '.q', 'rb') as f:
            f.seek(self.head)
            n = self._read(f)
        if n < 0:
            raise QueueError('queue file damaged at offset %d' % self.head)
        return self._seq(), bytes(self.buf[_SEQ:n])

    def pop(self):
        """Forget the oldest record (after the broker acknowledged it)."""
        if self.count:
            self._skip()
            self._save_head()

    def _skip(self):
        with open(self.path + '.q', 'rb') as f:
            f.seek(self.head)
            h = bytearray(f.read(3))
        self.head += _HDR + (h[1] << 8 | h[2])
        self.count -= 1

    def _compact(self):
        tmp = self.path + '.t'
        with open(self.path + '.q', 'rb') as src:
            src.seek(self.head)
            with open(tmp, 'wb') as dst:
                while True:
                    chunk = src.read(256)
                    if not chunk:
                        break
                    dst.write(chunk)
        os.rename(tmp, self.path + '.q')
        self.end -= self.head
        self.head = 0
        self._save_head()
