"""TCPATRUN and SMSATRUN commands (T-RUN §2-§3, digest A.8): #TCPATRUNCFG, #TCPATRUNL,
#TCPATRUND, #TCPATRUNAUTH, #TCPATRUNFRWL, #TCPATRUNCLOSE, #TCPATCMDSEQ, #TCPATCONSER,
#ATRUNDELAY, #SMSATRUN, #SMSATRUNCFG, #SMSATWL, and `inject_sms()`.  A mixin of `TelitModem`;
the SMSATRUN service is here, the TCPATRUN one in `atrun_channels`.

Syntax, ranges and defaults that T-RUN does not print come from the Telit AT Commands Reference
Guide (80000ST10025a), which T-RUN §1.3 lists as its companion; comments say "AT ref." for them.
"""

import ipaddress
from collections import deque
from dataclasses import dataclass, field
from typing import NamedTuple

from modemkit import smsdigest
from mktools.sim.telit.atrun_channels import (ANY, BLOCKED, SILENT, STUCK, RemoteSession, TcpAtRun, TcpSession,
                             ipv4_number)

AUTH_MAX = 3                # AT ref.: at most 3 user/password entries
AUTH_TEXT_MAX = 50
FRWL_MAX = 5                # AT ref.: at most 5 firewall entries
WHITELIST_SLOTS = 8         # AT ref.: #SMSATWL <index> 1-8
PASSWORDS_MAX = 2           # §2.3: "A maximum number of 2 passwords"
DELAY_MAX = 30              # AT ref.: #ATRUNDELAY <value> 0-30 s
SMS_OUT_MAX = 256
SMS_QUEUE_MAX = 8
SMS_ANSWER_MAX = smsdigest.MAX_SEGMENTS * smsdigest.SINGLE_SIZE['gsm7']
SERIAL_RATES = (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200)
# §2.3 / §3.2.1: #SMSATWL and #TCPATRUNFRWL "will return ERROR if executed using SMSATRUN
# digest mode or TCPATRUN server mode"
ADMIN_REFUSED = ('sms_digest', 'tcp_server')

# §2.5.2: note 2 and note 8 (prompts): no answer SMS; note 3: the SMS exchange is blocked until
# the #SMSATRUNCFG timeout reboots the module; notes 4-5: blocked for good (note 5's unblocking
# by a command sent through TCPATRUN is not emulated: a reboot unblocks)
SMS_BLOCKING = {
    ('#REBOOT', None): SILENT, ('#SHDN', None): SILENT, ('+CMGS', ANY): SILENT,
    ('+CMGW', ANY): SILENT, ('#SEMAIL', ANY): SILENT, ('#SSEND', ANY): SILENT,
    ('#WSCRIPT', ANY): SILENT,
    ('#SIMDET', '0'): STUCK, ('+CGDATA', 'PPP'): STUCK, ('#FTPPUT', ANY): STUCK,
    ('$GPSNMUN', '3'): STUCK, ('Q', '1'): STUCK, ('Q', '2'): STUCK,
    ('+CMUX', '0'): BLOCKED, ('#BND', '3'): BLOCKED, ('+CFUN', '2'): BLOCKED,
    ('+CFUN', '4'): BLOCKED, ('+CGCLASS', 'CG'): BLOCKED, ('+CGSMS', '0'): BLOCKED,
    ('+COPS', '2'): BLOCKED,
}


class TcpAtRunCfg(NamedTuple):
    """#TCPATRUNCFG, positional as in T-RUN §3.1 (names and defaults: AT ref.)."""
    conn_id: int = 1
    instance: int = 2
    tcp_port: int = 1024
    host_port: int = 1024
    host: str = ''
    urc: int = 1
    timeout: int = 5            # minutes a command may run before the module reboots
    auth_mode: int = 0          # 0 automatic, 1 step-by-step (§3.2.2)
    retry_count: int = 0
    retry_delay: int = 2        # minutes

    def render(self):
        return ','.join(f'"{v}"' if i == 4 else str(v) for i, v in enumerate(self))


@dataclass
class AtRunNvm:
    """What TCPATRUN and SMSATRUN keep in NVM ("stored in the NVM", §2.1, §3.2.1; AT ref.)."""
    tcp: TcpAtRunCfg = TcpAtRunCfg()
    auth: list = field(default_factory=list)            # (user, password)
    frwl: list = field(default_factory=list)            # (ip, mask) as 32-bit numbers
    server: int = 0                                     # #TCPATRUNL <mod>
    client: int = 0                                     # #TCPATRUND <mod>
    cmdseq: int = 0                                     # #TCPATCMDSEQ <mod>
    delay: list = field(default_factory=lambda: [0, 0])  # #ATRUNDELAY s: [TCP, SMS]
    sms: int = 0                                        # #SMSATRUN <mod>
    sms_instance: int = 3                               # #SMSATRUNCFG (§2.3)
    sms_urc: int = 1
    sms_timeout: int = 5                                # minutes
    whitelist: dict = field(default_factory=dict)       # index -> (entryType, string)


class SmsRequest(NamedTuple):
    """An ATRUN SMS waiting to run."""
    sender: str
    dcs: int
    text: bytes                 # as received ("HAT..." keeps its H)
    reply: bool
    line: bytes                 # the command line the port runs
    digest: object              # smsdigest.DigestSms, or None for a simple ATRUN SMS


class SmsSession(RemoteSession):
    """One ATRUN SMS being run; what the port prints becomes the answer (§2.1)."""

    srv = 1
    blocking = SMS_BLOCKING

    def __init__(self, service, port, request):
        self.request = request
        self.out = bytearray()
        super().__init__(service, port, 'sms_digest' if request.digest else 'sms_simple')

    def timeout_s(self):
        return self.nvm.sms_timeout * 60

    def to_dte(self, data):
        if not self.closed:
            self.out += data[:SMS_ANSWER_MAX - len(self.out)]


class SmsAtRun:
    """The SMSATRUN service of one module (T-RUN §2): recognises ATRUN SMS, runs each on a
    spawned AT port and records the answer SMS in `sms_out` of the module's first port."""

    def __init__(self, modem):
        self.modem = modem
        self.queue = deque()
        self.session = None
        self.blocked = False
        self.requester = modem

    @property
    def nvm(self):
        return self.modem.atrun_nvm

    def receive(self, sender, user_data, dcs):
        if not self.nvm.sms:
            return False
        request = self._recognise(sender, user_data, dcs)
        if request is None:
            return False
        # §2.2: an ATRUN SMS "is handled and silently discarded" (never stored for the DTE)
        if self.blocked:
            self.modem.log('smsatrun_blocked_drop', sender=sender)
        elif len(self.queue) >= SMS_QUEUE_MAX:
            self.modem.log('smsatrun_queue_full', sender=sender)
        else:
            self.queue.append(request)
            if self.session is None:
                self.modem.later(0, self._next)
        return True

    def _recognise(self, sender, user_data, dcs):
        """An `SmsRequest` for an ATRUN SMS (§2.1), else None."""
        try:
            alphabet = smsdigest.dcs_alphabet(dcs)
        except ValueError:
            return None
        data = user_data.encode('latin-1') if isinstance(user_data, str) else bytes(user_data)
        entries = self.nvm.whitelist.values()
        digest = None
        if alphabet == '8bit' and smsdigest.is_request(data):
            try:
                digest = smsdigest.parse_request(data, [s for kind, s in entries if kind == 1])
            except smsdigest.DigestError as e:
                self.modem.log('smsatrun_refused', sender=sender, why=str(e))
                return None
            text = digest.text
        elif alphabet in ('gsm7', '8bit'):
            if not any(kind == 0 and smsdigest.number_matches(s, sender) for kind, s in entries):
                self.modem.log('smsatrun_refused', sender=sender, why='not in the white list')
                return None
            text = data
        else:
            return None
        text = text.splitlines()[0] if text.strip() else b''
        run = smsdigest.run_text(text)
        if run is None:
            return None
        return SmsRequest(sender, dcs, text, run[0], run[1], digest)

    def _next(self):
        if self.session is not None or not self.queue:
            return
        request = self.queue.popleft()
        try:
            port = self.modem.spawn_instance()
        except RuntimeError:
            self.modem.log('smsatrun_no_instance', sender=request.sender)
            self.modem.later(0, self._next)
            return
        port.echo = False
        self.session = SmsSession(self, port, request)
        if self.nvm.sms_urc:
            # AT ref.: "#SMSATRUN: <Text>" on the instance that enabled the service
            port_for_urc = (self.requester if self.requester in self.modem.module.ports
                            else self.modem)
            port_for_urc.urc('#SMSATRUN: ' + request.text.decode('latin-1'))
        port.receive(request.line + b'\r')

    def line_done(self, session):
        # on the first port's timers: a reboot the command asked for (#REBOOT) comes first and
        # cancels the answer (§2.5.2 note 2)
        self.modem.later(0, self._answered, session)

    def _answered(self, session):
        session.close()
        self.session = None
        request, effect = session.request, session.effect
        if effect in (STUCK, BLOCKED):
            self.blocked = True
            self.modem.log('atrun_blocked', channel='sms', effect=effect)
        if effect == STUCK:
            self.modem.later(self.nvm.sms_timeout * 60, self.modem.reboot)
        if request.reply and effect is None:
            self._send_answer(request, bytes(session.out))
        self._next()

    def _send_answer(self, request, text):
        """The answer goes back "coded with the same alphabet and ... the same configuration of
        the received SMS" (§2.1)."""
        if request.digest is not None:
            d = request.digest
            parts = smsdigest.build_response(d.password, text, d.transaction, d.session)
        else:
            parts = smsdigest.split_simple_response(text, smsdigest.dcs_alphabet(request.dcs))
        for n, part in enumerate(parts, 1):
            self.modem.sms_out.append({'to': request.sender, 'dcs': request.dcs,
                                       'user_data': part, 'part': n, 'parts': len(parts)})
        self.modem.log('smsatrun_answer', to=request.sender, parts=len(parts))

    def command_timeout(self):
        self.modem.log('atrun_command_timeout', channel='sms')
        self.modem.reboot()

    def stop(self):
        self.queue.clear()
        session, self.session = self.session, None
        if session is not None:
            session.close()


class AtRunMixin:
    """#TCPATRUN*, #TCPATCMDSEQ, #TCPATCONSER, #ATRUNDELAY, #SMSATRUN* and `inject_sms()`.

    NVM in `self.nvm['atrun']`; the running services (`tcpatrun`, `smsatrun`) belong to the
    module and report to its first port.  Ports spawned for a remote channel carry
    `atrun_session`.  NVM and services are made on first use, so nothing depends on when
    the dialect's `reset()` sets up `nvm` and `module`."""

    ATRUN_COMMANDS = {
        '#TCPATRUNCFG': 'at_tcpatruncfg', '#TCPATRUNL': 'at_tcpatrunl',
        '#TCPATRUND': 'at_tcpatrund', '#TCPATRUNAUTH': 'at_tcpatrunauth',
        '#TCPATRUNFRWL': 'at_tcpatrunfrwl', '#TCPATRUNCLOSE': 'at_tcpatrunclose',
        '#TCPATCMDSEQ': 'at_tcpatcmdseq', '#TCPATCONSER': 'at_tcpatconser',
        '#ATRUNDELAY': 'at_atrundelay', '#SMSATRUN': 'at_smsatrun',
        '#SMSATRUNCFG': 'at_smsatruncfg', '#SMSATWL': 'at_smsatwl',
    }
    COMMANDS = ATRUN_COMMANDS
    atrun_session = None        # the RemoteSession driving this port, if any
    atrun_origin = None         # 'tcp_server', 'tcp_client', 'sms_simple' or 'sms_digest'

    def __init__(self, loop, net, config=None):
        self.sms_out = deque(maxlen=SMS_OUT_MAX)    # answer SMS sent by SMSATRUN
        super().__init__(loop, net, config)

    @property
    def atrun_nvm(self):
        nvm = self.nvm.get('atrun')
        if nvm is None:
            nvm = self.nvm['atrun'] = AtRunNvm()
        return nvm

    @property
    def tcpatrun(self):
        return self._module_service('tcpatrun', TcpAtRun)

    @property
    def smsatrun(self):
        return self._module_service('smsatrun', SmsAtRun)

    def _module_service(self, name, kind):
        service = getattr(self.module, name, None)
        if service is None:
            service = kind(self.module.ports[0])
            setattr(self.module, name, service)
        return service

    # -- module life ------------------------------------------------------------------------

    def reset(self):
        # a reboot replaces the module: its services stop first (listener, sessions, queue),
        # without the disconnection URC (the module is going down)
        module = getattr(self, 'module', None)
        if module is not None and module.ports[0] is self:
            tcp, sms = getattr(module, 'tcpatrun', None), getattr(module, 'smsatrun', None)
            if tcp is not None:
                tcp.stop(announce=False)
            if sms is not None:
                sms.stop()
        super().reset()

    def power_on(self):
        super().power_on()
        self.tcpatrun.start()

    def services_lost(self, cid):
        super().services_lost(cid)
        self.tcpatrun.context_lost(cid)

    def inject_sms(self, sender, user_data, dcs=0x00):
        """An SMS from `sender` reaches the module (T-RUN §2).  With #SMSATRUN=1 an ATRUN SMS
        (simple: from a white-listed number; digest: Tab. 1 user data, 8-bit) runs on a further
        AT instance and its answer goes to `sms_out`; any other SMS goes to the SIM store
        (core `deliver_sms`, +CMTI).  Returns whether it was an ATRUN SMS."""
        self.log('sms_received', sender=sender, dcs=dcs)
        if self.smsatrun.receive(sender, user_data, dcs):
            return True
        if isinstance(user_data, str):
            self.deliver_sms(sender, user_data, dcs=dcs, intercept=False)
        else:
            self.deliver_sms(sender, data=bytes(user_data), dcs=dcs, intercept=False)
        return False

    def sms_intercept(self, pdu):
        """Every received SMS is tested by SMSATRUN first (T-RUN s2.2); one it runs is
        "handled and silently discarded".  A concatenated one is never an ATRUN SMS (s2.1)."""
        if pdu.concat() is not None:
            return False
        try:
            alphabet = smsdigest.dcs_alphabet(pdu.dcs)
        except ValueError:
            return False
        if alphabet not in ('gsm7', '8bit'):
            return False
        body = pdu.text()
        user_data = body.encode('latin-1', 'replace') if alphabet == 'gsm7' else body
        return self.smsatrun.receive(pdu.number, user_data, pdu.dcs)

    # -- Modem hooks for a port that a remote channel drives --------------------------------

    def _execute_line(self, raw):
        if self.atrun_session is None:
            return super()._execute_line(raw)
        return self.atrun_session.execute(raw, super()._execute_line)

    def _complete_line(self, text):
        super()._complete_line(text)
        if self.atrun_session is not None and not self.atrun_session.closed:
            self.atrun_session.line_done()

    def _hold(self, data):
        if self.atrun_session is not None and not self.atrun_session.queue_lines():
            # §3.4: without #TCPATCMDSEQ=1 a line sent before the answer "would be ignored"
            self.atrun_session.service.modem.log('atrun_ignored', size=len(data))
            return
        super()._hold(data)

    # -- TCPATRUN ---------------------------------------------------------------------------

    def at_tcpatruncfg(self, op, args):
        nvm = self.atrun_nvm
        if op == 'test':
            self.line(f'#TCPATRUNCFG: (1-{self.platform.sockets}),(1-3),(1-65535),(1-65535),,'
                      '(0,1),(1-5),(0,1),(0-5),(1-3600)')
            return 'OK'
        if op == 'read':
            self.line(f'#TCPATRUNCFG: {nvm.tcp.render()}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        old = nvm.tcp
        # §2.2/§3.6 allow <muxInstance> 1 (AT ref.: 2-3); omitted optional values are kept
        cfg = TcpAtRunCfg(
            self.arg_conn_id(args), self.arg_int(args, 1, 1, 3), self.arg_int(args, 2, 1, 65535),
            self.arg_int(args, 3, 1, 65535), self.arg_str(args, 4, 255).strip(),
            self.arg_int(args, 5, 0, 1, default=old.urc),
            self.arg_int(args, 6, 1, 5, default=old.timeout),
            self.arg_int(args, 7, 0, 1, default=old.auth_mode),
            self.arg_int(args, 8, 0, 5, default=old.retry_count),
            self.arg_int(args, 9, 1, 3600, default=old.retry_delay))
        if nvm.server or nvm.client:
            return 'ERROR'          # AT ref.: not while #TCPATRUNL or #TCPATRUND is 1
        nvm.tcp = cfg
        return 'OK'

    def at_tcpatrunl(self, op, args):
        return self._tcpatrun_mode(op, args, 'server', '#TCPATRUNL')

    def at_tcpatrund(self, op, args):
        return self._tcpatrun_mode(op, args, 'client', '#TCPATRUND')

    def _tcpatrun_mode(self, op, args, mode, name):
        nvm, service = self.atrun_nvm, self.tcpatrun
        if op == 'test':
            self.line(f'{name}: (0,1)')
            return 'OK'
        if op == 'read':
            enabled = getattr(nvm, mode)
            self.line(f'{name}: {enabled},{service.stat() if enabled else 0}')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        value = self.arg_int(args, 0, 0, 1)
        if not value:
            if getattr(nvm, mode):
                setattr(nvm, mode, 0)
                self._after_line(service.stop)
            return 'OK'
        if getattr(nvm, 'client' if mode == 'server' else 'server'):
            return 'ERROR'          # one <connId>: the two modes cannot run together
        if nvm.sms and nvm.sms_instance == nvm.tcp.instance:
            return 'ERROR'          # AT ref.: "If SMSATRUN is active on the same instance"
        if not getattr(nvm, mode):
            setattr(nvm, mode, 1)
            service.requester = self
            # §3.3.1: "If the command response is OK, the client (module) opens the
            # client-server connection"
            self._after_line(service.enable)
        return 'OK'

    def at_tcpatrunauth(self, op, args):
        users = self.atrun_nvm.auth
        if op == 'test':
            self.line('#TCPATRUNAUTH: (0-2),,')
            return 'OK'
        if op == 'read':
            for user, password in users:
                self.line(f'#TCPATRUNAUTH: "{user}","{password}"')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        action = self.arg_int(args, 0, 0, 2)
        if action == 2:
            users.clear()
            return 'OK'
        entry = (self.arg_str(args, 1, AUTH_TEXT_MAX), self.arg_str(args, 2, AUTH_TEXT_MAX))
        if action == 0:
            if entry in users:
                users.remove(entry)
        elif entry not in users:
            if len(users) >= AUTH_MAX:
                return self.cme('memory full')
            users.append(entry)
        return 'OK'

    def at_tcpatrunfrwl(self, op, args):
        if self.atrun_origin in ADMIN_REFUSED:
            return 'ERROR'
        rules = self.atrun_nvm.frwl
        if op == 'test':
            self.line('#TCPATRUNFRWL: (0-2),,')
            return 'OK'
        if op == 'read':
            for rule, mask in rules:
                self.line(f'#TCPATRUNFRWL: "{ipaddress.IPv4Address(rule)}",'
                          f'"{ipaddress.IPv4Address(mask)}"')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        action = self.arg_int(args, 0, 0, 2)
        if action == 2:
            rules.clear()           # §3.9: "AT#TCPATRUNFRWL=2" before adding the rule
            return 'OK'
        try:
            chain = tuple(ipv4_number(self.arg_str(args, i, 15)) for i in (1, 2))
        except ValueError:
            return self.cme(50)
        if action == 0:
            if chain in rules:
                rules.remove(chain)
        elif chain not in rules:
            if len(rules) >= FRWL_MAX:
                return self.cme('memory full')
            rules.append(chain)
        return 'OK'

    def at_tcpatrunclose(self, op, args):
        if op == 'test':
            return 'OK'
        if op != 'exec':
            return 'ERROR'
        self._after_line(self.tcpatrun.close_connection)
        return 'OK'

    def at_tcpatcmdseq(self, op, args):
        nvm = self.atrun_nvm
        if op == 'read':
            self.line(f'#TCPATCMDSEQ: {nvm.cmdseq}')
        elif op == 'test':
            self.line('#TCPATCMDSEQ: (0,1)')
        elif op == 'set':
            # §3.4: "can be set from any instance, but it just affects AT commands managed by
            # the ATRUN service"
            nvm.cmdseq = self.arg_int(args, 0, 0, 1)
        else:
            return 'ERROR'
        return 'OK'

    def at_atrundelay(self, op, args):
        delays = self.atrun_nvm.delay
        if op == 'read':
            for srv, value in enumerate(delays):
                self.line(f'#ATRUNDELAY: {srv},{value}')
        elif op == 'test':
            self.line(f'#ATRUNDELAY: (0,1),(0-{DELAY_MAX})')
        elif op == 'set':
            # §3.8.1 "AT#ATRUNDELAY=0,10" (TCPATRUN), §2.5.1 "AT#ATRUNDELAY=1,5" (SMSATRUN)
            srv = self.arg_int(args, 0, 0, 1)
            delays[srv] = self.arg_int(args, 1, 0, DELAY_MAX)
        else:
            return 'ERROR'
        return 'OK'

    def at_tcpatconser(self, op, args):
        if op == 'test':
            self.line(f'#TCPATCONSER: (1),({",".join(str(r) for r in SERIAL_RATES)})')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        # <port>: the emulator has one serial line, the module's first port
        self.arg_int(args, 0, 1, 1)
        if self.arg_int(args, 1) not in SERIAL_RATES:
            return self.cme(50)
        if not isinstance(self.atrun_session, TcpSession):
            return 'ERROR'          # §3.5: "using the TCPATRUN instance"
        return self.atrun_session.bridge()

    # -- SMSATRUN ---------------------------------------------------------------------------

    def at_smsatrun(self, op, args):
        nvm = self.atrun_nvm
        if op == 'read':
            self.line(f'#SMSATRUN: {nvm.sms}')
        elif op == 'test':
            self.line('#SMSATRUN: (0,1)')
        elif op == 'set':
            nvm.sms = self.arg_int(args, 0, 0, 1)
            self.smsatrun.requester = self
        else:
            return 'ERROR'
        return 'OK'

    def at_smsatruncfg(self, op, args):
        nvm = self.atrun_nvm
        if op == 'read':
            self.line(f'#SMSATRUNCFG: {nvm.sms_instance},{nvm.sms_urc},{nvm.sms_timeout}')
            return 'OK'
        if op == 'test':
            self.line('#SMSATRUNCFG: (2,3),(0,1),(1-60)')
            return 'OK'
        if op != 'set':
            return 'ERROR'
        # §2.3 "AT#SMSATRUNCFG=3,1,2": third instance, URC on, 2 minutes
        values = (self.arg_int(args, 0, 2, 3), self.arg_int(args, 1, 0, 1, default=nvm.sms_urc),
                  self.arg_int(args, 2, 1, 60, default=nvm.sms_timeout))
        if nvm.sms:
            return 'ERROR'          # AT ref.: not while #SMSATRUN? is 1
        nvm.sms_instance, nvm.sms_urc, nvm.sms_timeout = values
        return 'OK'

    def at_smsatwl(self, op, args):
        if self.atrun_origin in ADMIN_REFUSED:
            return 'ERROR'
        table = self.atrun_nvm.whitelist
        if op == 'test':
            self.line(f'#SMSATWL: (0-2),(1-{WHITELIST_SLOTS}),(0,1)')
            return 'OK'
        if op == 'read':
            for index in range(1, WHITELIST_SLOTS + 1):
                self._whitelist_line(table.get(index))
            return 'OK'
        if op != 'set':
            return 'ERROR'
        action = self.arg_int(args, 0, 0, 2)
        index = self.arg_int(args, 1, 1, WHITELIST_SLOTS)
        if action == 1:
            table.pop(index, None)
        elif action == 2:
            self._whitelist_line(table.get(index))
        else:
            kind = self.arg_int(args, 2, 0, 1)
            text = self.arg_str(args, 3, 32)
            if kind == 1:
                if len(text) != smsdigest.PASSWORD_SIZE:
                    return self.cme(50)     # §2.3: "the password has to be 16 characters"
                others = [i for i, (k, _) in table.items() if k == 1 and i != index]
                if len(others) >= PASSWORDS_MAX:
                    return self.cme('memory full')
            elif not smsdigest.valid_phone_entry(text):
                return self.cme(50)
            table[index] = (kind, text)
        return 'OK'

    def _whitelist_line(self, entry):
        # AT ref.: "#SMSATWL: [<entryType>,<string>]"; an empty slot shows nothing after it
        self.line(f'#SMSATWL: {entry[0]},"{entry[1]}"' if entry else '#SMSATWL: ')
