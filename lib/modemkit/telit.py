"""Telit IP Easy modules (xE910, LE910Cx, ME910C1...): the multi-socket AT commands of the
"IP Easy User Guide" 80000ST10028A rev. 26 (cited as §x).

Sockets stay in COMMAND mode (#SD ...,1, §8): data goes out with #SSENDEXT, and SRING in Data
amount mode (#SCFGEXT srMode 1, §8.7.4) says how many bytes the module holds, so the pump asks
AT#SRECV for exactly what fits in the socket; a slow reader holds data back in the module.

The syntax differences between platforms (A.1.1 of the digest) follow the Platform Version ID:
board key `platform`, else the leading number of AT+CGMR (12 = 3G xE910, 25 = LE910Cx, 30 =
ME910C1...). The guide documents no start-up URC and no context-loss URC, so poll() checks the
module in `ready`: +CMEE back at its default means it restarted, #SGACT? says if the context is
up, and after a NO CARRIER (§8.7.1: the module's word for a socket it closed) #SS tells which.
"""
from modemkit.at import Cmd, OK, PROMPT, PROMPT_GT
from modemkit.modem import Modem, SYNC, ATTACH, fail
from modemkit.sched import Return
from modemkit.sock import (NetError, Refused, Closed, NetDown, Unsupported, Socket, TCP, UDP,
                           LISTENER, OPENING, OPEN, CLOSED, ECONNREFUSED, ECONNRESET,
                           ENETDOWN, EOPNOTSUPP, EIO)

CHUNK = 1500        # #SSENDEXT/#SRECV maximum: not in the guide; #SCFG <pktSz> goes to 1500


class Telit(Modem):
    CAPS = ('tcp', 'udp', 'listen', 'ping')
    MAX_SOCKETS = 6              # connId 1-6 exist on every platform (#SCFG=?, A.1.1 #8)
    SEND_CHUNK = CHUNK
    CMEE = b'AT+CMEE=2'          # the verbose errors the guide prints everywhere (A.5)
    POLL_MS = 10000
    first_id = 1

    def __init__(self, sched, uart, cfg=None, log=None, **chan_args):
        Modem.__init__(self, sched, uart, cfg, log, **chan_args)
        self.ctx = self.cfg.get('context', 1)
        self.plat = 0
        self.lst = [None] * self.MAX_SOCKETS   # a listener whose connId serves a connection
        self._nc = False                       # a NO CARRIER not yet traced to its socket
        self._fs = None                        # the socket the pump is reading
        self._put_fn = self._put
        self._send = Cmd(size=24, timeout_ms=10000, prompt=PROMPT_GT)
        self.chan.on(b'SRING:', self._on_sring)
        self.chan.on(b'NO CARRIER', self._on_nc)

    # -- lifecycle -------------------------------------------------------------------------
    def configure(self):
        yield Modem.configure(self)
        c = self.cfg
        ctx = self.ctx
        p = c.get('platform')
        if p is None:
            r = yield self.q('AT+CGMR')
            p = 0
            for ch in bytearray(r.line(0) if r.nlines else b''):
                if not 48 <= ch <= 57:
                    break
                p = p * 10 + ch - 48
        self.plat = p
        yield self.q('AT+CGDCONT=%d,"IP","%s"' % (ctx, c.get('apn', '')))
        for i in range(1, self.MAX_SOCKETS + 1):
            # §6.1: #SCFG only changes a closed socket. Every socket goes to our cid (2G/3G
            # must bind a cid before #SGACT, §4.2.5), inactivity timeout 0 = never (T-RUN
            # §3.9), then SRING in Data amount mode (§8.3.1)
            yield self.q('AT#SH=%d;#SCFG=%d,%d,1500,0,600,50;#SCFGEXT=%d,1,0,0' % (i, i, ctx, i))
        user = c.get('user')
        if user:
            auth = c.get('auth', 1)
            if p >= 30:                               # §5.9.2
                yield self.q('AT+CGAUTH=%d,%d,"%s","%s"' % (ctx, auth, user, c.get('password', '')))
            elif p >= 20:                             # §5.9.1 (ID 23: not in the guide)
                yield self.q('AT#PDPAUTH=%d,%d,"%s","%s"' % (ctx, auth, user, c.get('password', '')))
            else:                                     # §4.2.4; user and password go on #SGACT
                yield self.q('AT#SGACTAUTH=%d' % auth)
        if 20 <= p < 30 and ctx != 1:
            yield self.q('AT#PROTOCOLCFG="PING",%d' % ctx)     # §14.2, §9.2
        raise Return('platform %d, context %d' % (p, ctx))

    def activate(self):
        ctx = self.ctx
        ip = None
        r = yield self.q('AT#SGACT?', 5000, b'#SGACT:')
        if self._up(r) == 1:
            r = yield self.q('AT#CGPADDR=%d' % ctx, 5000, b'#CGPADDR:')
            ip = r.text(0, 1) if r.nlines else None
        if not ip:
            # §5.4: on 4G cid 1 may carry the attach's bearer and still need #SGACT for the
            # interface sockets use; never +CGACT (§4.3). The guide gives no response time.
            t = 'AT#SGACT=%d,1' % ctx
            if self.cfg.get('user') and p_sgact(self.plat):
                t += ',"%s","%s"' % (self.cfg['user'], self.cfg.get('password', ''))
            r = yield self.q(t, 150000, b'#SGACT:')
            ip = r.text(0, 0) if r.nlines else None     # quoted or not (A.7 #18)
        if not ip:
            raise NetError(EIO, 'no address for context %d' % ctx)
        self.ip = ip
        raise Return('ip ' + ip)

    def _up(self, r):
        for i in range(r.nlines):
            if r.num(i, 0) == self.ctx:
                return r.num(i, 1)
        return -1

    def poll(self):
        for _ in range(3):
            r = yield self.q('AT+CMEE?;#SGACT?', 2000, ok=False)
            cmee = -1
            if r.status == OK:
                for i in range(r.nlines):
                    if r.num(i, 1) is None:
                        cmee = r.num(i, 0, -1)
                up = self._up(r)
            if cmee >= 0:
                break
            yield self.sched.sleep_ms(1000)
        else:
            self._trouble(SYNC, 'module not answering')
            return
        if cmee != 2:
            # no start-up URC in the guide: a restart shows as settings back at their defaults
            self._trouble(SYNC, 'module restarted (+CMEE: %d)' % cmee)
        elif up != 1:
            self._trouble(ATTACH, 'PDP context deactivated')
        elif self._nc:
            self._nc = False
            for s in self.socks:
                if s is not None and s.kind != LISTENER and s.state == OPEN:
                    st = yield self._ss(s.id)
                    if st == 0:
                        s.rclosed = True
                        s.pending = True
                        self.kick()

    def cleanup(self, back):
        if back > SYNC:
            # the module may still hold sockets the app lost (§6.5: #SH of a closed one is OK)
            yield self.q('AT' + ';'.join(['#SH=%d' % i for i in range(1, self.MAX_SOCKETS + 1)]),
                         5000, ok=False)

    def _lost(self, why):
        Modem._lost(self, why)
        for i in range(self.MAX_SOCKETS):
            if self.lst[i] is not None:
                self.lst[i].fail(NetDown(ENETDOWN, 'network down: ' + why))
                self.lst[i] = None

    # -- URCs (run inside the AT reader task: set state, never block) ----------------------
    def _on_sring(self, line):
        s = self.sock_by_id(line.num(0, -1))
        if s is None:
            return
        n = line.num(1)
        if n is None:
            if s.backlog is None:      # SRING: <connId> on a listener: a connection (§7)
                return
        else:
            s.res = n                  # §8.7.4: all the bytes the module holds for it
        s.pending = True
        self.kick()

    def _on_nc(self, line):
        self._nc = True
        self.wake.set()

    # -- sockets ---------------------------------------------------------------------------
    def connect(self, s, host, port_, timeout_ms):
        # <connTo> 600 is the guide's default (§6.1, no unit given; 60 s in the AT reference)
        c = Cmd('AT#SD=%d,%d,%d,"%s",0,0,1' % (s.id, s.kind, port_, host), 65000)
        r = yield self.chan.send(c)
        if r.status != OK:
            yield self._sh(s.id)
            raise Refused(ECONNREFUSED, '%s: %s' % (c.text(), r.error()))
        s.res = 0
        s.state = OPEN

    def listen(self, port_, timeout_ms=30000):
        """A TCP listener (#SL, §7). The module serves one connection at a time on the
        listener's connId: accept() gives it, and closing it listens again."""
        self.need('listen')
        s = yield self._listen(LISTENER, 'AT#SL=%d,1,%d', port_, timeout_ms)
        raise Return(s)

    def udp_service(self, port_, timeout_ms=30000):
        """A UDP socket on a local port (#SLUDP, §7.3): recv_into() datagrams from anyone;
        sendto() reaches only the first sender, whom the module accepted on this connId."""
        self.need('udp')
        s = yield self._listen(UDP, 'AT#SLUDP=%d,1,%d', port_, timeout_ms)
        s.state = OPENING              # until the first datagram is accepted
        raise Return(s)

    def _listen(self, kind, text, port_, timeout_ms):
        s = yield self.new_socket(kind, timeout_ms)
        s.backlog = []
        s.res = port_
        r = yield self.chan.send(Cmd(text % (s.id, port_), 5000))
        if r.status != OK:
            self.forget(s)
            s.state = CLOSED
            raise Refused(ECONNREFUSED, 'listen on %d: %s' % (port_, r.error()))
        s.state = OPEN
        raise Return(s)

    def _accept(self, s):
        i = s.id - 1
        s.pending = False
        c = s
        if s.kind == LISTENER:
            # the connection takes over the connId now, so its first SRING finds it
            c = Socket(self, TCP, self.rx_size)
            c.id = s.id
            self.socks[i] = c
            self.lst[i] = s
        c.state = OPEN
        c.res = 0
        r = yield self.chan.send(Cmd('AT#SA=%d,1' % s.id, 10000))       # §8.7.2
        if r.status != OK:
            self.socks[i] = s
            self.lst[i] = None
            s.state = OPENING if s.kind == UDP else OPEN
            raise fail(Cmd('AT#SA'), r)
        r = yield self._ss(s.id, True)
        c.addr = r
        if s is not c:
            s.backlog.append(c)
            s.ev.set()

    def _ss(self, cid, addr=False):
        """#SS <state> of a socket (§7.2; 0 closed, 1-3 connected), or with addr its peer."""
        r = yield self.chan.send(Cmd('AT#SS=%d' % cid, 2000, b'#SS:'))
        if r.status != OK or not r.nlines:
            raise Return(None if addr else -1)
        raise Return((r.text(0, 4), r.num(0, 5, 0)) if addr else r.num(0, 1, -1))

    def _sh(self, cid):
        yield self.chan.send(Cmd('AT#SH=%d' % cid, 5000))

    def send(self, s, data, n, timeout_ms):
        c = self._send
        off = 0
        waited = 0
        while off < n:
            k = n - off
            if k > CHUNK:
                k = CHUNK
            c.clear().add(b'AT#SSENDEXT=').add(s.id).add(b',').add(k)    # §8.4
            r = yield self.chan.send(c)
            if r.status == PROMPT:
                r = yield self.chan.send_data(data if off == 0 else memoryview(data)[off:], k)
                if r.status == OK:
                    off += k
                    continue
            # refused: a full module buffer or a garbled line if still connected, else closed
            if (yield self._ss(s.id)) not in (1, 2, 3) or waited >= (timeout_ms or 30000):
                raise Closed(ECONNRESET, 'socket %d: %s' % (s.id, r.error()))
            yield self.sched.sleep_ms(100)
            waited += 100

    def sendto(self, s, data, addr, timeout_ms):
        if s.addr != (addr[0], addr[1]) or s.kind != UDP:
            raise Unsupported(EOPNOTSUPP, 'socket %d sends only to %r' % (s.id, s.addr))
        yield self.send(s, data, len(data), timeout_ms)

    def fetch(self, s):
        if s.backlog is not None and (s.kind == LISTENER or s.state == OPENING):
            yield self._accept(s)
            return
        c = self._c_pump
        c.clear().add(b'AT#SRECV=').add(s.id).add(b',')
        k = s.room()
        if s.kind == UDP:
            k = CHUNK                  # a whole datagram; what does not fit rx is dropped
        if k > s.res:
            k = s.res
        if k > CHUNK:
            k = CHUNK
        c.add(k if k > 0 else 1)
        c.expect = b'#SRECV:'
        c.length_field = 1
        c.put = self._put_fn
        self._fs = s
        r = yield self.chan.send(c)
        c.put = None
        if r.status != OK:
            raise fail(c, r)
        if not r.nraw:
            s.res = 0
        s.pending = s.res > 0
        if s.rclosed and not s.pending:
            s.peer_closed()

    def _put(self, buf, start, end):
        # counted here, in line order, so an SRING that follows the answer is not undercut
        s = self._fs
        s.res -= end - start
        s.put(buf, start, end)

    def close(self, s):
        i = s.id - 1
        self.forget(s)
        lst = self.lst[i]
        if s.kind == LISTENER:
            if lst is s:
                self.lst[i] = None
            # stop listening; a connection it accepted goes on (§7)
            yield self.chan.send(Cmd('AT#SL=%d,0,%d' % (s.id, s.res), 5000))
            return
        yield self._sh(s.id)
        if lst is not None:
            # the listener's connId served this connection: listen on it again
            self.lst[i] = None
            r = yield self.chan.send(Cmd('AT#SL=%d,1,%d' % (s.id, lst.res), 5000))
            if r.status == OK:
                self.socks[i] = lst
            else:
                lst.fail(NetError(EIO, 'listen again: ' + r.error()))

    # -- services --------------------------------------------------------------------------
    def ping(self, host, count=4, timeout_s=4):
        """(sent, received, lost, min_ms, max_ms, avg_ms) for `count` echo requests (§14).
        The module waits for each reply as long as its own default <timeout> says."""
        self.need('ping')
        yield self.wait_ready(60000)
        t = 'AT#PING="%s",%d' % (host, count)
        if self.ctx != 1:
            if self.plat < 20:
                raise Unsupported(EOPNOTSUPP, 'ping runs on cid 1 only (§14.1)')
            if self.plat >= 30:
                t += ',,,,%d' % self.ctx               # <pdId>, §14.2
        c = Cmd(t, (timeout_s * count + 30) * 1000, b'#PING:')
        r = yield self.chan.send(c)
        if r.status != OK:
            raise fail(c, r)
        got = r.nlines
        if not got:
            raise Return((count, 0, count, 0, 0, 0))
        ms = [r.num(i, 2, 0) for i in range(got)]
        raise Return((count, got, count - got, min(ms), max(ms), sum(ms) // got))

    def resolve(self, host, timeout_ms=None):
        """IP Easy has no DNS command: #SD and #PING take names (§6.2)."""
        self.need('dns')

    def ntp(self, server, port_=123, timeout_ms=None):
        self.need('ntp')


def p_sgact(plat):
    return True
