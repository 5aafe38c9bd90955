"""Telit incoming sockets (T-IPE §7, §8.2): `#SL`, `#SLUDP`, `#SA` and the `#FRWL` firewall.
A mixin of `TelitModem`, next to `SocketCommands`.
"""

import ipaddress

from mktools.sim.core.net import NetError
from mktools.sim.telit.socket_data import INCOMING, LISTENING

FRWL_MAX = 10                   # firewall chains kept (bounded; the seed gives no limit)


def ipv4_number(text):
    return int(ipaddress.IPv4Address(text))


class ListenCommands:
    """#SL, #SLUDP, #SA, #FRWL."""

    COMMANDS = {'#SL': 'at_sl', '#SLUDP': 'at_sludp', '#SA': 'at_sa', '#FRWL': 'at_frwl'}

    def firewall_allows(self, ip):
        """§7.4: no chain = no firewall; else ACCEPT if ip & mask == rule & mask, else DROP."""
        rules = self.nvm['frwl']
        if not rules:
            return True
        number = ipv4_number(ip)
        return any(number & mask == rule & mask for rule, mask in rules)

    def at_sl(self, op, args):
        if op == 'test':
            option = '(0,255)' if self.platform.listen_option == 'closureType' else '(0-65535)'
            self.line(f'#SL: {self._id_range()},(0,1),(1-65535),{option}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        # 4th parameter: <closureType> (2G/3G, ID 20/23) or <lingerT> (ID 25/30/37); accepted
        self.arg_int(args, 3, 0, 65535, default=0)
        return self._listen(args, 'tcp')

    def at_sludp(self, op, args):
        if op == 'test':
            self.line(f'#SLUDP: {self._id_range()},(0,1),(1-65535)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        return self._listen(args, 'udp')

    def _listen(self, args, proto):
        sock = self.socket(self.arg_conn_id(args))
        state = self.arg_int(args, 1, 0, 1)
        port = self.arg_int(args, 2, 1, 65535)
        if not state:
            if sock.state in (LISTENING, INCOMING):
                sock.close()
            elif sock.listener is not None:
                sock.listener.close()
                sock.listener = None
            return 'OK'
        if sock.state in (LISTENING, INCOMING):
            return self.cme('already listening')
        if not sock.is_free():
            return self.cme('wrong state')
        if self.interface_ip(sock.cfg[0]) is None:
            return self.context_error(sock.cfg[0])
        try:
            sock.listen(self, proto, port)
        except NetError:
            sock.close()
            # §7: two listeners cannot share cid + port; here every cid shares 127.0.0.1
            return self.cme('already listening')
        return 'OK'

    def at_sa(self, op, args):
        if op == 'test':
            self.line(f'#SA: {self._id_range()},(0,1)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        sock = self.socket(self.arg_conn_id(args))
        command_mode = self.arg_int(args, 1, 0, 1, default=0)
        if sock.state != INCOMING:
            return self.cme('wrong state')
        sock.owner = self
        sock.accept(announce=bool(command_mode))
        return self._opened(sock, command_mode)

    # -- firewall (§7.4) --------------------------------------------------------------------

    def at_frwl(self, op, args):
        rules = self.nvm['frwl']
        if op == 'test':
            self.line('#FRWL: (0-2),,')
            return 'OK'
        if op in ('read', 'exec'):
            for rule, mask in rules:
                self.line(f'#FRWL: "{ipaddress.IPv4Address(rule)}","{ipaddress.IPv4Address(mask)}"')
            return 'OK'
        action = self.arg_int(args, 0, 0, 2)
        if action == 2:
            rules.clear()
            return 'OK'
        try:
            chain = (ipv4_number(self.arg_str(args, 1, 15)), ipv4_number(self.arg_str(args, 2, 15)))
        except ValueError:
            return self.cme(50)
        if action == 1 and chain not in rules:
            if len(rules) >= FRWL_MAX:
                return self.cme('memory full')
            rules.append(chain)
        elif action == 0 and chain in rules:
            rules.remove(chain)
        return 'OK'
