"""The in-process rig for FTP tests: a driver (lib/modemkit) on the fake clock, the emulated
module behind a fake UART, pyftpdlib behind the emulator's loopback networking.

The emulator polls real sockets between fake-clock steps; it does so without blocking (the
drivers' default rig blocks up to 1 ms a step, which makes a 5 MiB transfer take a minute), so
test timeouts are generous: fake time runs far ahead of a server that is slow to answer.
"""
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), 'drivers'))

from rig import Rig                     # noqa: E402
from modemkit import ftp                # noqa: E402

TIMEOUT_MS = 120000
FTP_HOST = 'ftp.test'


def make_rig(dialect, board=None, **kw):
    rig = Rig(dialect, board=board, sim={'hosts': {FTP_HOST: '127.0.0.1',
                                                  'broker.test': '127.0.0.1'}}, **kw)
    rig.fe.real_poll_s = 0
    rig.sched.depth = ftp.DEPTH
    return rig


def ftp_cfg(server, backend, **kw):
    from ftpserver import USER, PASSWORD
    cfg = {'host': FTP_HOST, 'port': server.port, 'user': USER, 'password': PASSWORD,
           'backend': backend, 'timeout_ms': TIMEOUT_MS}
    cfg.update(kw)
    return cfg


def write_file(path, data):
    with open(path, 'wb') as f:
        f.write(data)


def read_file(path):
    with open(path, 'rb') as f:
        return f.read()
