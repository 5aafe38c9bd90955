"""pyftpdlib on 127.0.0.1 for the FTP tests, with the faults and extensions they need.

`FtpServer(root)` serves `root` to user 'logger'/'secret' in a background thread:
  .cut_after(n, verb=None)
                  the next data transfer (of that verb: RETR, STOR, APPE) is cut after about
                  n bytes: the server closes the data connection and answers 426, as when the
                  transfer breaks mid-way; several cuts wait in turn
  .xcrc = True    the server answers XCRC <file> with the file's CRC-32 (the draft command
                  Serv-U, FileZilla Server and ProFTPD's mod_digest implement); off by default,
                  as in pyftpdlib
  .bad_crc = True XCRC answers a wrong CRC (to see verification refuse an upload)
  .stall = n      data connections send nothing past about n bytes, yet stay open (a server
                  that hangs mid-transfer); None again lets them go on
`ftp_server` is the pytest fixture (import it into a test module to use it).
"""
import binascii
import logging
import os
import threading
import time

import pytest

USER = 'logger'
PASSWORD = 'secret'


class FtpServer:
    def __init__(self, root):
        from pyftpdlib.authorizers import DummyAuthorizer
        from pyftpdlib.handlers import DTPHandler, FTPHandler
        from pyftpdlib.servers import FTPServer

        log = logging.getLogger('pyftpdlib')
        if not log.handlers:
            log.addHandler(logging.NullHandler())    # else serve_forever() logs to stderr
        log.setLevel(logging.WARNING)
        self.root = str(root)
        self.plan = []               # (verb or None, bytes): transfers to cut, in turn
        self.cut = None              # bytes after which the running transfer is cut
        self.cuts = 0                # transfers cut so far
        self.xcrc = False
        self.bad_crc = False
        self.stall = None
        self.commands = []           # every command line received (bounded)
        server = self
        auth = DummyAuthorizer()
        auth.add_user(USER, PASSWORD, self.root, perm='elradfmwMT')

        class Dtp(DTPHandler):
            def _check_cut(self):
                if server.cut is not None and self.get_transmitted_bytes() >= server.cut:
                    server.cut = None
                    server.cuts += 1
                    self._resp = ('426 Injected fault; transfer aborted.', logging.debug)
                    self.close()
                    return True
                return False

            def handle_read(self):
                DTPHandler.handle_read(self)
                if not self._closed:
                    self._check_cut()

            handle_read_event = handle_read     # DTPHandler binds its own as a shortcut

            def send(self, data):
                if server.stall is not None:
                    room = server.stall - self.get_transmitted_bytes()
                    if room <= 0:
                        time.sleep(0.01)         # hung: nothing leaves, nothing closes
                        return 0
                    data = data[:room]
                if server.cut is not None and self.get_transmitted_bytes() + len(data) > server.cut:
                    data = data[:max(1, server.cut - self.get_transmitted_bytes())]
                n = DTPHandler.send(self, data)
                self._check_cut()
                return n

        class Handler(FTPHandler):
            banner = 'modemkit test server'
            auth_failed_timeout = 0      # pyftpdlib waits 3 s before a 530: not in tests
            use_sendfile = False         # every byte goes through Dtp.send (cut_after)
            dtp_handler = Dtp
            authorizer = auth
            proto_cmds = dict(FTPHandler.proto_cmds)
            proto_cmds['XCRC'] = dict(perm='r', auth=True, arg=True,
                                      help='Syntax: XCRC <SP> file-name (CRC-32 of the file).')

            def pre_process_command(self, line, cmd, arg):
                if len(server.commands) < 10000:
                    server.commands.append(line)
                if cmd in ('RETR', 'STOR', 'APPE'):
                    server.cut = None
                    if server.plan and line.startswith(server.plan[0][0] or cmd):
                        server.cut = server.plan.pop(0)[1]
                if cmd == 'XCRC' and not server.xcrc:
                    self.respond('500 Command "XCRC" not understood.')
                    return
                FTPHandler.pre_process_command(self, line, cmd, arg)

            def ftp_XCRC(self, path):
                if not os.path.isfile(path):
                    self.respond('550 No such file.')
                    return
                crc = 0
                with open(path, 'rb') as f:
                    for chunk in iter(lambda: f.read(65536), b''):
                        crc = binascii.crc32(chunk, crc)
                if server.bad_crc:
                    crc ^= 1
                self.respond('250 %08X' % crc)

        self.server = FTPServer(('127.0.0.1', 0), Handler)
        self.server.max_cons = 32
        self.port = self.server.address[1]
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={'timeout': 0.02, 'handle_exit': False},
            daemon=True)
        self.thread.start()

    def cut_after(self, n, verb=None):
        self.plan.append((verb, n))

    def path(self, name):
        return os.path.join(self.root, name)

    def read(self, name):
        with open(self.path(name), 'rb') as f:
            return f.read()

    def write(self, name, data):
        with open(self.path(name), 'wb') as f:
            f.write(data)

    def close(self):
        self.server.close_all()
        self.thread.join(5.0)


@pytest.fixture
def ftp_server(tmp_path):
    root = tmp_path / 'ftproot'
    root.mkdir()
    server = FtpServer(root)
    yield server
    server.close()
