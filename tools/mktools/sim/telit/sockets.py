"""Telit IP Easy multi-socket commands (T-IPE §6, §8): `#SCFG`, `#SCFGEXT(2)`, `#SD`, `#SO`,
`#SH`, `#SS`, `#SI`, `#SLASTCLOSURE`, `#SSEND(EXT)`, `#SRECV`, `#SKIPESC`.  A mixin of
`TelitModem`; the sockets themselves are `TelitSocket`s, listening is in `listen`.
"""

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.telit.socket import TelitSocket
from mktools.sim.telit.socket_data import CAUSE_NETWORK, INCOMING, OPEN

SCFG_DEFAULT = [300, 90, 600, 50]        # <pktSz>,<maxTo>,<connTo>,<txTo> (§6.1)
SEND_MAX = 1500                          # #SSENDEXT / #SRECV byte count [EXTERNAL: AT ref.]
BACKSPACE = 0x08

# Net failure -> verbose +CME ERROR of #SD (texts: digest A.5 / appendix X.1 [EXTERNAL])
CONNECT_ERRORS = {
    'dns': 'cannot resolve DN', 'timeout': 'timeout in opening socket',
    'unreachable': 'timeout in opening socket', 'refused': 'connection failed',
}


class SocketCommands:
    """The IP Easy socket command handlers."""

    COMMANDS = {
        '#SCFG': 'at_scfg', '#SCFGEXT': 'at_scfgext', '#SCFGEXT2': 'at_scfgext2', '#SD': 'at_sd',
        '#SO': 'at_so', '#SH': 'at_sh', '#SS': 'at_ss', '#SI': 'at_si',
        '#SLASTCLOSURE': 'at_slastclosure', '#SSEND': 'at_ssend', '#SEND': 'at_ssend',
        '#SSENDEXT': 'at_ssendext', '#SENDEXT': 'at_ssendext', '#SRECV': 'at_srecv',
        '#SKIPESC': 'at_skipesc',
    }

    def default_socket_nvm(self):
        """Factory #SCFG/#SCFGEXT/#SCFGEXT2 and firewall (all "saved in NVM", §6.1, §8.3.1)."""
        ids = range(1, self.platform.sockets + 1)
        return {
            'scfg': {i: [self.platform.default_cid(i)] + SCFG_DEFAULT for i in ids},
            'scfgext': {i: [0, 0, 0, 0, 0] for i in ids},
            'scfgext2': {i: [0, 0, 0, 0, 0] for i in ids},
            'frwl': [],
        }

    def reset_sockets(self):
        self.module.sockets = [TelitSocket(self, i) for i in range(1, self.platform.sockets + 1)]

    def socket(self, conn_id):
        return self.module.sockets[conn_id - 1]

    def arg_conn_id(self, args, i=0):
        return self.arg_int(args, i, 1, self.platform.sockets)

    def close_sockets_on(self, cid, cause):
        for sock in self.module.sockets:
            if sock.cid == cid and not sock.is_free():
                sock.drop(cause) if cause == CAUSE_NETWORK else sock.close(cause)

    def _print_table(self, name, table):
        for conn_id, values in sorted(table.items()):
            self.line(f'{name}: ' + ','.join(str(v) for v in [conn_id] + values))
        return 'OK'

    def _id_range(self):
        return f'(1-{self.platform.sockets})'

    def _per_socket(self, op, args, name, render):
        """Shared shape of #SS / #SI / #SLASTCLOSURE: all sockets, or the one given."""
        if op == 'test':
            self.line(f'{name}: {self._id_range()}')
            return 'OK'
        if op == 'set' and args and args[0] is not None:
            socks = [self.socket(self.arg_conn_id(args))]
        else:
            socks = self.module.sockets
        for sock in socks:
            self.line(f'{name}: {render(sock)}')
        return 'OK'

    # -- configuration ----------------------------------------------------------------------

    def at_scfg(self, op, args):
        table = self.nvm['scfg']
        if op == 'test':
            self.line(f'#SCFG: {self._id_range()},(0-{self.platform.scfg_cid_max}),(0-1500),'
                      '(0-65535),(10-1200),(0-264)')
            return 'OK'
        if op == 'read':
            return self._print_table('#SCFG', table)
        if op != 'set':
            return 'ERROR'
        conn_id = self.arg_conn_id(args)
        values = [self.arg_int(args, 1, 0, self.platform.scfg_cid_max),
                  self.arg_int(args, 2, 0, 1500), self.arg_int(args, 3, 0, 65535),
                  self.arg_int(args, 4, 10, 1200), self.arg_int(args, 5, 0, 264)]
        if not self.socket(conn_id).is_free():
            return self.cme('wrong state')      # §6.1.1: not while the socket is open
        table[conn_id] = values
        return 'OK'

    def at_scfgext(self, op, args):
        table = self.nvm['scfgext']
        if op == 'test':
            self.line(f'#SCFGEXT: {self._id_range()},(0-3),(0,1),(0-240),(0,1),(0,1)')
            return 'OK'
        if op == 'read':
            return self._print_table('#SCFGEXT', table)
        if op != 'set':
            return 'ERROR'
        conn_id = self.arg_conn_id(args)
        table[conn_id] = [self.arg_int(args, 1, 0, 3), self.arg_int(args, 2, 0, 1),
                          self.arg_int(args, 3, 0, 240), self.arg_int(args, 4, 0, 1, default=0),
                          self.arg_int(args, 5, 0, 1, default=0)]
        return 'OK'

    def at_scfgext2(self, op, args):
        table = self.nvm['scfgext2']
        if op == 'test':
            self.line(f'#SCFGEXT2: {self._id_range()},(0,1),(0,1),(0),(0),(0-2)')
            return 'OK'
        if op == 'read':
            return self._print_table('#SCFGEXT2', table)
        if op != 'set':
            return 'ERROR'
        conn_id = self.arg_conn_id(args)
        # 3G/4G form (§8.3.2.2): <bufferStart>[,<abortConnAttempt>[,<unused_B>[,<unused_C>
        # [,<noCarrierMode>]]]]; only <noCarrierMode> changes what the DTE sees
        table[conn_id] = [self.arg_int(args, 1, 0, 1), self.arg_int(args, 2, 0, 1, default=0),
                          self.arg_int(args, 3, 0, 0, default=0),
                          self.arg_int(args, 4, 0, 0, default=0),
                          self.arg_int(args, 5, 0, 2, default=0)]
        return 'OK'

    def at_skipesc(self, op, args):
        if op == 'read':
            self.line(f'#SKIPESC: {int(self.skip_escape)}')
        elif op == 'test':
            self.line('#SKIPESC: (0,1)')
        elif op == 'set':
            self.skip_escape = bool(self.arg_int(args, 0, 0, 1))
        else:
            return 'ERROR'
        return 'OK'

    # -- opening, resuming, closing ---------------------------------------------------------

    def at_sd(self, op, args):
        if op == 'test':
            self.line(f'#SD: {self._id_range()},(0,1),(1-65535),,(0,255),(1-65535),(0,1)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        conn_id = self.arg_conn_id(args)
        udp = self.arg_int(args, 1, 0, 1)
        port = self.arg_int(args, 2, 1, 65535)
        host = self.arg_str(args, 3, 255).strip()     # GT-6, GT-18 quote the IP with spaces
        self.arg_int(args, 4, 0, 255, default=0)      # <closureType>: accepted, not emulated
        local_port = self.arg_int(args, 5, 0, 65535, default=0)
        command_mode = self.arg_int(args, 6, 0, 1, default=0)
        sock = self.socket(conn_id)
        if not sock.is_free():
            return self.cme('wrong state')
        cid = sock.cfg[0]
        if self.interface_ip(cid) is None:
            return self.context_error(cid)
        if not self.route_ok(cid):
            # an APN that carries no data (§12.11.3): the attempt runs into <connTo>
            self.later(sock.cfg[3] / 10, self.finish, self.cme(CONNECT_ERRORS['timeout']))
            return PENDING
        if udp:
            try:
                ip = self.net.resolve(host)
                sock.open_udp(self, ip, port, local_port)
            except NetError as e:
                return self.cme(CONNECT_ERRORS.get(e.why, 'cannot open socket'))
            return self._opened(sock, command_mode)

        def done(why):
            if why is not None:
                self.finish(self.cme(CONNECT_ERRORS.get(why, 'connection failed')))
            else:
                self.finish(self._opened(sock, command_mode))

        sock.connect_tcp(self, host, port, done)
        return PENDING

    def _opened(self, sock, command_mode):
        if command_mode:
            return 'OK'
        sock.enter_online()
        return 'CONNECT'

    def at_so(self, op, args):
        if op == 'test':
            self.line(f'#SO: {self._id_range()}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        sock = self.socket(self.arg_conn_id(args))
        if sock.state != OPEN or sock.online:
            return 'NO CARRIER'                     # §6.4
        sock.owner = self
        sock.enter_online()
        return 'CONNECT'

    def at_sh(self, op, args):
        if op == 'test':
            self.line(f'#SH: {self._id_range()}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        sock = self.socket(self.arg_conn_id(args))
        online_port = sock.owner if sock.online else None      # online on another AT instance
        # §7: rejecting an incoming connection closes the listener too; §6.5: OK when closed
        sock.close(abort=sock.state == INCOMING)
        if online_port is not None:
            online_port.go_command('NO CARRIER')
        return 'OK'

    # -- status -----------------------------------------------------------------------------

    def at_ss(self, op, args):
        return self._per_socket(op, args, '#SS', self._ss_fields)

    def _ss_fields(self, sock):
        state = sock.ss_state()
        if not state:
            return f'{sock.conn_id},0'
        ip = self.interface_ip(sock.cid) or ''
        if state == 4:
            return f'{sock.conn_id},4,{ip},{sock.listen_port}'
        rip, rport = sock.remote
        return f'{sock.conn_id},{state},{ip},{sock.local_port},{rip},{rport}'

    def at_si(self, op, args):
        return self._per_socket(op, args, '#SI', lambda s: (
            f'{s.conn_id},{s.sent},{s.received},{s.rx_len},{s.unacked()}'))

    def at_slastclosure(self, op, args):
        return self._per_socket(op, args, '#SLASTCLOSURE', lambda s: f'{s.conn_id},{s.last_cause}')

    # -- command-mode data (§8.4, §8.5) -----------------------------------------------------

    def _sendable(self, args):
        conn_id = self.arg_conn_id(args)
        sock = self.socket(conn_id)
        return sock if sock.is_connected() and not sock.online else None

    def at_ssend(self, op, args):
        if op == 'test':
            self.line(f'{self.command.name}: {self._id_range()}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        self.arg_int(args, 1, 0, 2, default=0)          # ID 30/37 <Rai> (§8.4)
        sock = self._sendable(args)
        if sock is None:
            return self.cme('wrong state')

        def sent(data):
            if data is None:
                return 'OK'                            # ESC: nothing is sent
            return self._transmit(sock, apply_backspaces(data))

        return self.prompt(b'> ', sent, echo=self.echo)

    def at_ssendext(self, op, args):
        if op == 'test':
            self.line(f'{self.command.name}: {self._id_range()},(1-{SEND_MAX})')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        size = self.arg_int(args, 1, 1, SEND_MAX)
        self.arg_int(args, 2, 0, 2, default=0)
        sock = self._sendable(args)
        if sock is None:
            return self.cme('wrong state')
        return self.prompt(b'> ', lambda data: self._transmit(sock, data or b''), size=size,
                           ctrl_z=False, esc_cancels=False)

    def _transmit(self, sock, data):
        if not sock.is_connected():
            return self.cme('remote disconnected or time-out')
        if data and not sock.transmit(data):
            return self.cme('tx error')
        return 'OK'

    def at_srecv(self, op, args):
        if op == 'test':
            self.line(f'#SRECV: {self._id_range()},(1-{SEND_MAX}),(0,1)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        sock = self.socket(self.arg_conn_id(args))
        size = self.arg_int(args, 1, 1, SEND_MAX)
        udp_info = self.arg_int(args, 2, 0, 1, default=0)
        if sock.state != OPEN or sock.online:
            return self.cme('wrong state')
        if not sock.rx_len:
            self.line(f'#SRECV: {sock.conn_id},0')
            return 'OK'
        addr, data, left = sock.take(size)
        if udp_info:
            # [INFERRED] T-IPE shows only the plain answer: the field order of the data-view
            # UDP SRING (§8.7.6); telit.py parses the same (docs/emulator.md, silent places)
            self.line(f'#SRECV: "{addr[0]}",{addr[1]},{sock.conn_id},{len(data)},{left}')
        else:
            self.line(f'#SRECV: {sock.conn_id},{len(data)}')
        self.send(data.hex().upper().encode() if sock.ext[1] else data)
        sock.delivered(len(data))
        return 'OK'


def apply_backspaces(data):
    """#SSEND cannot carry 0x08 (§8.4): it edits the text typed at the prompt instead."""
    if BACKSPACE not in data:
        return data
    out = bytearray()
    for byte in data:
        if byte == BACKSPACE:
            del out[-1:]
        else:
            out.append(byte)
    return bytes(out)
