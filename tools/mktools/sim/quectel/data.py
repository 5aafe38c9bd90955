"""Quectel data transfer (QL §1.2, §2.1.7-§2.1.10): AT+QISEND, AT+QISENDEX, AT+QIRD,
AT+QISWTMD, ATO and transparent access mode."""

import binascii

from mktools.sim.core.net import SEND_BUFFER
from mktools.sim.quectel.common import (
    BUFFER, CLOSING, CONNECT_IDS, CONNECTED, E_CANCEL, E_CLOSED, E_INVALID, E_TIMEOUT,
    E_UNSUPPORTED, READ_MAX, SEND_MAX, SENDEX_HEX_MAX, TCP_LISTENER, TRANSPARENT, UDP_SERVICE,
    is_ipv4, tcpip_command)

TRANS_OUT_MAX = 64 * 1024       # transparent-mode bytes from the DTE not yet taken by the socket
TRANS_RETRY_S = 0.05            # retry period when the socket's send buffer is full


class DataCommands:
    """Mixin of `QuectelModem`: sending, reading and access-mode switching."""

    COMMANDS = {'+QISEND': 'qisend', '+QISENDEX': 'qisendex', '+QIRD': 'qird',
                '+QISWTMD': 'qiswtmd', 'O': 'ato'}

    def _socket_arg(self, args):
        """The socket named by argument 0, or None when that connectID is free."""
        return self.sockets.get(self.arg_int(args, 0, *CONNECT_IDS))

    # -- sending ----------------------------------------------------------------------------

    def send_to_peer(self, sock, data, dest=None):
        """Hand `data` to the socket; False when its send buffer cannot take all of it
        (SEND FAIL, QL §2.1.7).  Data sent while stalled is held, as an unacked backlog."""
        if sock.is_tcp():
            if len(data) > SEND_BUFFER - sock.conn.buffered() - len(sock.held_out):
                return False
            if sock.stalled:
                sock.held_out += data
            else:
                sock.conn.send(data)
        elif sock.stalled:
            self.log('datagram_lost', sock=sock.cid, size=len(data))
        else:
            sock.conn.sendto(data, dest or (sock.remote_ip, sock.remote_port))
        sock.tx_total += len(data)
        return True

    def flush_held(self, sock):
        """Send what a stall held back."""
        if sock.held_out and sock.is_tcp():
            sock.conn.send(bytes(sock.held_out))
            sock.held_out.clear()

    def _unacked(self, sock):
        if not sock.is_tcp():
            return 0
        return sock.conn.unacked() + len(sock.held_out)

    @tcpip_command
    def qisend(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        sock = self._socket_arg(args)
        length = self.arg_int(args, 1, 0, SEND_MAX, default=None)
        if sock is None:
            return self.fail(E_INVALID)
        if length == 0 and len(args) == 2:
            total, unacked = sock.tx_total, self._unacked(sock)
            self.line(f'+QISEND: {total},{total - unacked},{unacked}')
            return 'OK'
        dest = None
        if sock.service == UDP_SERVICE:
            # QL §2.1.7: fixed length to "<remoteIP> (must be dot format)",<remote_port>
            ip = self.arg_str(args, 2, 15)
            port = self.arg_int(args, 3, 0, 65535)
            if not length or not is_ipv4(ip):
                return self.fail(E_INVALID)
            dest = (ip, port)
        elif len(args) > 2 or length == 0 or sock.service == TCP_LISTENER:
            return self.fail(E_INVALID)
        if sock.state != CONNECTED:
            return self.fail(E_CLOSED)
        return self._send_prompt(sock, length, dest)

    def _send_prompt(self, sock, length, dest):
        hex_input = self.options['dataformat'][0] == 1
        size = None if length is None else length * (2 if hex_input else 1)
        timeout_ms = self.options['qisend/timeout'][0]
        started = self.loop.now()

        def on_data(data):
            if data is None:
                timed_out = timeout_ms and self.loop.now() - started >= timeout_ms / 1000
                return self.fail(E_TIMEOUT if timed_out else E_CANCEL)
            if hex_input:
                try:
                    data = binascii.unhexlify(data)
                except (binascii.Error, ValueError):
                    return self.fail(E_INVALID)
            if len(data) > SEND_MAX:
                return self.fail(E_INVALID)
            if self.sockets.get(sock.cid) is not sock or sock.state != CONNECTED:
                return self.fail(E_CLOSED)
            return 'SEND OK' if self.send_to_peer(sock, data, dest) else 'SEND FAIL'

        # the prompt is "> " after <CR><LF> (QL §3.2.2 shows "> test1<ctrl+Z>")
        prompt = b'\r\n> ' if self.verbose else b'> '
        return self.prompt(prompt, on_data, size=size, timeout_s=timeout_ms / 1000 or None,
                           echo=bool(self.send_echo))

    @tcpip_command
    def qisendex(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        sock = self._socket_arg(args)
        text = self.arg_str(args, 1, SENDEX_HEX_MAX)
        try:
            data = binascii.unhexlify(text)
        except (binascii.Error, ValueError):
            return self.fail(E_INVALID)
        if sock is None or not data:
            return self.fail(E_INVALID)
        if sock.service in (UDP_SERVICE, TCP_LISTENER):     # QL §2.1.9
            return self.fail(E_UNSUPPORTED)
        if sock.state != CONNECTED:
            return self.fail(E_CLOSED)
        return 'SEND OK' if self.send_to_peer(sock, data) else 'SEND FAIL'

    # -- AT+QIRD (QL §2.1.8) ----------------------------------------------------------------

    @tcpip_command
    def qird(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        sock = self._socket_arg(args)
        length = self.arg_int(args, 1, 0, READ_MAX, default=READ_MAX)
        if sock is None or sock.service == TCP_LISTENER:
            return self.fail(E_INVALID)
        if length == 0:
            self.line(f'+QIRD: {sock.rx_total},{sock.rx_read},{sock.unread()}')
            return 'OK'
        if sock.service == UDP_SERVICE:
            # "One whole UDP packet will be outputted" (QL §3.6.3): no length needed
            if not sock.datagrams:
                return self._read_nothing(sock)
            data, (ip, port) = sock.datagrams.popleft()
            sock.datagram_bytes -= len(data)
            header = f'+QIRD: {len(data)},"{ip}",{port}'
        else:
            data = bytes(sock.rx[:length])
            if not data:
                return self._read_nothing(sock)
            del sock.rx[:len(data)]
            header = f'+QIRD: {len(data)}'
        self.consumed(sock, len(data))
        self._output_data(header, data)
        return 'OK'

    def _read_nothing(self, sock):
        sock.notified = False
        self.line('+QIRD: 0')
        return 'OK'

    def _output_data(self, header, data):
        """`<header><CR><LF><data>` (or `<header>,<data>` with viewmode 1) and the <CR><LF>
        before the final result."""
        body = self.format_rx(data)
        if self.options['viewmode'][0]:
            self.line(header + ',' + body.decode('latin-1'))
        else:
            self.line(header)
            self.send(body + (b'\r\n' if self.verbose else b''))

    def view_separator(self):
        return ',' if self.options['viewmode'][0] else '\r\n'

    def format_rx(self, data):
        """Received data as the DTE sees it: raw, or hex with dataformat recv 1."""
        return data.hex().upper().encode() if self.options['dataformat'][1] else data

    # -- access modes (QL §1.2, §2.1.10) ----------------------------------------------------

    @tcpip_command
    def qiswtmd(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        sock = self._socket_arg(args)
        mode = self.arg_int(args, 1, 0, 2)
        if sock is None or sock.service in (TCP_LISTENER, UDP_SERVICE) and mode == TRANSPARENT:
            return self.fail(E_INVALID)
        if mode != TRANSPARENT:
            self.set_access_mode(sock, mode)
            return 'OK'
        if sock.state != CONNECTED:
            return self.fail(E_CLOSED)
        self.enter_transparent(sock)
        return 'CONNECT'

    def ato(self, op, args):
        """ATO: back to the connection that last left transparent mode, else NO CARRIER."""
        sock = self.sockets.get(self.last_transparent)
        if sock is None or sock.state != CONNECTED:
            return 'NO CARRIER'
        self.enter_transparent(sock)
        return 'CONNECT'

    def set_access_mode(self, sock, mode):
        sock.access_mode = mode
        if mode == BUFFER:
            self.settle_end(sock)
        else:
            self.pump(sock)

    def enter_transparent(self, sock):
        """Bridge the port to `sock` once the handler's CONNECT has gone out; data already
        buffered follows the CONNECT."""
        sock.access_mode = TRANSPARENT
        sock.notified = False
        self.online_sock = sock
        self.last_transparent = sock.cid
        self.go_online(lambda data: self._trans_input(sock, data),
                       lambda: self._trans_escape(sock))
        self.pump(sock)

    def _trans_escape(self, sock):
        """`+++` (QL §1.2): OK, and the connection is in buffer access mode."""
        self.online_sock = None
        self._trans_flush(sock, everything=True)
        if sock.state == CLOSING and sock.end_pending:
            sock.end_pending = 'closed'
        self.set_access_mode(sock, BUFFER)
        return 'OK'

    def _trans_input(self, sock, data):
        """DTE bytes while online, packetised by "transpktsize" / "transwaittm" (QL §2.1.15)."""
        if sock.state != CONNECTED:
            self.log('trans_input_lost', sock=sock.cid, size=len(data))
            return
        room = TRANS_OUT_MAX - len(sock.trans_out)
        if len(data) > room:
            self.log('trans_overflow', sock=sock.cid, lost=len(data) - room)
        sock.trans_out += data[:room]
        self._trans_flush(sock, everything=False)

    def _trans_flush(self, sock, everything):
        size = self.options['transpktsize'][0]
        wait_s = self.options['transwaittm'][0] / 10
        everything = everything or not wait_s
        blocked = False
        while sock.trans_out and (everything or len(sock.trans_out) >= size):
            packet = bytes(sock.trans_out[:size])
            if sock.state != CONNECTED or not self.send_to_peer(sock, packet):
                blocked = True
                break
            del sock.trans_out[:len(packet)]
        if sock.trans_timer is not None:
            sock.trans_timer.cancel()
            sock.trans_timer = None
        if sock.trans_out and sock.state == CONNECTED:
            sock.trans_timer = self.later(TRANS_RETRY_S if blocked else wait_s,
                                          self._trans_wait_over, sock)

    def _trans_wait_over(self, sock):
        sock.trans_timer = None
        if self.sockets.get(sock.cid) is sock:
            self._trans_flush(sock, everything=True)
