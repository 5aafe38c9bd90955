"""The store-and-forward queue (lib/modemkit/squeue.py) recovering from random corruption of its
files: bytes flipped, cut, added or inserted in `<path>.q`, `<path>.h` replaced by anything or
removed.  Properties: opening and draining raise nothing outside QueueError, every record read
back is one that was appended (same sequence number, same payload), in increasing order, and
the queue takes and returns a new record afterwards."""

import os

from hypothesis import given, strategies as st

from fuzzing import examples, run_property, tried
from modemkit.squeue import Queue, QueueError

REC_MAX = 48

edit_q = st.one_of(
    st.tuples(st.just('flip'), st.integers(0, 4000), st.integers(1, 255)),
    st.tuples(st.just('cut'), st.integers(0, 4000), st.just(0)),
    st.tuples(st.just('add'), st.binary(min_size=1, max_size=40), st.just(0)),
    st.tuples(st.just('insert'), st.integers(0, 4000), st.binary(min_size=1, max_size=12)),
)
head_text = st.one_of(
    st.none(),                                                   # removed
    st.binary(max_size=30),
    st.tuples(st.integers(-100, 5000), st.integers(-5, 2 ** 33), st.integers(-5, 100)).map(
        lambda t: ('%d %d %d\n' % t).encode()),
)


def corrupt(path, edits, head):
    with open(path + '.q', 'rb') as f:
        data = bytearray(f.read())
    for kind, a, b in edits:
        if kind == 'flip' and data:
            data[a % len(data)] ^= b
        elif kind == 'cut':
            del data[a % (len(data) + 1):]
        elif kind == 'add':
            data += a
        elif kind == 'insert':
            at = a % (len(data) + 1)
            data[at:at] = b
    with open(path + '.q', 'wb') as f:
        f.write(data)
    if head == 'keep':
        return
    if head is None:
        if os.path.exists(path + '.h'):
            os.remove(path + '.h')
    else:
        with open(path + '.h', 'wb') as f:
            f.write(head)


@examples(400)
@given(records=st.lists(st.binary(max_size=REC_MAX), min_size=1, max_size=30),
       pops=st.integers(0, 10), max_bytes=st.sampled_from([128, 512, 4096]),
       edits=st.lists(edit_q, max_size=4), head=st.one_of(st.just('keep'), head_text))
def _recovers(tmp_path_factory, records, pops, max_bytes, edits, head):
    tried('squeue')
    path = str(tmp_path_factory.mktemp('q') / 'samples')
    q = Queue(path, max_bytes=max_bytes, rec_max=REC_MAX)
    appended = {}
    for data in records:
        appended[q.append(data)] = data
    for _ in range(pops):
        q.pop()
    corrupt(path, edits, head)
    try:
        q = Queue(path, max_bytes=max_bytes, rec_max=REC_MAX)
    except QueueError:
        return
    last = None
    try:
        for _ in range(len(records) + 1):
            item = q.peek()
            if item is None:
                break
            seq, data = item
            assert appended.get(seq) == data, ('invented', seq, data)   # no invented record
            assert last is None or seq > last, (last, seq)
            last = seq
            q.pop()
        assert len(q) == 0 or q.peek() is None
    except QueueError:
        return
    seq = q.append(b'after')
    assert q.peek() == (seq, b'after')


def test_queue_recovers_from_corrupt_files(tmp_path_factory):
    run_property(lambda: _recovers(tmp_path_factory))
