"""Telit PDP contexts: `+CGDCONT`, `+CGACT`, `#SGACT`, `#SGACTCFG`, `#CGPADDR`, `#PROTOCOLCFG`
(T-IPE §4, §5, §9).  A mixin of `TelitModem`.

A context has two layers, as the manual describes them: the 3GPP bearer (`+CGACT`, or on 4G the
default EPS bearer of the attach, §5.4) and the IP Easy Network Interface that only `#SGACT`
creates.  Sockets, FTP, ping and MQTT need the interface (§4.3, §12.11.3).
"""

from mktools.sim.core.modem import PENDING
from mktools.sim.telit.socket_data import CAUSE_NETWORK, CAUSE_NONE

PROTOCOLS = ('FTP', 'SMTP', 'PING', 'SSL')      # §9.2.3.1, LE910Cx
SGACTCFG_DEFAULT = (0, 180, 0)  # retry, delay (s), urcmode [EXTERNAL: AT ref. guide ranges]


class ActiveContext:
    """Runtime state of an activated cid: its address and whether #SGACT opened an interface."""

    def __init__(self, ip, iface):
        self.ip = ip
        self.iface = iface


class PdpCommands:
    """+CGDCONT, +CGACT, #SGACT, #SGACTCFG, #CGPADDR, #PROTOCOLCFG."""

    COMMANDS = {
        '+CGDCONT': 'at_cgdcont', '+CGACT': 'at_cgact', '#SGACT': 'at_sgact',
        '#SGACTCFG': 'at_sgactcfg', '#CGPADDR': 'at_cgpaddr', '#PROTOCOLCFG': 'at_protocolcfg',
    }

    def default_pdp_nvm(self):
        """Factory NVM content of the PDP layer."""
        contexts = {}
        if self.platform.attach_bearer:
            # §5.1/§9.2.3.1: cid 1 has an empty APN; the network assigns its default EPS bearer
            contexts[1] = ['IPV4V6', '', '', [0] * (self.platform.cgdcont_fields - 4)]
        return {'cgdcont': contexts, 'sgactcfg': {}, 'protocolcfg': dict.fromkeys(PROTOCOLS, 1)}

    def reset_pdp(self):
        self.module.active = {}
        self.module.ip_next = 0

    def attach_bearers(self):
        """Power-on attach: the 4G default bearer on cid 1, then #SGACTCFG auto-activation."""
        if self.platform.attach_bearer and self.attached and 1 in self.nvm['cgdcont']:
            self.module.active[1] = ActiveContext(self.allocate_ip(), iface=False)
        for cid, (retry, _, _) in sorted(self.nvm['sgactcfg'].items()):
            if retry and self.is_bound(cid):
                self.later(self.config['activation_s'], self.auto_activate, cid, retry)

    # -- helpers ----------------------------------------------------------------------------

    def allocate_ip(self):
        """The next address of config['ip_pool'] not in use, round robin, as a network assigns
        them (the pool is reused when every address is taken)."""
        pool = self.config['ip_pool']
        used = {ctx.ip for ctx in self.module.active.values()}
        for _ in range(len(pool)):
            ip = pool[self.module.ip_next % len(pool)]
            self.module.ip_next += 1
            if ip not in used:
                break
        return ip

    def is_bound(self, cid):
        return any(cfg[0] == cid for cfg in self.nvm['scfg'].values())

    def interface_ip(self, cid):
        """The module's address on `cid` if #SGACT opened its interface, else None."""
        ctx = self.module.active.get(cid)
        return ctx.ip if ctx is not None and ctx.iface else None

    def context_error(self, cid):
        """The error of a socket opened on an unusable cid: §4.3 (bearer without interface:
        'context not opened'), §6.2 (context not active: plain ERROR)."""
        if cid in self.module.active:
            return self.cme('context not opened')
        return 'ERROR'

    def service_cid(self, protocol, explicit=None):
        """The cid an FTP/PING/MQTT service uses: cid 1 on 2G/3G (§12.1, §14.1), #PROTOCOLCFG on
        ID 25 (§9.2), the command's own <cid> on ID 30/37 (§12.2, §14.2)."""
        if self.platform.protocolcfg:
            return self.nvm['protocolcfg'][protocol]
        return explicit if explicit is not None else 1

    def deactivate(self, cid, cause):
        """Drop `cid` and everything that runs on it (sockets, FTP, MQTT)."""
        self.module.active.pop(cid, None)
        self.close_sockets_on(cid, cause)
        self.services_lost(cid)

    def network_deactivate(self, cid):
        """The network deactivated `cid` (fault); #SGACTCFG may bring it back (§4.2.2)."""
        self.log('pdp_deactivate', cid=cid)
        self.deactivate(cid, CAUSE_NETWORK)
        retry = self.nvm['sgactcfg'].get(cid, SGACTCFG_DEFAULT)[0]
        if retry and self.is_bound(cid):
            self.later(self.config['activation_s'], self.auto_activate, cid, retry)

    def auto_activate(self, cid, attempts):
        """#SGACTCFG: activate `cid` again; while detached, retry after <delay> (§4.2.2)."""
        if cid not in self.nvm['cgdcont'] or self.interface_ip(cid) is not None:
            return
        if not self.attached:
            if attempts > 1:
                delay = self.nvm['sgactcfg'].get(cid, SGACTCFG_DEFAULT)[1]
                self.later(delay, self.auto_activate, cid, attempts - 1)
            return
        self.module.active[cid] = ActiveContext(self.allocate_ip(), iface=True)
        self.log('pdp_auto_activated', cid=cid, ip=self.module.active[cid].ip)

    # -- +CGDCONT ---------------------------------------------------------------------------

    def at_cgdcont(self, op, args):
        lo, hi = self.platform.cids
        defined = self.nvm['cgdcont']
        if op == 'test':
            for pdp_type in self.platform.pdp_types:
                self.line(f'+CGDCONT: ({lo}-{hi}),"{pdp_type}",,,{self.platform.cgdcont_test}')
            return 'OK'
        if op == 'read':
            for cid, (pdp_type, apn, addr, extra) in sorted(defined.items()):
                numbers = ','.join(str(n) for n in extra)
                self.line(f'+CGDCONT: {cid},"{pdp_type}","{apn}","{addr}",{numbers}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        if not args:
            return 'OK'
        cid = self.arg_int(args, 0, lo, hi)
        if len(args) == 1:
            # §4.4: "AT+CGDCONT=3" removes the context; §5.6: on 4G cid 1 gets its default back
            if cid == 1 and self.platform.attach_bearer:
                defined[1] = self.default_pdp_nvm()['cgdcont'][1]
            elif self.interface_ip(cid) is not None:
                return self.cme('operation not allowed')
            else:
                defined.pop(cid, None)
            return 'OK'
        pdp_type = self.arg_str(args, 1, default='IP').upper()
        if pdp_type not in self.platform.pdp_types:
            return self.cme(50)
        apn = self.arg_str(args, 2, 99, default='')
        # §12.3.1: an omitted <PDP_addr> reads back as "0.0.0.0" on 2G/3G; 4G shows "" (§5.6)
        addr = self.arg_str(args, 3, 39, default='' if self.platform.attach_bearer else '0.0.0.0')
        extra = [self.arg_int(args, 4 + i, 0, 4, default=0)
                 for i in range(self.platform.cgdcont_fields - 4)]
        # §5.6: redefining an active context (the 4G default bearer) applies at the next attach
        defined[cid] = [pdp_type, apn, addr, extra]
        return 'OK'

    # -- +CGACT -----------------------------------------------------------------------------

    def at_cgact(self, op, args):
        lo, hi = self.platform.cids
        if op == 'test':
            self.line('+CGACT: (0,1)')
            return 'OK'
        if op == 'read':
            for cid in sorted(self.nvm['cgdcont']):
                self.line(f'+CGACT: {cid},{1 if cid in self.module.active else 0}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        state = self.arg_int(args, 0, 0, 1)
        cids = [self.arg_int(args, i, lo, hi) for i in range(1, len(args))] or \
            sorted(self.nvm['cgdcont'])
        for cid in cids:
            if state and cid not in self.module.active:
                if cid not in self.nvm['cgdcont'] or not self.attached:
                    return self.cme('activation failed')
                if len(self.module.active) >= self.max_active():
                    return self.cme('activation failed')
                # §4.3: a bearer without an IP Easy interface; #SD then says 'context not opened'
                self.module.active[cid] = ActiveContext(self.allocate_ip(), iface=False)
            elif not state and cid in self.module.active:
                self.deactivate(cid, CAUSE_NONE)
        return 'OK'

    def max_active(self):
        return self.config['max_active_contexts'] or self.platform.max_active

    # -- #SGACT -----------------------------------------------------------------------------

    def at_sgact(self, op, args):
        lo, hi = self.platform.cids
        if op == 'test':
            self.line(f'#SGACT: {self.platform.sgact_test}')
            return 'OK'
        if op == 'read':
            for cid in sorted(self.nvm['cgdcont']):
                ctx = self.module.active.get(cid)
                # GT-2 (2G/3G): a +CGACT bearer reads as 1; §12.11.3 (4G): only an interface does
                up = ctx is not None and (ctx.iface or not self.platform.attach_bearer)
                self.line(f'#SGACT: {cid},{1 if up else 0}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        cid = self.arg_int(args, 0, 0, hi)
        stat = self.arg_int(args, 1, 0, 1)
        if len(args) == 3 and not self.platform.sgact_user_alone:
            # A.1.1 #5: <userId> without <pwd> only on ID 30/37
            return self.cme(50)
        self.arg_str(args, 2, 64, default='')
        self.arg_str(args, 3, 64, default='')
        if cid < lo:
            return self.cme('operation not supported')     # cid 0, the GSM context: not emulated
        if not stat:
            if cid in self.module.active:
                self.deactivate(cid, CAUSE_NONE)
            return 'OK'
        return self.activate(cid)

    def activate(self, cid):
        ctx = self.module.active.get(cid)
        if ctx is not None and ctx.iface:
            return self.cme('context already activated')
        if cid not in self.nvm['cgdcont'] or not self.attached:
            return self.cme('activation failed')
        if self.platform.bind_before_activate and not self.is_bound(cid):
            return self.cme('operation not supported')      # §15.3.1, GT-26
        if ctx is None and len(self.module.active) >= self.max_active():
            return self.cme('activation failed')            # §4.2.1, GT-1
        self.later(self.config['activation_s'], self._activated, cid)
        return PENDING

    def _activated(self, cid):
        ctx = self.module.active.get(cid)
        if ctx is None:
            ctx = self.module.active[cid] = ActiveContext(self.allocate_ip(), iface=True)
        else:
            ctx.iface = True        # §5.4: the bearer exists, only the interface is opened
        self.line(f'#SGACT: {ctx.ip}')
        self.finish('OK')

    # -- #SGACTCFG, #CGPADDR, #PROTOCOLCFG --------------------------------------------------

    def at_sgactcfg(self, op, args):
        lo, hi = self.platform.cids
        if op == 'test':
            self.line(f'#SGACTCFG: ({lo}-{hi}),(0-15),(180-3600),(0,1)')
            return 'OK'
        if op == 'read':
            for cid in sorted(self.nvm['cgdcont']):
                retry, delay, urcmode = self.nvm['sgactcfg'].get(cid, SGACTCFG_DEFAULT)
                self.line(f'#SGACTCFG: {cid},{retry},{delay},{urcmode}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        cid = self.arg_int(args, 0, lo, hi)
        setting = (self.arg_int(args, 1, 0, 15), self.arg_int(args, 2, 180, 3600, default=180),
                   self.arg_int(args, 3, 0, 1, default=0))
        if not self.is_bound(cid):
            return self.cme('operation not supported')      # §4.2.5.2: cid bound to a socket first
        self.nvm['sgactcfg'][cid] = setting
        return 'OK'

    def at_cgpaddr(self, op, args):
        lo, hi = self.platform.cids
        if op == 'test':
            self.line(f'#CGPADDR: ({",".join(str(c) for c in sorted(self.nvm["cgdcont"]))})')
            return 'OK'
        if op not in ('set', 'exec'):
            return 'ERROR'
        cids = [self.arg_int(args, i, lo, hi) for i in range(len(args)) if args[i] is not None]
        for cid in cids or sorted(self.module.active):
            ctx = self.module.active.get(cid)
            self.line(f'#CGPADDR: {cid},"{ctx.ip if ctx else ""}"')
        return 'OK'

    def at_protocolcfg(self, op, args):
        if not self.platform.protocolcfg:
            return 'ERROR'                                  # §9.2.1: not on ID 12 or 30/37
        if op == 'test':
            for name in PROTOCOLS:
                self.line(f'#PROTOCOLCFG: "{name}",(1-5),(0),(0),(0)')
            return 'OK'
        if op == 'read':
            for name in PROTOCOLS:
                self.line(f'#PROTOCOLCFG: "{name}",{self.nvm["protocolcfg"][name]},0,0,0')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        name = self.arg_str(args, 0, 8).upper()
        if name not in PROTOCOLS:
            return self.cme(50)
        self.nvm['protocolcfg'][name] = self.arg_int(args, 1, 1, 5)
        return 'OK'
