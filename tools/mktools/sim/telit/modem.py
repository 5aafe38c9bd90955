"""The Telit IP Easy dialect (T-IPE = seed 000, digest Part A): `TelitModem`.

Three variants, chosen by `config['variant']` (digest A.1, A.1.1):

- `he910`   Platform Version ID 12 (3G): 6 sockets, cids 1-5, at most 3 active contexts, a cid
            must be bound to a socket (#SCFG) before #SGACT, no native MQTT;
- `le910c1` ID 25 (4G): cid 1 carries the attach's default bearer but `#SGACT?` shows `1,0` until
            `#SGACT=1,1`; #PROTOCOLCFG; `#SL` takes `<lingerT>`; 10 sockets (T-IPE Tab. 15);
- `me910c1` ID 30 (4G): as 4G, plus native MQTT (#MQ...), `<cid>` on #FTPOPEN/#PING, and
            `#SGACT=<cid>,<stat>[,<userId>[,<pwd>]]`.

The command table is the union of the mixins' `COMMANDS` (Modem merges every class's table along
the MRO), so further mixins plug in by subclassing `TelitIpEasy` with their own `COMMANDS`, as
`TelitModem` does with the script store and SMSATRUN/TCPATRUN (`scripts`, `atrun`).
Module-wide state lives in `self.module`, which `spawn_instance()` shares with further AT parser
instances (AT1/AT2, a TCPATRUN session).
"""

from dataclasses import dataclass

from mktools.sim.core.gsm import CME_ERRORS
from mktools.sim.core.modem import PENDING, Modem
from mktools.sim.core.net import NetError
from mktools.sim.telit.atrun import AtRunMixin
from mktools.sim.telit.ftp import FtpCommands
from mktools.sim.telit.listen import ListenCommands
from mktools.sim.telit.mqtt import MqttCommands
from mktools.sim.telit.pdp import PdpCommands
from mktools.sim.telit.scripts import ScriptStoreMixin
from mktools.sim.telit.services.http import HttpCommands
from mktools.sim.telit.socket_data import CAUSE_NONE
from mktools.sim.telit.sockets import SocketCommands

PORTS_MAX = 3                   # AT0..AT2 (T-IPE §3)


@dataclass(frozen=True)
class Platform:
    """What a Platform Version ID changes in the dialect (digest A.1.1)."""

    platform_id: int
    model: str
    revision: str               # +CGMR; its leading number is the Platform Version ID (A.1)
    binding: tuple              # default #SCFG cid of each socket (§4.2 Tab. 2, §6.1.2)
    cids: tuple                 # +CGDCONT cid range
    scfg_cid_max: int
    max_active: int             # simultaneously active contexts
    bind_before_activate: bool  # 2G/3G: #SGACT needs a socket bound to the cid (§15.3.1)
    attach_bearer: bool         # 4G: cid 1 bearer active after attach, no interface (§5.4)
    pdp_types: tuple
    cgdcont_fields: int         # numbers printed by +CGDCONT? after the address
    cgdcont_test: str
    sgact_test: str
    sgact_user_alone: bool      # ID 30/37: <userId> without <pwd> (A.1.1 #5)
    listen_option: str          # 4th #SL parameter (A.1.1 #10)
    protocolcfg: bool           # ID 20/25 only (§9.2.1)
    service_cid_arg: bool       # ID 30/37: #FTPOPEN/#PING carry the cid (§12.2, §14.2)
    mqtt: bool                  # ID 30/37 (§13, A.1.1 #27)

    @property
    def sockets(self):
        return len(self.binding)

    def default_cid(self, conn_id):
        return self.binding[conn_id - 1]


PLATFORMS = {
    'he910': Platform(
        12, 'HE910', '12.00.026', (1, 1, 1, 2, 2, 2), (1, 5), 5, 3, True, False,
        ('IP', 'IPV6', 'IPV4V6'), 6, '(0,1),(0,1)', '(0-5),(0,1)', False, 'closureType',
        False, False, False),
    # max_active for 4G is not in the seed (§5.4.1 points to §4.2.1's method): configurable
    'le910c1': Platform(
        25, 'LE910C1-EU', '25.30.226', (1, 1, 1, 2, 2, 2, 1, 1, 2, 2), (1, 24), 24, 6, False,
        True, ('IP', 'PPP', 'IPV6', 'IPV4V6'), 8, '(0-2),(0-4),(0-1),(0-1)', '(1-24),(0,1)',
        False, 'lingerT', True, False, False),
    'me910c1': Platform(
        30, 'ME910C1-WW', '30.00.407', (1,) * 10, (1, 6), 15, 6, False, True,
        ('IP', 'IPV6', 'IPV4V6'), 8, '(0-2),(0-4),(0-1),(0-1)', '(1-6),(0,1)', True,
        'lingerT', False, True, True),
}

# Verbose texts as T-IPE prints them (digest A.5); numeric codes for +CMEE=1 are [EXTERNAL]
# (digest appendix X.1, Libelium Wasp4G_error_codes.h).  Seed texts without a known code
# ('Already connected', 'Cannot resolve name', 'Cannot connect control socket') answer 100.
TELIT_CME_ERRORS = {
    **CME_ERRORS,
    550: 'generic undocumented error', 551: 'wrong state', 552: 'wrong mode',
    553: 'context already activated', 554: 'stack already active', 555: 'activation failed',
    556: 'context not opened', 557: 'cannot setup socket', 558: 'cannot resolve DN',
    559: 'timeout in opening socket', 560: 'cannot open socket',
    561: 'remote disconnected or time-out', 562: 'connection failed', 563: 'tx error',
    564: 'already listening', 568: 'wrong PDP', 615: 'FTP not connected',
    623: 'FTP write data closed', 643: 'FTP communication timeout',
}


class TelitModule:
    """Module-wide runtime state shared by every AT instance (contexts, sockets, FTP, MQTT)."""

    def __init__(self, primary):
        self.ports = [primary]
        self.active = {}
        self.ip_next = 0
        self.sockets = []
        self.ftp = None
        self.ftp_timeout = 0
        self.mqtt = []


class TelitIpEasy(PdpCommands, SocketCommands, ListenCommands, FtpCommands, MqttCommands,
                  HttpCommands, Modem):
    """A Telit module speaking IP Easy (see the module docstring for the variants)."""

    dialect = 'telit'
    DEFAULTS = {
        **Modem.DEFAULTS, 'manufacturer': 'Telit', 'variant': 'he910',
        'max_active_contexts': None,    # None: the platform's own limit
        'blocked_cids': (),             # cids whose APN carries no data (GT-23)
        'ping_replies': {},             # host -> [(reply ms, ttl) or None for a timeout, ...]
    }
    CME_ERRORS = TELIT_CME_ERRORS
    # GT-8: the peer gets the '+++' too, but only once the escape is complete, so that its echo
    # lands in the suspended socket (SRING: 1,3) and not on the DTE; TelitSocket sends it
    ESCAPE_TO_PEER = False
    COMMANDS = {'#PING': 'at_ping', '#ICMP': 'at_icmp'}

    def __init__(self, loop, net, config=None):
        config = dict(config or {})
        variant = config.get('variant', self.DEFAULTS['variant'])
        if variant not in PLATFORMS:
            raise ValueError(f'unknown Telit variant {variant!r} (one of {sorted(PLATFORMS)})')
        self.platform = PLATFORMS[variant]
        config.setdefault('model', self.platform.model)
        config.setdefault('revision', self.platform.revision)
        self.nvm = None
        super().__init__(loop, net, config)
        self.attach_bearers()

    # -- state ------------------------------------------------------------------------------

    def reset(self):
        """Power-on state; NVM (+CGDCONT, #SCFG, #SCFGEXT, #FRWL...) survives."""
        super().reset()
        if self.nvm is None:
            self.nvm = {**self.default_pdp_nvm(), **self.default_socket_nvm()}
        self.module = TelitModule(self)
        self.skip_escape = False
        self.icmp = 0
        self.reset_pdp()
        self.reset_sockets()
        self.reset_ftp()
        self.reset_mqtt()
        self.reset_http()

    def spawn_instance(self):
        """Another AT parser of this module (AT1/AT2, a TCPATRUN session): it shares NVM,
        contexts, sockets, FTP and MQTT; sockets it opens report to it.  Attach it to its own
        wire (or any object with `to_dte`)."""
        if len(self.module.ports) >= PORTS_MAX:
            raise RuntimeError('a Telit module has at most three AT instances')
        other = type(self)(self.loop, self.net, self.config)
        other.nvm = self.nvm
        other.module = self.module
        self.module.ports.append(other)
        return other

    def route_ok(self, cid):
        """False when the APN of `cid` carries no data (config 'blocked_cids', §12.11.3)."""
        return cid not in self.config['blocked_cids']

    def services_lost(self, cid):
        self.ftp_services_lost(cid)
        self.drop_mqtt(cid)
        self.http_services_lost(cid)

    def power_on(self):
        # T-IPE gives no start-up URC; the 4G attach and #SGACTCFG auto-activation run again
        super().power_on()
        self.attach_bearers()

    def drop_connections(self):
        for sock in self.module.sockets:
            sock.close(abort=True)
        self.drop_ftp()
        self.drop_mqtt()
        self.drop_http()
        self.module.active.clear()

    def at_cgatt(self, op, args):
        result = super().at_cgatt(op, args)
        if op == 'set' and result == 'OK':
            if not self.attached:
                for cid in list(self.module.active):
                    self.deactivate(cid, CAUSE_NONE)
            elif not self.module.active:
                self.attach_bearers()
        return result

    # -- faults (docs/emulator.md) ----------------------------------------------------------

    def pdp_deactivate(self, cid):
        self.network_deactivate(cid)

    def peer_close(self, sock_id):
        self.log('peer_close', conn_id=sock_id)
        self.socket(sock_id).peer_close(reset=False)

    def peer_reset(self, sock_id):
        self.log('peer_reset', conn_id=sock_id)
        self.socket(sock_id).peer_close(reset=True)

    def stall(self, sock_id, on=True):
        self.log('stall', conn_id=sock_id, on=on)
        self.socket(sock_id).stall(on)

    def fill_rx(self, sock_id):
        self.log('fill_rx', conn_id=sock_id)
        self.socket(sock_id).fill_rx()

    # -- #PING, #ICMP (§14) -----------------------------------------------------------------

    def at_icmp(self, op, args):
        if op == 'read':
            self.line(f'#ICMP: {self.icmp}')       # GT-25: 0 (disabled) by default
        elif op == 'test':
            self.line('#ICMP: (0-2)')
        elif op == 'set':
            self.icmp = self.arg_int(args, 0, 0, 2)
        else:
            return 'ERROR'
        return 'OK'

    def at_ping(self, op, args):
        """No ICMP leaves the emulator: replies come from config['ping_replies'] (GT-25's by
        default for none), loopback addresses answer in 1 ms, anything else times out."""
        if op == 'test':
            self.line('#PING: 256,(1-64),(32-1460),(1-600),(1-255)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        host = self.arg_str(args, 0, 255).strip()
        retries = self.arg_int(args, 1, 1, 64, default=4)
        self.arg_int(args, 2, 32, 1460, default=32)
        timeout = self.arg_int(args, 3, 1, 600, default=50)       # hundreds of ms
        self.arg_int(args, 4, 1, 255, default=128)
        explicit = None
        if self.platform.service_cid_arg:
            explicit = self.arg_int(args, 5, 1, self.platform.cids[1], default=None)
        cid = self.service_cid('PING', explicit)
        if self.interface_ip(cid) is None:
            return self.context_error(cid)
        replies = self.config['ping_replies'].get(host)
        shown = host
        if replies is None:
            try:
                shown = self.net.resolve(host)
                replies = [(1, 64)] if self.route_ok(cid) else [None]
            except NetError as e:
                if e.why == 'dns':
                    return self.cme('cannot resolve DN')
                replies = [None]
        self._ping_next(shown, [replies[i % len(replies)] for i in range(retries)], timeout, 1)
        return PENDING

    def _ping_next(self, shown, plan, timeout, number):
        if not plan:
            self.finish('OK')
            return
        reply, rest = plan[0], plan[1:]

        def answered():
            if reply is not None:
                # §14.1: '#PING: 01,"8.8.8.8",600,255' - 2-digit id, quoted address
                self.line(f'#PING: {number:02d},"{shown}",{reply[0]},{reply[1]}')
            self._ping_next(shown, rest, timeout, number + 1)

        self.later(reply[0] / 1000 if reply is not None else timeout / 10, answered)


class TelitModem(ScriptStoreMixin, AtRunMixin, TelitIpEasy):
    """The Telit dialect as the emulator runs it: IP Easy plus the Easy Script store and
    SMSATRUN/TCPATRUN (T-RUN), whose mixins extend reset/power_on/drop_connections/
    services_lost after IP Easy has set up `self.module`."""
