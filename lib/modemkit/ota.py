"""Over-the-air app updates for MicroPython: two slots, a verified download, a trial boot.

    from modemkit import http, ota
    h = http.client(modem, {}, bytearray(512))
    v = yield ota.update(h, 'http://updates.test/fleet/manifest.json')   # None: up to date
    ...                                  # at the next boot main.py starts the new slot on trial
    ota.confirm()                        # the new app, once it is healthy: keep it

The device holds two slots, a/ and b/ (firmware/mpy/main.py names the one it starts).
update() fetches the manifest `modemkit bundle --ota` wrote (version, each file's name, size
and SHA-256), streams each file into the slot main.py does not start, hashing while it
writes, and switches only once every file is complete and matches: main.py is rewritten
(main.new, renamed over it; the running one kept as main.old) after the trial marker
(ota_pend.txt) is on flash. At the next boot main.py starts the new slot and renames the
marker to ota_try.txt; confirm() deletes it. A boot that finds ota_try.txt still there (the new
app crashed, hung past its deadline and was reset, or ended without confirming) puts main.old
back and starts the previous slot; ota_fail.txt says which version was given up.

A cut download resumes: what reached flash stays, the next request asks for the rest
(`Range: bytes=N-`, RFC 9110 s14); a server that answers 200 instead sends the file again from
the start. A file that is still short after `tries` attempts, or whose hash differs, is
deleted and update() raises OtaError: the running slot and main.py are untouched. A later
update() keeps the files of the other slot that already match the manifest (a retry, or files
unchanged between versions) and fetches only the rest.

Memory: the files go through the HTTP client's buffer; the manifest is parsed whole (at most
`max_manifest` bytes, 8 KiB: about 50 files). Paths are relative to the current directory, the
root of the board's flash file system, as main.py's are.

Errors: OtaError (a bad manifest, a hash mismatch, a refused request, an update while the last
one is on trial); the HTTP client's NetError family after `tries` attempts.

update() calls the client from two levels down: a task that calls it from its own generator
needs a depth of http.DEPTH + 3 (Scheduler(depth=...) or spawn(..., depth=...)).
"""
import binascii
import hashlib
import json
import os

from modemkit.port import FileError as _MISSING     # a file that is not there
from modemkit.sched import Return
from modemkit.sock import NetError, EIO

SLOTS = ('a', 'b')
MAIN = 'main.py'
NEW = 'main.new'
OLD = 'main.old'
PEND = 'ota_pend.txt'        # written before the switch: "<slot> <deadline s> <version>"
TRY = 'ota_try.txt'          # main.py renames PEND to this when it starts the trial
FAIL = 'ota_fail.txt'        # main.py: the version it gave up and the slot it went back to
MANIFEST = 'ota.json'        # the manifest, kept in the slot it describes
_KEYS = ('SLOT', 'VERSION', 'ENTRY', 'CONFIG')
_NAME_OK = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-./'



class OtaError(NetError):
    """The update cannot go on; nothing was switched."""


# -- state on flash --------------------------------------------------------------------------
def settings(path=MAIN):
    """main.py's settings (SLOT, VERSION, ENTRY, CONFIG) as a dict of str."""
    got = {}
    with open(path) as f:
        for line in f:
            k = line.split(' = ', 1)
            if len(k) == 2 and k[0] in _KEYS:
                got[k[0]] = k[1].strip().strip('\'"')
    return got


def marker(name):
    """The words of a marker file, or None when it is not there."""
    try:
        with open(name) as f:
            return f.read().split()
    except _MISSING:
        return None


def on_trial():
    """True while the running slot is an update not yet confirmed."""
    m = marker(TRY)
    return bool(m) and m[0] == settings().get('SLOT')


def confirm():
    """The running app is healthy: keep its slot. True if an update was on trial (else
    nothing changes: main.old stays for an update that waits for its first boot)."""
    if not _remove(TRY):
        return False
    _remove(OLD)
    return True


def last_failure():
    """ota_fail.txt's words (the version given up, the slot gone back to), or None."""
    return marker(FAIL)


def _remove(path):
    try:
        os.remove(path)
        return True
    except _MISSING:
        return False


def _size(path):
    try:
        return os.stat(path)[6]
    except _MISSING:
        return -1


def _isdir(path):
    try:
        return os.stat(path)[0] & 0x4000 != 0
    except _MISSING:
        return False


def _mkdirs(path):
    d = ''
    for part in path.split('/')[:-1]:
        d = d + '/' + part if d else part
        if not _isdir(d):
            os.mkdir(d)


def _hex(h):
    return binascii.hexlify(h.digest()).decode()


def _part(buf, n):
    return buf if n == len(buf) else memoryview(buf)[:n]


# -- the update ------------------------------------------------------------------------------
def update(client, url, deadline_s=300, tries=3, max_manifest=8192, progress=None,
           retry_failed=False):
    """Fetch the manifest at `url` and its files (beside it) into the other slot and switch
    to it at the next boot, on trial for `deadline_s` seconds. Returns the new version; None
    when the running slot already has it; the waiting version when an update is already
    installed for the next boot (the other slot is then the running one: nothing is
    fetched). A version that failed its trial (ota_fail.txt) is refused unless retry_failed.
    progress(path, done, size) after each write."""
    cur = settings()
    slot = cur.get('SLOT')
    if slot not in SLOTS:
        raise OtaError(EIO, '%s names no slot (a or b)' % MAIN)
    m = marker(PEND)
    if m and m[0] == slot:
        raise Return(cur.get('VERSION'))
    m = marker(TRY)
    if m and m[0] == slot:
        raise OtaError(EIO, 'version %s is on trial: confirm() it first' % cur.get('VERSION'))
    _remove(PEND)                # a switch cut before main.py was replaced
    new = SLOTS[1 - SLOTS.index(slot)]
    base = url[:url.rfind('/') + 1]
    man = new + '/' + MANIFEST
    _mkdirs(man)
    before = _version_of(man)
    yield _fetch(client, url, man, -1, None, tries, max_manifest, progress, False)
    try:
        with open(man) as f:
            doc = json.load(f)
        version = doc['version']
        files = doc['files']
        entry = doc.get('entry', 'appmain')
        config = doc.get('config', 'board.json')
        names = [_check_name(e['name']) for e in files]
        for v in (version, entry, config):
            _check_name(v)              # each goes into main.py and the markers
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise OtaError(EIO, '%s: not a modemkit OTA manifest (%r)' % (url, e))
    doc = None
    if version == cur.get('VERSION'):
        raise Return(None)
    m = last_failure()
    if m and m[0] == version and not retry_failed:
        raise OtaError(EIO, 'version %s failed its trial before (%s): not again unless '
                       'retry_failed' % (version, FAIL))
    for e in files:
        path = new + '/' + e['name']
        _mkdirs(path)
        # a short file is the start of this version's only if the last try was this version
        yield _fetch(client, base + e['name'], path, int(e['size']), e['sha256'].lower(),
                     tries, 0, progress, before == version)
    _prune(new, names + [MANIFEST])
    _switch(new, version, entry, new + '/' + config, deadline_s)
    raise Return(version)


def _version_of(man):
    try:
        with open(man) as f:
            return json.load(f).get('version')
    except Exception:            # none yet, or cut short: nothing to resume
        return None


def _check_name(name):
    # the slot's own relative paths only: nothing may land outside it
    if (not name or name[0] == '/' or '..' in name.split('/') or
            [c for c in name if c not in _NAME_OK]):
        raise OtaError(EIO, 'file name %r not allowed in a manifest' % name)
    return name


def _fetch(client, url, path, size, sha, tries, cap, progress, resume):
    """`url` into `path`: size bytes whose SHA-256 is sha (size -1: whatever the server sends,
    at most cap). What is on flash already counts: a file that matches is kept, a shorter
    one is continued if `resume`."""
    h = hashlib.sha256() if sha else None
    have = _size(path)
    if size < 0 or have > size or have < size and not resume:
        have = 0
    if have > 0:
        buf = client.buf
        with open(path, 'rb') as f:       # hash what is there; read in the client's buffer
            left = have
            while left:
                n = f.readinto(buf)
                if not n:
                    break
                h.update(_part(buf, n if n < left else left))
                left -= n if n < left else left
        if have == size and _hex(h) == sha:
            raise Return(have)
        if have == size:                  # complete but wrong: fetch it whole again
            have = 0
            h = hashlib.sha256()
    sink = _Sink(client, url, path, size if size >= 0 else cap, progress)
    attempt = 0
    while True:
        attempt += 1
        sink.have = have
        sink.h = h
        try:
            r = yield client.request('GET', url, {'Range': 'bytes=%d-' % have} if have else None,
                                     sink=sink)
            sink.start(r)                # an empty body: no write() opened the file
            sink.close()
            have = sink.have
            h = sink.h
            if size < 0 or have == size:
                break
            raise NetError(EIO, '%s: the body ended at %d of %d bytes' % (url, have, size))
        except OtaError as e:
            sink.close()
            _remove(path)
            raise e
        except NetError as e:
            sink.close()
            if attempt >= tries:
                _remove(path)            # discarded: a partial file is never installed
                raise e
            have = sink.have             # on flash, and exactly what the hash has seen
            h = sink.h
    got = _hex(h) if sha else None   # once: MicroPython's digest() ends the hash
    if got != sha:
        _remove(path)
        raise OtaError(EIO, '%s: SHA-256 %s, the manifest says %s' % (url, got, sha))
    raise Return(have)


class _Sink(object):
    """The client's sink for one file: opened at the first write, once the status says how
    (206: append to what is there; 200: the whole file again), each write hashed."""

    def __init__(self, client, url, path, limit, progress):
        self.c = client
        self.url = url
        self.path = path
        self.limit = limit
        self.progress = progress
        self.f = None
        self.have = 0
        self.h = None

    def start(self, r):
        if self.f is not None:
            return
        if r.status == 206 and self.have and _starts_at(r, self.have):
            mode = 'ab'
        elif r.status == 200:
            mode = 'wb'
            self.have = 0
            if self.h is not None:
                self.h = hashlib.sha256()
        else:
            raise OtaError(EIO, '%s: HTTP %d' % (self.url, r.status))
        self.f = open(self.path, mode)

    def write(self, b):
        if self.f is None:
            self.start(self.c.resp)
        n = len(b)
        if self.limit and self.have + n > self.limit:
            raise OtaError(EIO, '%s: longer than %d bytes' % (self.url, self.limit))
        self.f.write(b)
        if self.h is not None:
            self.h.update(b)
        self.have += n
        if self.progress:
            self.progress(self.path, self.have, self.limit)
        return n

    def close(self):
        if self.f is not None:
            self.f.close()
            self.f = None


def _starts_at(r, have):
    # 'Content-Range: bytes N-M/T' (RFC 9110 s14.4): the part asked for, not another; a client
    # that keeps no such header (Telit's own, IP Easy s10) has only the status to go by
    v = r.header('content-range')
    return v is None or v.startswith('bytes %d-' % have)


def _prune(slot, keep):
    """Delete the files of `slot` the manifest does not list (left by an older version)."""
    for name in _walk(slot):
        if name[len(slot) + 1:] not in keep:
            os.remove(name)


def _walk(d):
    out = []
    for name in os.listdir(d):
        p = d + '/' + name
        if _isdir(p):
            out.extend(_walk(p))
        else:
            out.append(p)
    return out


def _switch(slot, version, entry, config, deadline_s):
    """Rewrite main.py to start `slot`: the old one kept as main.old, the trial marker
    written, and main.new renamed over main.py last (the one step that switches)."""
    values = {'SLOT': slot, 'VERSION': version, 'ENTRY': entry, 'CONFIG': config}
    with open(MAIN) as src:
        with open(NEW, 'w') as dst:
            with open(OLD, 'w') as old:
                for line in src:
                    old.write(line)
                    k = line.split(' = ', 1)[0]
                    if k in values and line.startswith(k + ' = '):
                        line = '%s = %r\n' % (k, str(values[k]))
                    dst.write(line)
    with open(PEND, 'w') as f:
        f.write('%s %d %s\n' % (slot, deadline_s, version))
    os.rename(NEW, MAIN)
