"""Local mail servers for the mail tests, on 127.0.0.1 and ephemeral ports, started and stopped
by fixtures:

- `smtp_server`: aiosmtpd's Controller (a thread with its own asyncio loop) with a handler that
  keeps every message (envelope and the DATA bytes as the server un-stuffed them) and, when
  `smtp_server.auth` is set, takes AUTH PLAIN with that (user, password); a recipient
  'nobody@...' is refused (550).
- `pop3_server`: a small RFC 1939 server (USER, PASS, STAT, LIST, RETR, DELE, NOOP, RSET, QUIT)
  over a mailbox the test fills: no maintained POP3 server package fits a test (the Python
  ones are mail systems, not a fixture).
"""
import socket
import socketserver
import threading
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self):
        self.messages = []          # (mail_from, rcpt_tos, data bytes)
        self.auth = None

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith('nobody@'):
            return '550 5.1.1 no such mailbox'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return '250 OK'

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None and
              (auth_data.login.decode(), auth_data.password.decode()) == self.auth)
        return AuthResult(success=ok)

    def wait(self, n=1, timeout_s=20):
        end = time.monotonic() + timeout_s
        while len(self.messages) < n and time.monotonic() < end:
            time.sleep(0.02)
        return self.messages


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    store = Store()
    ctl = Controller(store, hostname='127.0.0.1', port=free_port(),
                     authenticator=store.authenticate, auth_require_tls=False,
                     auth_required=False)
    ctl.start()
    store.port = ctl.port
    try:
        yield store
    finally:
        ctl.stop()


class Pop3Handler(socketserver.StreamRequestHandler):
    def send(self, line):
        self.wfile.write(line.encode('latin-1') + b'\r\n')

    def handle(self):
        box = self.server.box
        user = None
        authed = False
        deleted = set()
        self.send('+OK test POP3 ready')
        for _ in range(1000):
            raw = self.rfile.readline(1024)
            if not raw:
                return
            self.server.log.append(raw.decode('latin-1').rstrip())
            cmd, _, arg = raw.decode('latin-1').strip().partition(' ')
            cmd = cmd.upper()
            live = [i for i in range(len(box.messages)) if i not in deleted]
            if cmd == 'QUIT':
                for i in sorted(deleted, reverse=True):
                    del box.messages[i]
                self.send('+OK bye')
                return
            if cmd == 'USER':
                user = arg
                self.send('+OK')
            elif cmd == 'PASS':
                authed = (user, arg) == box.login
                self.send('+OK logged in' if authed else '-ERR bad login')
            elif not authed:
                self.send('-ERR log in first')
            elif cmd == 'STAT':
                self.send('+OK %d %d' % (len(live), sum(len(box.messages[i]) for i in live)))
            elif cmd == 'RETR' and arg.isdigit() and 0 < int(arg) <= len(box.messages) \
                    and int(arg) - 1 not in deleted:
                msg = box.messages[int(arg) - 1]
                self.send('+OK %d octets' % len(msg))
                lines = msg.replace(b'\r\n', b'\n').split(b'\n')
                if lines and lines[-1] == b'':
                    lines.pop()
                out = b''.join((b'.' + ln if ln.startswith(b'.') else ln) + b'\r\n'
                               for ln in lines)
                self.wfile.write(out + b'.\r\n')
            elif cmd == 'DELE' and arg.isdigit() and 0 < int(arg) <= len(box.messages):
                deleted.add(int(arg) - 1)
                self.send('+OK deleted')
            elif cmd in ('NOOP', 'RSET'):
                if cmd == 'RSET':
                    deleted.clear()
                self.send('+OK')
            else:
                self.send('-ERR unknown')


class Pop3Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@pytest.fixture
def pop3_server():
    srv = Pop3Server(('127.0.0.1', 0), Pop3Handler)
    srv.messages = []
    srv.login = ('module@example.test', 'secret')
    srv.log = []
    srv.box = srv
    srv.port = srv.server_address[1]
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield srv
    finally:
        srv.shutdown()
        srv.server_close()
