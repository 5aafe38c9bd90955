"""Wavecom IP stack modems: Multi-Tech MTSMC-G / MTCBA-G on stack 3.02 (cited MT) and the GenPro
2Xe (cited GP), as digested in the seed digest, Part C. Board option `variant`: 'multitech'
(default) or 'genpro'.

The serial port carries no socket id: #OTCP and #LTCPSTART (TCP) and #OUDP (UDP, MT only) turn
the whole port into a data mode (C.3) where payload ETX/DLE bytes travel as DLE ETX / DLE DLE and
a bare ETX ends the session, from either side. Hence what this driver can and cannot do:

- ONE socket at a time. While it is open the module takes no AT command, so another open, a
  listen, a ping... fail at once with Unsupported saying what holds the module, and the lifecycle
  sends nothing until the session ends. Neither manual has an escape to command mode that keeps
  the session (no +++, no ring indicator for SMS; C.3, C.8 #1): SMS (modemkit.sms) wait for the
  session's end, or end it with end_session() after their `window_ms`; while their commands run
  the port is lent to them (`hold` 'sms') and an open waits for them (at most its timeout).
- Back-pressure on receive is the serial line's alone: the module pushes the stream unasked and
  no AT command asks for data. The manuals' answer is hardware flow control (MT App. B "Opening
  a TCP Socket": "the flow is controlled through the hardware flow control mechanism"; C.2,
  AT+IFC RTS/CTS). Board option `rtscts` (default off): the UART does it (a board UART opened
  with RTS/CTS, or a pty, which holds its writer by itself). Then while the socket's ring
  (`rx_size`) has no room for one more read of the stream the driver leaves the UART unread
  (_Rts): its buffer fills, RTS goes off, the module stops sending and stops reading the network
  in turn; nothing is lost. Without it what does not fit the ring is lost and counted in
  `sock.dropped` (not reading would overrun the UART unseen): read promptly, or size the ring
  for the largest burst. send() waits between its chunks until the reader has emptied the UART
  input; a module with CTS off makes the UART's writes wait.
- UDP (MT): one peer, fixed at open; the line shows no datagram boundaries (the module cuts
  datagrams after #UDPTXDELAY of silence), so a receive returns what came since the last one.
  No sendto() to others, no udp_service().
- A listener is one-shot (MT App. B: after its client the port no longer listens): accept()
  gives one connection, whose address the module does not report (conn.addr is None).
- No name lookup command (#OTCP resolves names itself): no resolve().
- Restarts: GP prints +WIND: 13 (GP s8), recognised also inside a data stream. MT prints
  nothing: in command mode the lifecycle asks AT#VSTATE every `poll_ms` (default 60 s) and a
  command answered #CME ERROR: 35867 (no GPRS connection) resyncs too; during a session an MT
  restart shows only when the session is closed (its ETX gets no answer). A module that stops
  answering may be in a data mode the driver lost track of: the resync starts with an ETX.
"""
from modemkit.at import Cmd, OK, FAIL, TIMEOUT
from modemkit.modem import Modem, SYNC, ATTACH, shown
from modemkit.sched import Return
from modemkit import sock
from modemkit.port import const
from modemkit.sock import NetError, TCP, UDP

_ETX = b'\x03'
_DLE = b'\x10'
_WIND = bytearray(b'\r\n+WIND: 13\r\n')      # GP s8: printed at every start-up
_CHUNK = const(64)            # bytes the AT channel reads from the UART at a time
# [INFERRED] no manual says how soon the OK after OK_Info_SocketClosed comes; commands wait for
# it this long at most (then a lost OK costs one wait, not the next command's answer)
_TAIL_MS = const(5000)
# MT Chapter 9 / GP s9.2: the codes a user meets, in words
_CODES = ('35841 GPRS session lost|35865 not attached|35866 activation refused|'
          '35867 no GPRS connection|35868 check the APN|37122 stack busy|37952 reset by peer|'
          '38016 open failed|38027 DNS failed|')


class _Rts(object):
    """The UART as the AT channel's reader sees it with board option `rtscts`: in a data mode,
    while the consumer of the stream (`modem.room()`: free bytes) has no room for one more chunk,
    nothing is waiting. The bytes stay in the UART, whose full receive buffer holds RTS off
    (C.2, AT+IFC), and nothing the module sends is lost between the UART and the consumer (whose
    buffer must hold at least one chunk)."""

    def __init__(self, uart, modem, chunk):
        self.u = uart
        self.m = modem
        self.chunk = chunk

    def held(self):
        m = self.m
        return m.flow and m.room is not None and m.room() < self.chunk

    def any(self):
        if self.held():
            return 0
        return self.u.any()

    def readinto(self, buf):
        if self.held():
            return 0
        return self.u.readinto(buf)

    def wait_readable(self, ms):
        if not self.held():
            return self.u.wait_readable(ms)
        # only a task can make room: the scheduler idles here only when none is ready
        self.m.sched.clock.idle(ms if 0 <= ms < 20 else 20)
        return False

    def write(self, buf, n=None, off=0):
        return self.u.write(buf, n, off)

    def close(self):
        self.u.close()


def _why(code, text):
    """The modem's error in words ('#CME ERROR: 38016 open failed'), else its own text."""
    k = _CODES.find('%d ' % code)
    return text if k < 0 else '#CME ERROR: ' + _CODES[k:_CODES.find('|', k)]


class Wavecom(Modem):
    MAX_SOCKETS = 1
    first_id = 1                  # the module's socket id {1,2}; 1 serves every session

    def __init__(self, sched, uart, cfg=None, log=None, **chan_args):
        self.room = None          # free bytes of the data mode's consumer (a function), or None
        if cfg and cfg.get('rtscts'):
            chunk = chan_args.get('chunk_bytes', _CHUNK)
            chan_args['chunk_bytes'] = chunk
            uart = _Rts(uart, self, chunk)
        Modem.__init__(self, sched, uart, cfg, log, **chan_args)
        gp = self.gp = self.cfg.get('variant') == 'genpro'
        self.CAPS = ('tcp', 'listen', 'ntp') if gp else ('tcp', 'udp', 'listen', 'ping')
        ch = self.chan
        for p in (b'OK_Info_', b'Ok_Info_'):
            # C.8 #5: both spellings occur; the keyword is told by its first letter
            ch.add_final(p, OK, True)
            ch.on(p, self._on_info, True)
        # C.2: '#CME ERROR: <n>' (MT also prints '#CME ERROR : <n>'); unsolicited after the
        # ETX that ends a session, or when the GPRS session is lost in command mode
        ch.add_final(b'#CME ERROR', FAIL, True)
        ch.on(b'#CME ERROR', self._on_error, True)
        # MT App. B: a session ends with ETX, 'Ok_Info_SocketClosed', then 'OK' ("the TCP
        # process is completely finished"); that OK answers no command. _rx holds the channel
        # at the ETX, the OK releases it: a command sent sooner would take it for its answer.
        ch.on(b'OK', self._on_ok, True)
        if gp:
            ch.on(b'+WIND: 13', self._on_boot)
        else:
            self.POLL_MS = 60000  # MT prints nothing when it restarts: poll() asks
        self._cmd = Cmd(size=160, timeout_ms=10000)
        self._tx = bytearray(128)     # staging bytes of one write in data mode
        self._regs = {}           # parameter registers written (they live in flash)
        self.hold = None          # what has the module: a Socket, or a service's name
        self.writing = 0          # send() calls under way (end_session() waits for them)
        self.ending = None        # the session end_session() is ending: no more writes
        self.sess = None          # the Socket of the data-mode session, until it is closed
        self.flow = False         # the port is in data mode
        self.said = False         # the module confirmed the end of the session
        self.lst = None           # a listener waiting for its client
        self.sock_room = self._sock_room    # bound once: room() of a socket's ring
        self._dle = False
        self._m = 0               # bytes of the start-up banner matched in the stream

    # -- lifecycle: configure() and activate() are in wavecom_up, loaded while they run --
    UP = 'modemkit.wavecom_up'

    def sync(self):
        r = yield self.q('AT', 500, ok=False)
        if r.status != OK:
            # a module still in a data mode takes AT for payload: a bare ETX ends it (C.3); in
            # command mode ETX CR is an empty line
            self.chan.uart.write(b'\x03\r')
            from modemkit import modem_up     # the supervisor's step has it loaded
            yield modem_up.sync(self)
        raise Return('answering')

    def poll(self):
        # in command mode only: a data-mode session takes no AT command
        if self.hold is None:
            r = yield self.q('AT#VSTATE', 5000, ok=False)
            if not r.nlines or r.text(0, 0) != 'CONNECTED':
                self._trouble(SYNC, 'AT#VSTATE: not connected')

    def cleanup(self, back):
        # the sockets have failed: forget the session and stop any stream
        self.chan.read_raw(0, None)
        self.sess = self.lst = self.hold = None
        self.flow = False
        self.chan.release()       # the resync's commands wait for no end of a session
        if False:
            yield

    # -- URCs (in the reader task: set state, never block) -----------------------------------
    def _on_info(self, line):
        k = line.buf[8] | 32 if line.n > 8 else 0
        s = self.sess
        if k == 115:                      # SocketClosed: the session's clean end
            self.said = True
            if s is not None:
                s.peer_closed()
        elif k == 119 and self.lst is not None and not self.flow:
            # WaitingForData: the listener's client came, data mode follows (GP s7.3.3)
            lst = self.lst
            self.lst = None
            s = sock.Socket(self, TCP, self.rx_size)
            s.id = 1
            s.state = sock.OPEN
            self.socks[0] = self.hold = s
            lst.backlog.append(s)
            lst.err = sock.Unsupported(sock.EOPNOTSUPP, 'one-shot listener: listen() again')
            lst.ev.set()
            self.sess = s
            self.room = self.sock_room
            self.flow = True
            self.said = self._dle = False
            self.chan.read_raw(-1, self._rx)

    def _on_ok(self, line):
        self.chan.release()

    def _on_error(self, line):
        # also the end of a session's closing sequence (ETX then #CME ERROR, no OK after it)
        self.chan.release()
        code = line.num(0, -1)
        why = _why(code, line.bytes().decode())
        if code == 35841:
            why = 'PDP context deactivated (%s)' % why
            self._trouble(ATTACH, why)
            err = sock.NetDown(sock.ENETDOWN, why)
        else:
            err = sock.Closed(sock.ECONNRESET, 'socket 1: ' + why)
        if self.sess is not None:
            self.said = True
            self.sess.fail(err)

    def _rx(self, buf, start, end):
        # The data-mode stream (C.3): DLE pairs un-escaped into the session's ring; a bare ETX
        # ends it, the line after says how (OK_Info_SocketClosed or #CME ERROR).
        if self.gp:
            # GP s8: +WIND: 13 at start-up, the only sign of a restart in a data mode
            m = self._m
            i = start
            while i < end:
                if not m:
                    i = buf.find(b'\r', i, end)
                    if i < 0:
                        break
                if buf[i] == _WIND[m]:
                    m += 1
                    i += 1
                    if m == len(_WIND):
                        self._m = 0
                        self.flow = False
                        self._trouble(SYNC, 'module restarted (+WIND: 13 in the data stream)')
                        return end - start
                elif m:
                    m = 0
                else:
                    i += 1
            self._m = m
        s = self.sess
        i = start
        while i < end:
            if self._dle:
                self._dle = False
                s.put(buf, i, i + 1)
                i += 1
                continue
            e = buf.find(_ETX, i, end)
            d = buf.find(_DLE, i, end)
            j = end if e < 0 else e
            if 0 <= d < j:
                j = d
            if j > i:
                s.put(buf, i, j)
            if j == end:
                return None
            i = j + 1
            if j == d:
                self._dle = True
            else:
                # the end: OK_Info_SocketClosed and OK, or #CME ERROR, follow (C.3)
                self.flow = False
                self.chan.hold(_TAIL_MS)
                return i - start
        return None

    def _sock_room(self):
        s = self.sess
        return len(s.rx) - s.n if s is not None else _CHUNK

    # -- exchanges -------------------------------------------------------------------------
    def _do(self, text, timeout_ms=10000, stream=None, refuse=False, secret=False):
        c = self._cmd
        c.clear().add(text)
        c.timeout_ms = timeout_ms
        c.stream = stream
        r = yield self.chan.send(c)
        c.stream = None
        if r.status == OK:
            raise Return(r)
        code = r.code
        what = (shown(c.text(), secret) if c.n > 1 else 'ETX') + ': ' + _why(code, r.error())
        if r.status == TIMEOUT or code == 35867:
            # no answer: it may sit in a data mode we lost track of (sync() sends an ETX);
            # 35867 (no GPRS connection) is how a silent Multi-Tech restart shows
            self._trouble(SYNC, what)
            yield                 # the supervisor takes the module back first
            if code < 0:
                raise sock.TimedOut(sock.ETIMEDOUT, what)
            raise sock.NetDown(sock.ENETDOWN, what)
        raise sock.Refused(sock.ECONNREFUSED, what) if refuse else NetError(sock.EIO, what)

    def _param(self, name, value):
        """AT<name>=<value>, unless the module holds that value already."""
        if self._regs.get(name) != value:
            if not self.gp:
                # MT App. B: "A 1 second delay shall be introduced before each AT# command
                # issued for writing parameters value"
                yield self.sched.sleep_ms(1000)
            # #APNPW, #FTPPW: a password
            yield self._do('AT%s=%s' % (name, value), secret=name.endswith('PW'))
            self._regs[name] = value

    def _ready(self, timeout_ms, what):
        if self.trouble is not None:
            yield                 # the supervisor acts on it first
        yield self.wait_ready(timeout_ms)
        waited = 0
        while self.hold == 'sms' and waited < timeout_ms:
            # an SMS exchange has the port for a moment (modemkit.sms): take it after
            yield self.sched.sleep_ms(50)
            waited += 50
        if self.hold is not None:
            raise sock.Unsupported(sock.EOPNOTSUPP, '%s: busy with %r (one session at a time, '
                                   'no AT command in data mode)' % (what, self.hold))
        self.hold = what

    # -- sockets ---------------------------------------------------------------------------
    def new_socket(self, kind, timeout_ms, rx_size=None, tx_size=None):
        yield self._ready(timeout_ms, 'socket')
        self.hold = None
        s = yield Modem.new_socket(self, kind, timeout_ms, rx_size, tx_size)
        self.hold = s
        raise Return(s)

    def forget(self, s):
        Modem.forget(self, s)
        if self.hold is s:
            self.hold = None

    def connect(self, s, host, port_, timeout_ms):
        if s.kind == UDP:
            # MT Chapter 6: the UDP session goes to UDPSERV:UDPPORT, always DLE-escaped
            yield self._param('#UDPSERV', '"%s"' % host)
            yield self._param('#UDPPORT', '%d' % port_)
            s.addr = (host, port_)
            text = 'AT#OUDP'
        else:
            yield self._param('#TCPSERV', '1,"%s"' % host)
            yield self._param('#TCPPORT', '1,%d' % port_)
            text = 'AT#OTCP=1'
        # the stream starts right after OK_Info_WaitingForData, maybe in the same read
        self.sess = s
        self.room = self.sock_room
        self.flow = True
        self.said = self._dle = False
        try:
            yield self._do(text, timeout_ms, self._rx, True)
        except BaseException:
            self.sess = None
            self.flow = False
            raise
        if s.state == sock.OPENING:
            s.state = sock.OPEN

    def listen(self, port_, timeout_ms=30000):
        """A one-shot listener on the module's port (MT App. B): accept() gives one client."""
        return _svc().listen(self, port_, timeout_ms)

    def send(self, s, data, n, timeout_ms):
        # C.3: payload ETX and DLE travel as DLE ETX and DLE DLE; staged in place
        self.writing += 1         # end_session() waits for the end of this write
        try:
            uart = self.chan.uart
            tx = self._tx
            cap = len(tx)
            if isinstance(data, memoryview):
                data = bytearray(data[:n])     # find() below: bytes or bytearray
            mv = memoryview(data)
            e = data.find(_ETX, 0, n)
            d = data.find(_DLE, 0, n)
            i = 0
            while i < n:
                k = 0
                while k < cap - 1 and i < n:
                    j = n
                    if 0 <= e < j:
                        j = e
                    if 0 <= d < j:
                        j = d
                    if j > i:
                        if j - i > cap - k:
                            j = i + cap - k
                        tx[k:k + j - i] = mv[i:j]
                        k += j - i
                        i = j
                        continue
                    tx[k] = 16
                    if i == e:
                        tx[k + 1] = 3
                        e = data.find(_ETX, i + 1, n)
                    else:
                        tx[k + 1] = 16
                        d = data.find(_DLE, i + 1, n)
                    k += 2
                    i += 1
                # nothing holds the module's stream back: let the reader empty the input first
                while uart.any():
                    yield
                if s is not self.sess or not self.flow or self.ending is s:
                    raise s.err or sock.Closed(sock.ECONNRESET, 'socket 1: session ended')
                uart.write(tx, k)
        finally:
            self.writing -= 1

    def close(self, s):
        try:
            if s is self.lst:
                self.lst = None
                yield self._do('AT#LTCPSTOP=1')
            elif s is self.sess:
                self.room = None      # what is still in the ring is dropped: read the end
                if self.said:
                    # payload we sent after the module's end sits in its command line: end it
                    self.chan.uart.write(b'\r')
                else:
                    # a bare ETX ends the session: the module echoes it (ending the stream),
                    # then OK_Info_SocketClosed, OK. Sent also after an ETX from the module it
                    # did not confirm (a garbled byte can look like one).
                    yield self._do(_ETX, 5000)
        except NetError:
            # #CME ERROR after the ETX ends the sequence (no OK follows); a module that did not
            # answer is being resynced already
            self.chan.release()
        finally:
            if s is self.sess:
                if self.flow:
                    self.chan.read_raw(0, None)
                self.sess = None
                self.flow = False
            self.forget(s)

    def end_session(self):
        """End the data-mode session that holds the port (a bare ETX, C.3), for commands that
        cannot wait for its end (SMS); its owner sees the socket Closed. Between two of its
        writes, so the peer gets no half of one (an MQTT packet). A listener that holds the
        port for its client (which may come, and start data mode, at any moment) is stopped
        (AT#LTCPSTOP): its accept() sees Closed."""
        waited = 0
        while self.writing and waited < 5000:
            yield self.sched.sleep_ms(10)
            waited += 10
        s = self.sess
        what = 'session ended'
        if s is None or s is self.lst:
            s = self.lst
            what = 'listener stopped'
            if s is None or self.hold is not s:
                return                # a socket connecting, a service: they end by themselves
        err = sock.Closed(sock.ECONNRESET, 'socket 1: %s for SMS (no AT command in data mode)'
                          % what)
        self.ending = s
        try:
            yield self.close(s)
        finally:
            self.ending = None
        s.fail(err)

    def sendto(self, s, data, addr, timeout_ms):
        self.need('sendto')       # MT #OUDP: one peer, fixed at open

    # -- services, in wavecom_svc: imported on first use ----------------------------------
    def ping(self, host, count=4, timeout_s=4):
        """(sent, received, lost, min_ms, max_ms, avg_ms), MT Chapter 7. One response line per
        request: beyond the channel's max_lines (12) they are not counted."""
        return _svc().ping(self, host, count, timeout_s)

    def ntp(self, server, port_=123, timeout_ms=60000):
        """The module's clock set by SNTP, as it prints it: 'yy/mm/dd,hh:mm:ss' with the
        AT+EGNTPUTC offset (GP s5)."""
        return _svc().ntp(self, server, port_, timeout_ms)


def _svc():
    # the services' code stays out of the heap until a device first uses one (README, "Memory")
    from modemkit import wavecom_svc
    return wavecom_svc
