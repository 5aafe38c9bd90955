"""The store-and-forward queue on flash: order, persistence, torn writes, bounds."""
import os

from mktest import tmpdir, raises
from modemkit.squeue import Queue, QueueError


def test_fifo_order_and_sequence_numbers():
    q = Queue(tmpdir() + '/q')
    assert q.append(b'one') == 1 and q.append(b'two') == 2 and len(q) == 2
    assert q.peek() == (1, b'one')
    q.pop()
    assert q.peek() == (2, b'two')
    q.pop()
    assert q.peek() is None and len(q) == 0
    q.pop()                                  # popping an empty queue is harmless
    assert q.append(b'three') == 3


def test_survives_reopen_without_gap_or_repeat():
    path = tmpdir() + '/q'
    q = Queue(path)
    for i in range(5):
        q.append(b'sample %d' % i)
    q.pop()
    q.pop()
    q = Queue(path)                          # a restart
    assert len(q) == 3 and q.peek() == (3, b'sample 2')
    assert q.append(b'after restart') == 6


def test_torn_last_record_is_cut_and_the_rest_kept():
    path = tmpdir() + '/q'
    q = Queue(path)
    for i in range(4):
        q.append(b'record %d' % i)
    size = os.stat(path + '.q')[6]
    with open(path + '.q', 'ab') as f:          # a power cut in the middle of an append
        f.write(bytearray(b'\xa5\x00\x20\x12\x34\x00\x00\x00\x05par'))
    q = Queue(path)
    assert len(q) == 4 and q.repaired == 12
    assert os.stat(path + '.q')[6] == size
    assert q.append(b'next') == 5            # numbering goes on after the last good record
    out = []
    while len(q):
        out.append(q.peek()[1])
        q.pop()
    assert out == [b'record 0', b'record 1', b'record 2', b'record 3', b'next'], out


def test_corrupted_record_in_the_middle_stops_the_scan_there():
    path = tmpdir() + '/q'
    q = Queue(path)
    for i in range(3):
        q.append(b'abcdefgh')
    with open(path + '.q', 'r+b') as f:
        f.seek(5 + 4 + 8 + 5 + 4 + 2)        # a payload byte of the second record
        f.write(b'X')
    q = Queue(path)
    assert len(q) == 1 and q.repaired > 0


def test_bounded_drops_oldest_and_counts():
    path = tmpdir() + '/q'
    q = Queue(path, max_bytes=200, rec_max=40)
    for i in range(30):
        q.append(b'payload-%02d' % i)        # 5 + 4 + 10 = 19 bytes each
    assert q.end - q.head <= 200
    assert q.dropped == 30 - len(q) and len(q) == 10, (q.dropped, len(q))
    assert q.peek() == (21, b'payload-20')
    assert os.stat(path + '.q')[6] <= 2 * 200
    q = Queue(path, max_bytes=200, rec_max=40)
    assert q.peek() == (21, b'payload-20')


def test_record_too_large_is_refused():
    q = Queue(tmpdir() + '/q', rec_max=8)
    raises(QueueError, q.append, b'123456789')
    assert len(q) == 0
