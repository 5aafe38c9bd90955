"""A third-party HTTP client unmodified on the device: micropython-lib's urequests (the PyPI
package micropython-urequests 0.9.1, fetched into build/vendor by mktools.dev.vendor, as
umqtt.simple is) on the MicroPython unix port, its `import usocket` answered by modemkit's usock
shim, through a pty to `modemkit sim` and on to http.server: a GET of 20 KB and a POST of a
20 KB body, each checked by SHA-256.

micropython-lib's newer `requests` (python-ecosys/requests) is the same client grown a
`_http` helper module; it is published on micropython.org's package index, not on PyPI (whose
micropython-requests is an empty placeholder), so the PyPI release of its predecessor is the
one fetched here."""
import hashlib
import os
import subprocess

import pytest

from mktools.dev import romrun

from httpserver import http_server, payload     # noqa: F401  (fixture)
from test_http_mpy import start_sim, stop, tool, ROOT, HERE
from conftest import read_lines

VENDOR = os.path.join(ROOT, 'build', 'vendor')
# urequests keeps a whole body in RAM (the POST's data; Response.content, grown by read()):
# 20 KB each way needs more than the 64 KiB modemkit.http streams a megabyte through
HEAP = os.environ.get('MODEMKIT_REQUESTS_HEAP', '192K')
BODY = bytes((i * 7 + 3) & 0xff for i in range(20480))


@pytest.mark.parametrize('dialect', ['quectel', 'telit'])
def test_urequests_unmodified_on_micropython(dialect, http_server, tmp_path):
    if not tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    from mktools.dev.vendor import ensure
    ensure('micropython-urequests==0.9.1', VENDOR, 'urequests/__init__.py')
    link = str(tmp_path / 'ttyMODEM')
    sim = start_sim(dialect, link)
    lines = []
    app = None
    try:
        app = subprocess.Popen(
            romrun.command(HEAP, module='requestscheck_mpy',
                           rom=[os.path.join(HERE, 'requestscheck_mpy.py'),
                                os.path.join(VENDOR, 'urequests') + '=lib/urequests'],
                           args=['/rom/lib', dialect, link, http_server.port]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 240, 'done')     # a deadline that holds in silence
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        stop(sim)
    out = '\n'.join(lines)
    print(out)
    assert 'done' in lines, out
    got = hashlib.sha256(payload(20480)).hexdigest()
    assert 'ok get 200 20480 %s' % got in lines, out
    sent = hashlib.sha256(BODY).hexdigest()
    assert 'ok post 200 %s %s' % (sent, sent) in lines, out
    assert http_server.bodies == [sent]
