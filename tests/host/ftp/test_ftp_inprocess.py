"""The FTP helpers (lib/modemkit/ftp*.py) per backend, through the emulated module (in-process,
fake clock) to a real pyftpdlib server on 127.0.0.1: big files both ways, transfers broken by
injected faults and resumed from their offset, typed errors, verification."""
import os
import time

import pytest

from ftprig import make_rig, ftp_cfg, write_file, read_file, TIMEOUT_MS
from ftpserver import ftp_server    # noqa: F401  (fixture)

from modemkit import ftp
from modemkit.sched import Return
from modemkit.sock import NetError

# (emulated module, backend): native FTP where the module has it, and the pure-Python client
# over the sockets of a module that has no FTP of its own (Quectel) or one that does (Telit)
BACKENDS = [('quectel', 'py'), ('telit', 'telit'), ('wavecom', 'wavecom'), ('telit', 'py')]
IDS = ['quectel-py', 'telit-telit', 'wavecom-wavecom', 'telit-py']
BIG = 5 * 1024 * 1024
# ...except through Wavecom's data mode, which has no flow control: the driver writes as fast
# as the fake UART takes bytes, which is faster than the paced line below can carry more than
# the emulator's 1 MiB backlog (a real UART blocks instead). test_ftp_mpy sends 5 MiB through it.
BIG_FOR = {'wavecom': 512 * 1024}


# what size() answers per backend for a missing file and for a 1234-byte one
SIZE_ANSWERS = {'py': ('NoSuchFile', 1234), 'telit': ('NoSuchFile', 1234),
                'wavecom': ('Unsupported', 'Unsupported')}


def import_backend(backend):
    __import__(ftp.BACKENDS[backend])       # a backend that fails to import fails the test


# Wavecom's data mode has no flow control but the serial line's own pace: unpaced, the emulator
# would push a whole download into the fake UART at once
BAUD = {'wavecom': 921600}


def session(dialect, backend, server, bufsize=1024, **kw):
    import_backend(backend)
    rig = make_rig(dialect, baud=BAUD.get(dialect))
    f = ftp.client(rig.drv, ftp_cfg(server, backend, **kw), bytearray(bufsize))
    return rig, f


def run(rig, gen):
    def main():
        yield rig.drv.wait_ready(60000)
        r = yield gen
        raise Return(r)
    return rig.run(main())


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=IDS)
def test_big_file_up_and_back(dialect, backend, ftp_server, tmp_path):
    rig, f = session(dialect, backend, ftp_server)
    big = BIG_FOR.get(dialect, BIG)
    data = os.urandom(big)
    src, dst = tmp_path / 'src', tmp_path / 'dst'
    write_file(src, data)
    seen = []
    f.progress = lambda done, total: seen.append((done, total))

    def job():
        t0 = time.monotonic()
        with open(src, 'rb') as s:
            up = yield f.put('big.bin', s)
        t1 = time.monotonic()
        with open(dst, 'wb') as d:
            down = yield f.get('big.bin', d)
        t2 = time.monotonic()
        yield f.close()
        raise Return((up, down, t1 - t0, t2 - t1))

    up, down, t_up, t_down = run(rig, job())
    print('%s/%s: %d bytes up %.1f s, down %.1f s' % (dialect, backend, big, t_up, t_down))
    assert up == down == big
    assert ftp_server.read('big.bin') == data
    assert read_file(dst) == data
    # progress goes up to the size, once for the upload and once for the download
    ends = [i for i, (d, t) in enumerate(seen) if d == big]
    assert len(ends) == 2 and seen[ends[0] + 1][0] < big
    for part in (seen[:ends[0] + 1], seen[ends[0] + 1:]):
        assert [d for d, t in part] == sorted(d for d, t in part)


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=IDS)
def test_broken_upload_resumes_from_its_offset(dialect, backend, ftp_server, tmp_path):
    rig, f = session(dialect, backend, ftp_server)
    data = os.urandom(300000)
    write_file(tmp_path / 'src', data)
    ftp_server.cut_after(100000)

    def job():
        with open(tmp_path / 'src', 'rb') as s:
            try:
                yield f.put('up.bin', s)
                first = 'completed'
            except NetError as e:
                first = type(e).__name__
            held = os.path.getsize(ftp_server.path('up.bin'))
            n = yield f.put('up.bin', s, None)
        raise Return((first, held, n))

    first, held, n = run(rig, job())
    assert first != 'completed' and ftp_server.cuts == 1
    assert n == len(data) and ftp_server.read('up.bin') == data
    if f.RESUME:
        assert 0 < held < len(data)
        assert [c for c in ftp_server.commands if c.startswith(('STOR', 'APPE'))] == [
            'STOR up.bin', 'APPE up.bin']


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=IDS)
def test_broken_download_resumes_from_its_offset(dialect, backend, ftp_server, tmp_path):
    rig, f = session(dialect, backend, ftp_server)
    data = os.urandom(300000)
    ftp_server.write('down.bin', data)
    ftp_server.cut_after(120000)
    dst = tmp_path / 'dst'

    def job():
        with open(dst, 'wb') as d:
            try:
                yield f.get('down.bin', d)
                first = 'completed'
            except NetError as e:
                first = type(e).__name__
        have = os.path.getsize(dst)
        with open(dst, 'ab') as d:
            n = yield f.get('down.bin', d, have)
        raise Return((first, have, n))

    first, have, n = run(rig, job())
    assert first != 'completed' and have < len(data)
    assert n == len(data) and read_file(dst) == data
    if f.RESUME:
        assert have > 0 and 'REST %d' % have in ftp_server.commands


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=IDS)
def test_wrong_credentials_and_missing_file(dialect, backend, ftp_server, tmp_path):
    import_backend(backend)
    rig = make_rig(dialect, baud=BAUD.get(dialect))
    bad = ftp.client(rig.drv, ftp_cfg(ftp_server, backend, password='wrong'), bytearray(512))
    good = ftp.client(rig.drv, ftp_cfg(ftp_server, backend), bytearray(512))

    def outcome(gen):
        try:
            yield gen
            raise Return('ok')
        except NetError as e:
            raise Return(type(e).__name__)

    def job():
        with open(tmp_path / 'x', 'wb') as d:
            login = yield outcome(bad.get('any.bin', d))
            missing = yield outcome(good.get('missing.bin', d))
        size = yield outcome(good.size('missing.bin'))
        try:
            there = yield good.size('there.bin')
        except NetError as e:
            there = type(e).__name__
        yield good.close()
        raise Return((login, missing, size, there))

    ftp_server.write('there.bin', b'x' * 1234)
    login, missing, size, there = run(rig, job())
    assert login == 'LoginRefused'
    assert missing == 'NoSuchFile'
    # SIZE (RFC 3659) and #FTPFSIZE (T-IPE §12.7) answer the file's size and refuse a missing
    # file; the Wavecom FTP commands have no size at all (MT C.4.5)
    assert (size, there) == SIZE_ANSWERS[backend], (size, there)


def test_pdp_loss_mid_upload_resumes(ftp_server, tmp_path):
    """The network takes the context away in the middle of an upload: NetDown, the modem
    recovers, and the upload resumes from what the server holds."""
    rig, f = session('quectel', 'py', ftp_server)
    data = os.urandom(400000)
    write_file(tmp_path / 'src', data)
    progress = []
    f.progress = lambda done, total: progress.append(done)

    def job():
        def fault():
            while not progress or progress[-1] < 150000:
                yield rig.sched.sleep_ms(10)
            rig.sim.pdp_deactivate(1)
        rig.sched.spawn(fault())
        with open(tmp_path / 'src', 'rb') as s:
            try:
                yield f.put('pdp.bin', s)
                first = 'completed'
            except NetError as e:
                first = type(e).__name__
            yield rig.drv.wait_ready(TIMEOUT_MS)
            n = yield f.put('pdp.bin', s, None)
        raise Return((first, n))

    first, n = run(rig, job())
    # QL §2.2.5: the module reports each lost socket ("closed") before "pdpdeact"; whether the
    # upload's task wakes between the two lines (Closed) or after both (NetDown) depends on
    # how the bytes were cut on the serial line. Either way the driver saw the context go.
    assert first in ('NetDown', 'Closed'), first
    assert any('PDP context deactivated' in m for m in rig.logs), rig.logs
    assert n == len(data) and ftp_server.read('pdp.bin') == data
    assert 'APPE pdp.bin' in ftp_server.commands


def test_checksum_verifies_where_the_server_has_one(ftp_server, tmp_path):
    rig, f = session('quectel', 'py', ftp_server)
    data = os.urandom(20000)
    write_file(tmp_path / 'src', data)
    ftp_server.xcrc = True

    def job():
        with open(tmp_path / 'src', 'rb') as s:
            n = yield f.put('crc.bin', s)
            ftp_server.bad_crc = True
            try:
                yield f.put('crc2.bin', s)
                second = 'accepted'
            except ftp.Broken:
                second = 'Broken'
        raise Return((n, second))

    assert run(rig, job()) == (len(data), 'Broken')
    assert 'XCRC crc.bin' in ftp_server.commands


def test_delete_list_append(ftp_server, tmp_path):
    rig, f = session('quectel', 'py', ftp_server)
    ftp_server.write('a.txt', b'first\n')
    ftp_server.write('b.txt', b'')
    write_file(tmp_path / 'tail', b'second\n')

    def job():
        with open(tmp_path / 'tail', 'rb') as s:
            n = yield f.put('a.txt', s, append=True)
        yield f.delete('b.txt')
        with open(tmp_path / 'ls', 'wb') as d:
            yield f.list(d)
        try:
            yield f.delete('b.txt')
            again = 'deleted'
        except ftp.NoSuchFile:
            again = 'NoSuchFile'
        yield f.close()
        raise Return((n, again))

    assert run(rig, job()) == (13, 'NoSuchFile')
    assert ftp_server.read('a.txt') == b'first\nsecond\n'
    assert not os.path.exists(ftp_server.path('b.txt'))
    assert read_file(tmp_path / 'ls').split() == [b'a.txt']


@pytest.mark.parametrize('dialect,backend', BACKENDS, ids=IDS)
def test_a_server_that_hangs_mid_download_times_out(dialect, backend, ftp_server, tmp_path):
    # the data connection stays open and silent: the download ends with Timeout within the
    # configured timeout, it does not wait for ever
    ftp_server.write('slow.bin', os.urandom(100000))
    ftp_server.stall = 30000
    rig = make_rig(dialect, baud=BAUD.get(dialect))
    import_backend(backend)
    # the emulator's fake clock runs about 10 ms per real ms while it waits for real sockets:
    # 20 s leaves a loaded machine 2 s of real time for the first 30000 bytes
    f = ftp.client(rig.drv, ftp_cfg(ftp_server, backend, timeout_ms=20000), bytearray(512))

    def job():
        with open(tmp_path / 'slow.dst', 'wb') as d:
            t0 = rig.clock.now
            try:
                yield f.get('slow.bin', d)
                outcome = 'completed'
            except NetError as e:
                outcome = type(e).__name__
            raise Return((outcome, rig.clock.now - t0))

    outcome, waited = run(rig, job())
    ftp_server.stall = None
    # the timeout, then the backend's clean-up (Wavecom leaves its data mode and resyncs)
    assert outcome == 'TimedOut' and 20000 <= waited < 130000, (outcome, waited)
    assert 0 < os.path.getsize(tmp_path / 'slow.dst') <= 30000
