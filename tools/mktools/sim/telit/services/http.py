"""Telit native HTTP commands (T-IPE §10): `#HTTPCFG`, `#HTTPQRY`, `#HTTPSND`, `#HTTPRCV` and the
`#HTTPRING` URC.  A mixin of `TelitModem`; the network side is `http_client.HttpExchange`.

What the seed says, and what it leaves open (the emulator's choice is named each time):

- Three profiles (0-2) "automatically saved in NVM" (§10.1): they survive a reboot;
  `AT#HTTPCFG=<prof_id>` alone restores that profile's defaults.  Defaults are the §10.1 read
  examples; the 3G/4G examples show `<cid>` 3 where the text says the HTTP service socket is
  bound to cid 1 "by default" [SEED-ISSUE]: the examples are followed, so a user sets the cid.
- One HTTP session per module across every AT port (§10): a request while another is in flight
  fails (the seed gives no text: `Already connected`, as FTP's GT-18).  Once `#HTTPRING` is out
  the connection is closed and a new request may start; its answer replaces the old one.
- Every request carries `Connection: close` (§10.2, §10.3), so the answer ends with the
  connection; `#HTTPRING: <prof_id>,<status>,"<content_type>",<data_size>` comes once it has.
  No answer within the profile's `<timeout>` (seconds) gives status 0 (§10.2 note I); so does an
  answer that is not HTTP at all [INFERRED: the seed names no other outcome].
- The seed's body text spells the URC `#HTTTPRING` and the read command `#HTTTPRCV` (triple T,
  digest A.3.5); its command list says `#HTTPRCV`.  The URC is printed as config
  `http_ring` says (default `#HTTPRING`; `#HTTTPRING` prints the seed's spelling) and both
  spellings of the read command are accepted.
- `#HTTPQRY` `<command>`: 0 GET (§10.4.1); HEAD and DELETE exist (§10.2's title) with codes the
  seed does not give: 1 HEAD, 2 DELETE [EXTERNAL: Telit AT reference guide].  `#HTTPSND`
  `<command>`: 0 POST, 1 PUT (§10.4.2, §10.4.3).  `<post_param>` (the body's type, "refer to 4G
  documents"): "0" application/x-www-form-urlencoded, "1" text/plain, "2"
  application/octet-stream, "3" multipart/form-data, any other text is sent as the type itself
  [EXTERNAL: Telit AT reference guide].
- `#HTTPSND` answers `>>>` and takes exactly `<data_len>` bytes (§10.3); the seed gives no upper
  bound: config `http_send_max`.  `#HTTPRCV=<prof_id>` prints the body with no header or marker
  line (§10.4.1, digest A.3.5): CR LF, the `<data_size>` bytes, then OK; the body is then gone
  (a second `#HTTPRCV` fails).  The module's own buffer size is not in the seed: config
  `http_rx_max`.
- `<auth_type>` 1 sends the user and password as HTTP basic authentication [EXTERNAL: RFC 7617];
  `<ssl_enable>` 1 is refused (no TLS in the emulator).  `<extra_header_line>`: several lines
  separated by `>>` (§10.2 note III).
"""

import base64

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.telit.services.http_client import Answer, HttpExchange

PROFILES = 3
RCV_PIECE = 4096                # body bytes handed to the line at a time, at the DTE's pace
POST_TYPES = {'0': 'application/x-www-form-urlencoded', '1': 'text/plain',
              '2': 'application/octet-stream', '3': 'multipart/form-data'}
QRY_METHODS = ('GET', 'HEAD', 'DELETE')
SND_METHODS = ('POST', 'PUT')
BUSY = 'Already connected'      # see the module docstring: the seed's "error message"


def default_profile(prof_id, gen2):
    """§10.1 read examples: 2G `0,"",80,0,"","*****",0,120,1`; 3G/4G `...,0,120,3,300,0,0`;
    profile 2 names Telit's m2mlocate server."""
    server, port = ('m2mlocate.telit.com', 9978) if prof_id == 2 else ('', 80)
    return {'server': server, 'port': port, 'auth': 0, 'user': '', 'password': '', 'ssl': 0,
            'timeout': 120, 'cid': 1 if gen2 else 3, 'pkt_size': 300}


class HttpSession:
    """The module's one HTTP session: the request in flight, then its answer until read."""

    def __init__(self, prof_id, owner):
        self.prof_id = prof_id
        self.owner = owner              # the AT instance that gets #HTTPRING
        self.exchange = None
        self.answer = None              # once #HTTPRING is out
        self.cid = None


class HttpCommands:
    """The #HTTP... command handlers."""

    COMMANDS = {'#HTTPCFG': 'at_httpcfg', '#HTTPQRY': 'at_httpqry', '#HTTPSND': 'at_httpsnd',
                '#HTTPRCV': 'at_httprcv', '#HTTTPRCV': 'at_httprcv'}
    HTTP_DEFAULTS = {'http_ring': '#HTTPRING', 'http_send_max': 4 << 20, 'http_rx_max': 8 << 20}

    def reset_http(self):
        self.module.http = None

    def drop_http(self):
        session, self.module.http = getattr(self.module, 'http', None), None
        if session is not None and session.exchange is not None:
            session.exchange.abort()

    def http_services_lost(self, cid):
        session = getattr(self.module, 'http', None)
        if session is not None and session.cid == cid and session.exchange is not None:
            session.exchange.abort()
            session.exchange = None
            self._ring(session, None)

    def _http_cfg(self, key):
        return self.config.get(key, self.HTTP_DEFAULTS[key])

    def _profiles(self):
        gen2 = self.platform.platform_id < 12
        if 'httpcfg' not in self.nvm:
            self.nvm['httpcfg'] = [default_profile(i, gen2) for i in range(PROFILES)]
        return self.nvm['httpcfg']

    # -- #HTTPCFG (§10.1) -------------------------------------------------------------------

    def _cfg_long(self):
        return self.platform.platform_id >= 12 and self.platform.platform_id != 25

    def at_httpcfg(self, op, args):
        plat = self.platform
        profiles = self._profiles()
        if op == 'test':
            if plat.platform_id == 25:      # §10.1.3.3.1: SSL 0 only, 63-character server
                self.line('#HTTPCFG: (0-2),63,(1-65535),(0,1),50,50,(0),(1-65535),(1-5)')
            else:
                tail = ',(0-1500),(0),(0)' if self._cfg_long() else ''
                self.line(f'#HTTPCFG: (0-2),50,(1-65535),(0,1),50,50,(0,1),(1-65535),'
                          f'(1-{plat.cids[1]}){tail}')
            return 'OK'
        if op == 'read':
            for i, p in enumerate(profiles):
                tail = f',{p["pkt_size"]},0,0' if plat.platform_id >= 12 else ''
                self.line(f'#HTTPCFG: {i},"{p["server"]}",{p["port"]},{p["auth"]},'
                          f'"{p["user"]}","*****",{p["ssl"]},{p["timeout"]},{p["cid"]}{tail}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        prof_id = self.arg_int(args, 0, 0, PROFILES - 1)
        session = self.module.http
        if session is not None and session.exchange is not None and session.prof_id == prof_id:
            return self.cme(BUSY)
        old = profiles[prof_id]
        if len(args) == 1:
            profiles[prof_id] = default_profile(prof_id, plat.platform_id < 12)
            return 'OK'
        server_max = 63 if plat.platform_id == 25 else 50
        new = {
            'server': self.arg_str(args, 1, server_max, default=old['server']),
            'port': self.arg_int(args, 2, 1, 65535, default=old['port']),
            'auth': self.arg_int(args, 3, 0, 1, default=old['auth']),
            'user': self.arg_str(args, 4, 50, default=old['user']),
            'password': self.arg_str(args, 5, 50, default=old['password']),
            'ssl': self.arg_int(args, 6, 0, 0 if plat.platform_id == 25 else 1,
                                default=old['ssl']),
            'timeout': self.arg_int(args, 7, 1, 65535, default=old['timeout']),
            'cid': self.arg_int(args, 8, 1, plat.cids[1], default=old['cid']),
            'pkt_size': old['pkt_size'],
        }
        if self._cfg_long():
            new['pkt_size'] = self.arg_int(args, 9, 0, 1500, default=old['pkt_size'])
            self.arg_int(args, 10, 0, 0, default=0)
            self.arg_int(args, 11, 0, 0, default=0)
        elif len(args) > 9:
            return 'ERROR'
        profiles[prof_id] = new
        return 'OK'

    # -- requests (§10.2, §10.3) ------------------------------------------------------------

    def at_httpqry(self, op, args):
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        prof_id = self.arg_int(args, 0, 0, PROFILES - 1)
        method = QRY_METHODS[self.arg_int(args, 1, 0, len(QRY_METHODS) - 1)]
        resource = self.arg_str(args, 2, 255)
        extra = self.arg_str(args, 3, 255, default='')
        refused = self._http_refused(prof_id)
        if refused:
            return refused
        self._http_start(prof_id, method, resource, extra, None, None)
        return 'OK'

    def at_httpsnd(self, op, args):
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        prof_id = self.arg_int(args, 0, 0, PROFILES - 1)
        method = SND_METHODS[self.arg_int(args, 1, 0, len(SND_METHODS) - 1)]
        resource = self.arg_str(args, 2, 255)
        size = self.arg_int(args, 3, 1, self._http_cfg('http_send_max'))
        post_param = self.arg_str(args, 4, 100, default='0')
        extra = self.arg_str(args, 5, 255, default='')
        refused = self._http_refused(prof_id)
        if refused:
            return refused
        ctype = POST_TYPES.get(post_param.strip(), post_param)
        # the session is taken now: another port's request fails while this one's data comes
        self.module.http = HttpSession(prof_id, self)

        def sent(data):
            if data is None:
                self.module.http = None
                return self.cme('generic undocumented error')
            self._http_start(prof_id, method, resource, extra, data, ctype)
            return 'OK'

        return self.prompt(b'>>>', sent, size=size, ctrl_z=False, esc_cancels=False)

    def _http_refused(self, prof_id):
        """The final text refusing a request now, or None."""
        session = self.module.http
        if session is not None and session.exchange is not None:
            return self.cme(BUSY)
        if session is not None and session.answer is None and session.owner is not self:
            return self.cme(BUSY)              # another port's #HTTPSND is taking its data
        p = self._profiles()[prof_id]
        if not p['server']:
            return self.cme('cannot resolve DN')
        if p['ssl']:
            return self.cme('operation not supported')
        if self.interface_ip(p['cid']) is None:
            return self.context_error(p['cid'])
        try:
            self.net.resolve(p['server'])
        except NetError:
            return self.cme('cannot resolve DN')
        return None

    def _http_start(self, prof_id, method, resource, extra, body, ctype):
        p = self._profiles()[prof_id]
        host = p['server'] if p['port'] == 80 else f'{p["server"]}:{p["port"]}'
        lines = [f'{method} {resource} HTTP/1.1', f'Host: {host}', 'Connection: close']
        if p['auth']:
            token = base64.b64encode(f'{p["user"]}:{p["password"]}'.encode('latin-1'))
            lines.append('Authorization: Basic ' + token.decode('ascii'))
        if body is not None:
            lines += [f'Content-Type: {ctype}', f'Content-Length: {len(body)}']
        lines += [h.strip() for h in extra.split('>>') if h.strip()]
        request = ('\r\n'.join(lines) + '\r\n\r\n').encode('latin-1') + (body or b'')
        session = HttpSession(prof_id, self)
        session.cid = p['cid']
        self.module.http = session
        self.log('http_request', method=method, resource=resource, size=len(body or b''))
        if not self.route_ok(p['cid']):
            self.later(p['timeout'], self._ring, session, None)
            return
        session.exchange = HttpExchange(
            self.loop, self.net, p['server'], p['port'], request, method, p['timeout'],
            self._http_cfg('http_rx_max'), lambda answer: self._ring(session, answer), self.log)

    def _ring(self, session, answer):
        if self.module.http is not session:
            return
        session.exchange = None
        if answer is None:
            answer = Answer()
        session.answer = answer
        ring = self._http_cfg('http_ring')
        session.owner.urc(f'{ring}: {session.prof_id},{answer.status},'
                          f'"{answer.content_type}",{len(answer.body)}')

    # -- #HTTPRCV (§10.4.1) -----------------------------------------------------------------

    def at_httprcv(self, op, args):
        if op != 'set':
            return 'OK' if op == 'test' else 'ERROR'
        prof_id = self.arg_int(args, 0, 0, PROFILES - 1)
        session = self.module.http
        if (session is None or session.answer is None or session.prof_id != prof_id
                or not session.answer.body):
            return self.cme('operation not allowed')
        body, session.answer.body = session.answer.body, b''
        self.send(b'\r\n')
        self._rcv_pump(memoryview(body), 0)
        return PENDING

    def _rcv_pump(self, body, off):
        # at the line's pace: a body larger than the line's backlog is handed over in pieces
        while off < len(body):
            if self.dte_stopped():
                self.when_dte_resumes(lambda: self._rcv_pump(body, off))
                return
            self.send(body[off:off + RCV_PIECE])
            off += RCV_PIECE
        self.finish('OK')
