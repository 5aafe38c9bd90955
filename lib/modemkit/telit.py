"""Telit IP Easy modules (xE910, LE910Cx, ME910C1...): the multi-socket AT commands of the
"IP Easy User Guide" 80000ST10028A rev. 26 (cited as sx).

Sockets stay in COMMAND mode (#SD ...,1, s8). The modem's I/O task sends with #SSENDEXT;
SRING in Data amount mode (#SCFGEXT srMode 1, s8.7.4) says how many bytes the module holds, so
the I/O task asks AT#SRECV for exactly what fits in the socket: a slow reader holds data back
in the module.

The syntax differences between platforms (A.1.1 of the digest) follow the Platform Version ID:
board key `platform`, else the leading number of AT+CGMR (12 = 3G xE910, 25 = LE910Cx, 30 =
ME910C1...). The guide documents no start-up URC and no context-loss URC, so poll() checks the
module in `ready`: +CMEE back at its default means it restarted, #SGACT? says if the context is
up, and after a NO CARRIER (s8.7.1: the module's word for a socket it closed) #SS tells which.
"""
from modemkit import sock
from modemkit.port import const
from modemkit.at import Cmd, OK, FAIL, TIMEOUT, NO_PROMPT
from modemkit.modem import Modem, SYNC, ATTACH, fail
from modemkit.sched import Return

_CHUNK = const(1500)    # #SSENDEXT/#SRECV maximum: not in the guide; #SCFG <pktSz> to 1500


class Telit(Modem):
    CAPS = ('tcp', 'udp', 'listen', 'ping')
    MAX_SOCKETS = 6              # connId 1-6 exist on every platform (#SCFG=?, A.1.1 #8)
    SEND_CHUNK = _CHUNK
    SEND_CMD = b'AT#SSENDEXT='   # s8.4: <connId>,<bytestosend>, '>', the bytes, OK
    CMEE = b'AT+CMEE=2'          # the verbose errors the guide prints everywhere (A.5)
    POLL_MS = 10000
    first_id = 1

    def __init__(self, sched, uart, cfg=None, log=None, **chan_args):
        Modem.__init__(self, sched, uart, cfg, log, **chan_args)
        self.ctx = self.cfg.get('context', 1)
        self.plat = 0
        self.lst = [None] * self.MAX_SOCKETS   # a listener whose connId serves a connection
        self._nc = False                       # a NO CARRIER not yet traced to its socket
        self._fs = None                        # the socket the I/O task is reading
        self._info = False                     # its #SRECV answer names the sender
        self._put_fn = self._put
        self.chan.on(b'SRING:', self._on_sring)
        self.chan.on(b'NO CARRIER', self._on_nc)

    # -- lifecycle: configure() and activate() are in telit_up, loaded while they run ----
    UP = 'modemkit.telit_up'

    def _up(self, r):
        for i in range(r.nlines):
            if r.num(i, 0) == self.ctx:
                return r.num(i, 1)
        return -1

    def poll(self):
        seen = None
        for _ in range(4):
            r = yield self.q('AT+CMEE?;#SGACT?', 2000, ok=False)
            cmee = up = -1
            if r.status == OK:
                for i in range(r.nlines):
                    if r.num(i, 1) is None:
                        cmee = r.num(i, 0, -1)
                up = self._up(r)
            if cmee == 2 and up == 1:
                break
            if cmee >= 0:
                # bad news counts once the module says it twice (a line may be garbled)
                if seen == (cmee, up):
                    break
                seen = (cmee, up)
                continue
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
                if s is not None and s.kind != sock.LISTENER and s.state == sock.OPEN:
                    st = yield self._ss(s.id)
                    if st == 0 or st > 3:
                        # closed, or its connId listens again. EOF once the module's bytes for
                        # it are read (it reports after them, s8.7.1)
                        s.rclosed = True
                        if s.res > 0:
                            s.pending = True
                            self.kick()
                        else:
                            s.peer_closed()

    def cleanup(self, back):
        if back > SYNC:
            # the module may still hold sockets the app lost (s6.5: #SH of a closed one is OK)
            reserved = self.cfg.get('reserved', ())
            ids = [i for i in range(1, self.MAX_SOCKETS + 1) if i not in reserved]
            yield self.q('AT' + ';'.join(['#SH=%d' % i for i in ids]), 5000, ok=False)

    def _lost(self, why):
        Modem._lost(self, why)
        for i in range(self.MAX_SOCKETS):
            # then the listeners whose connId was serving one of those connections
            self.socks[i] = self.lst[i]
            self.lst[i] = None
        Modem._lost(self, why)

    # -- URCs (run inside the AT reader task: set state, never block) ----------------------
    def _on_sring(self, line):
        s = self.sock_by_id(line.num(0, -1))
        if s is None:
            return
        n = line.num(1)
        if n is None:
            # SRING: <connId> without a count: a connection for a listener (s7)
            if s.backlog is None:
                return
        else:
            s.res = n                  # s8.7.4: all the bytes the module holds for it
        s.pending = True
        self.kick()

    def _on_nc(self, line):
        self._nc = True
        self.wake.set()

    # -- sockets ---------------------------------------------------------------------------
    def connect(self, s, host, port_, timeout_ms):
        # <connTo> 600 is the guide's default (s6.1, no unit given; 60 s in the AT reference)
        c = Cmd('AT#SD=%d,%d,%d,"%s",0,0,1' % (s.id, s.kind, port_, host), 65000)
        for _ in range(2):
            # before the command: an SRING for the peer's first bytes (a greeting) may come in
            # the same read as the OK, and its count must survive
            s.res = 0
            r = yield self.chan.send(c)
            st = r.status
            if st == OK:
                s.state = sock.OPEN
                return
            err = sock.Refused(sock.ECONNREFUSED, '%s: %s' % (c.text(), r.error()))
            # the module may still hold the connId (an #SH lost on the line): close, try again
            yield self._sh(s.id)
            if st != FAIL:
                break
        raise err

    def data_cmd(self, s, host, port_):
        # T-IPE 6.2 <connMode> 0: CONNECT, ONLINE mode; 6.4 #SO resumes it. #SKIPESC=1
        # (6.6.3): our escape is not sent to the peer. #SCFG (6.1, closed sockets only) <txTo>
        # 1: a tail shorter than <pktSz> leaves after 100 ms, not the configured 5 s (6.3)
        if host is None:
            return 'AT#SO=%d' % s.id
        return 'AT#SKIPESC=1;#SCFG=%d,%d,1500,0,600,1;#SD=%d,0,%d,"%s",0,0,0' % (
            s.id, self.ctx, s.id, port_, host)

    def listen(self, port_, timeout_ms=30000):
        """A TCP listener (#SL, s7). The module serves one connection at a time on the
        listener's connId: accept() gives it, and closing it listens again."""
        return self._listen(sock.LISTENER, port_, timeout_ms)

    def udp_service(self, port_, timeout_ms=30000):
        """A UDP socket on a local port (#SLUDP, s7.3): recv_into() datagrams from anyone;
        sendto() reaches only the first sender, whom the module accepted on this connId."""
        return self._listen(sock.UDP, port_, timeout_ms)

    def _listen(self, kind, port_, timeout_ms):
        self.need('udp' if kind == sock.UDP else 'listen')
        s = yield self.new_socket(kind, timeout_ms)
        s.backlog = []
        s.addr = port_                 # a listener keeps its port here
        c = Cmd('AT#SL%s=%d,1,%d' % ('UDP' if kind == sock.UDP else '', s.id, port_), 5000)
        r = yield self.chan.send(c)
        if r.status != OK:
            self.forget(s)
            s.state = sock.CLOSED
            raise fail(c, r)
        # a UDP service is accepted (opened) by its first datagram
        s.state = sock.OPENING if kind == sock.UDP else sock.OPEN
        raise Return(s)

    def _accept(self, s):
        i = s.id - 1
        s.pending = False
        c = s
        if s.kind == sock.LISTENER:
            # the connection takes over the connId now, so its first SRING finds it
            c = sock.Socket(self, sock.TCP, self.rx_size, self.tx_size)
            c.id = s.id
            self.socks[i] = c
            self.lst[i] = s
        c.state = sock.OPEN
        c.res = 0
        a = Cmd('AT#SA=%d,1' % s.id, 10000)       # s8.7.2
        r = yield self.chan.send(a)
        if r.status != OK:
            self.socks[i] = s
            self.lst[i] = None
            raise fail(a, r)
        peer = yield self._ss(s.id, True)
        if s is c:
            s.peer = peer              # where #SSENDEXT on this connId goes
        else:
            c.addr = peer
            s.backlog.append(c)
            s.ev.set()

    def _ss(self, cid, addr=False):
        """#SS <state> of a socket (s7.2; 0 closed, 1-3 connected), or with addr its peer."""
        r = yield self.chan.send(Cmd('AT#SS=%d' % cid, 2000, b'#SS:'))
        if r.status != OK or not r.nlines:
            raise Return(None if addr else -1)
        raise Return((r.text(0, 4), r.num(0, 5, 0)) if addr else r.num(0, 1, -1))

    def _sh(self, cid):
        c = Cmd('AT#SH=%d' % cid, 5000)
        for _ in range(3):
            r = yield self.chan.send(c)
            if r.status == OK:
                return

    def send_refused(self, s):
        if self.chan.resp.status == TIMEOUT:
            # No '>' came: if it was lost on the line the module waits for the bytes and would
            # swallow the next commands (the guide gives no prompt timeout): give it zeros up
            # to the largest chunk and end the line they start otherwise. The peer may get
            # them, so the socket is over.
            z = bytearray(64)
            for _ in range(24):                        # 1536 >= _CHUNK
                self.chan.uart.write(z)
            self.chan.uart.write(b'\r')
            raise Return(False)
        # ERROR: closed, or a garbled line while still connected (then try again)
        st = yield self._ss(s.id)
        raise Return(st in (1, 2, 3))

    def sendto(self, s, data, addr, timeout_ms):
        if getattr(s, 'peer', None) != (addr[0], addr[1]):
            raise sock.Unsupported(sock.EOPNOTSUPP, 'no sending to %r' % (addr,))
        yield s.send(data, timeout_ms)

    def fetch(self, s):
        if s.backlog is not None and (s.kind == sock.LISTENER or s.state == sock.OPENING):
            yield self._accept(s)
            return
        c = self._c_io
        c.clear().add(b'AT#SRECV=').add(s.id).add(b',')
        c.timeout_ms = 5000
        c.prompt = NO_PROMPT
        # UDP: a whole datagram (what does not fit rx is dropped); a service socket asks for
        # <UDPinfo>, whose answer is '#SRECV: <ip>,<port>,<connId>,<n>,<left>' [INFERRED from
        # the data-view UDP SRING of s8.7.6: the guide shows only the plain form]
        info = s.kind == sock.UDP and s.backlog is not None
        k = _CHUNK if s.kind == sock.UDP else s.room()
        if k > s.res:
            k = s.res
        if k > _CHUNK:
            k = _CHUNK
        c.add(k if k > 0 else 1)
        if info:
            c.add(b',1')
        c.expect = b'#SRECV:'
        c.length_field = 3 if info else 1
        c.put = self._put_fn
        self._fs = s
        self._info = info
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
        if self._info:
            # the sender is known before the datagram can be read
            self._info = False
            r = self.chan.resp
            s.addr = (r.text(0, 0), r.num(0, 1, 0))
        s.res -= end - start
        s.put(buf, start, end)

    def close(self, s):
        i = s.id - 1
        self.forget(s)
        lst = self.lst[i]
        if s.kind == sock.LISTENER:
            if lst is s:
                self.lst[i] = None
            # stop listening; a connection it accepted goes on (s7)
            yield self.chan.send(Cmd('AT#SL=%d,0,%d' % (s.id, s.addr), 5000))
            return
        yield self._sh(s.id)
        if lst is not None:
            # the listener's connId served this connection: listen on it again
            self.lst[i] = None
            c = Cmd('AT#SL=%d,1,%d' % (s.id, lst.addr), 5000)
            r = yield self.chan.send(c)
            if r.status == OK:
                self.socks[i] = lst
            else:
                lst.fail(fail(c, r))

    # -- services --------------------------------------------------------------------------
    def ping(self, host, count=4, timeout_s=4):
        """(sent, received, lost, min_ms, max_ms, avg_ms) for `count` echo requests (s14).
        The module waits for each reply as long as its own default <timeout> says."""
        self.need('ping')
        yield self.wait_ready(60000)
        # the ping service runs on cid 1 (2G/3G s14.1; ID 20/25: #PROTOCOLCFG default, s9.2)
        # or, on ID 30/37, on the cid given as <pdId> (s14.2)
        ctx = self.ctx
        c = Cmd('AT#PING="%s",%d%s' % (host, count, ',,,,%d' % ctx
                                        if ctx != 1 and self.plat >= 30 else ''),
                (timeout_s * count + 30) * 1000, b'#PING:')
        r = yield self.chan.send(c)
        if r.status != OK:
            raise fail(c, r)
        # one '#PING: <replyId>,<IP>,<replyTime>,<tTl>' per reply (s14.1)
        got = r.nlines + r.dropped
        if not got:
            raise Return((count, 0, count, 0, 0, 0))
        ms = [r.num(i, 2, 0) for i in range(r.nlines)]
        raise Return((count, got, count - got, min(ms), max(ms), sum(ms) // len(ms)))

    def resolve(self, host, timeout_ms=None):
        """IP Easy has no DNS command: #SD and #PING take names (s6.2)."""
        self.need('dns')

