"""The Wavecom IP stack dialect: `WavecomModem` (Multi-Tech MTCBA-G/MTSMC-G "Wavecom IP stack
3.02" and GenPro 2Xe), per the MT and GP manuals and digest Part C.

`config['variant']` is `multitech` or `genpro` (digest C.1).  The bearer is `#CONNECTIONSTART`;
sessions (`#OTCP`, `#LTCPSTART`, `#OUDP`, `#FTPGET`...) own the serial port in a DLE/ETX data
mode.  Other config keys: `wopen` (MT `AT+WOPEN` state at first power-on), `attached` (GPRS
attached at power-on), `attach_s` (time `AT+CGATT=1` takes to report `+CGREG: 1`), `apn` (the
only APN the network accepts, or None for any non-empty one), `gateway_ip`, `ping_rtt_ms`,
`ping_silent`, `sntp_servers` (the "default server list" of `AT+EGNTP=1`).
"""

from mktools.sim.core.modem import PENDING, Modem
from mktools.sim.wavecom.ftp import FtpCommands
from mktools.sim.wavecom.mail import MailCommands
from mktools.sim.wavecom.params import ParamCommands
from mktools.sim.wavecom.port import WavecomPort, stack
from mktools.sim.wavecom.services import ServiceCommands
from mktools.sim.wavecom.sockets import SocketCommands
from mktools.sim.wavecom.tables import GP, MT, MT_ONLY, VARIANTS

MAIL_COMMANDS = {'#PUTMAIL': 'SMTPSERV', '#SENDMAIL1': 'SMTPSERV', '#SENDMAIL2': 'SMTPSERV',
                 '#SENDMAIL3': 'SMTPSERV', '#GETMAIL': 'POP3SERV'}


class WavecomModem(ParamCommands, SocketCommands, FtpCommands, MailCommands, ServiceCommands,
                   WavecomPort, Modem):
    """A Wavecom module running the IP stack (`AT#` commands, `#CME ERROR: <n>` errors)."""

    dialect = 'wavecom'
    DEFAULTS = {
        **Modem.DEFAULTS, 'variant': MT, 'manufacturer': 'WAVECOM MODEM',
        'model': 'MULTIBAND  900E  1800', 'revision': '651_', 'wopen': 1, 'attached': True,
        'attach_s': 0.3, 'apn': None, 'gateway_ip': '10.0.0.1', 'ping_rtt_ms': 100,
        'ping_silent': (), 'sntp_servers': ('pool.ntp.org',),
    }
    COMMANDS = {
        '#CONNECTIONSTART': 'at_connectionstart', '#CONNECTIONSTOP': 'at_connectionstop',
        '#DISPLAYIP': 'at_displayip', '#VSTATE': 'at_vstate', '#VVERSION': 'at_vversion',
        '+WOPEN': 'at_wopen', **dict.fromkeys(MAIL_COMMANDS, 'at_mail'),
    }

    def __init__(self, loop, net, config=None):
        self.flash = None               # survives reboots ("stored in nonvolatile memory")
        self.erase_flash = False
        self.wopen = None
        self._pool_index = 0
        super().__init__(loop, net, config)

    def reset(self):
        super().reset()
        if self.config['variant'] not in VARIANTS:
            raise ValueError(f'wavecom variant must be one of {sorted(VARIANTS)}')
        self.variant = VARIANTS[self.config['variant']]
        if self.flash is None or self.erase_flash:
            self.load_flash()
            self.erase_flash = False
        if self.wopen is None:
            self.wopen = self.config['wopen'] if self.variant.name == MT else 1
        self.reset_port()
        self.reset_sockets()
        self.ftp = self.ping = self.sntp = self.mail = None
        self.bearer_ip = None
        self.bearer_gsm = False
        self.attach_ok_at = None
        self.last_write_at = None
        self.rtc = None                 # (loop time, seconds since 1970 incl. UTC offset)

    def reset_network_state(self):
        super().reset_network_state()
        self.attached = 1 if self.config['attached'] and self.reg_stat in (1, 5) else 0

    @property
    def stack_open(self):
        """MT App. A "AT+WOPEN=1 Start the TCP/IP stack"; GP has no such switch."""
        return bool(self.wopen)

    def bearer_up(self):
        return self.bearer_ip is not None

    def exclusive_busy(self):
        """A process that needs the whole stack (FTP, UDP, ping) is running."""
        return any(x is not None for x in (self.ftp, self.udp, self.ping))

    def power_on(self):
        # GP §8: "+WIND: 13 message at start up ... It is not possible to remove this message"
        if self.variant.wind13:
            self.urc('+WIND: 13')

    # -- V.250 restrictions -----------------------------------------------------------------

    def at_verbose(self, op, args):
        # GP §8 "ATV0 This command is not allowed."
        if not self.variant.numeric_results and self._flag(op, args) == 0:
            return 'ERROR'
        return super().at_verbose(op, args)

    def at_quiet(self, op, args):
        # GP §8 "ATQ1 This command is not allowed."
        if self.variant.name == GP and self._flag(op, args) == 1:
            return 'ERROR'
        return super().at_quiet(op, args)

    def at_wopen(self, op, args):
        if self.variant.name != MT or op != 'set':
            return 'ERROR'
        state = self.arg_int(args, 0, 0, 1)
        if not state and self.wopen:
            self.drop_sessions()
        self.wopen = state
        return 'OK'

    # -- GPRS attach and bearer -------------------------------------------------------------

    def at_cgatt(self, op, args):
        was = self.attached
        result = super().at_cgatt(op, args)
        if op == 'set' and result == 'OK':
            if self.attached and not was:
                self.attach_ok_at = self.loop.now()
                if self.reg_mode['+CGREG']:
                    # GP §7.2.1: OK, then "+CGREG: 2", "+CGREG: 1 (attachment succeeded)"
                    self.urc('+CGREG: 2')
                    self.later(self.config['attach_s'], self._attach_done)
            elif was and not self.attached:
                self.bearer_lost()
        return result

    def _attach_done(self):
        if self.reg_mode['+CGREG']:
            self.urc(f'+CGREG: {self._registration_fields("+CGREG", with_n=False)}')

    def at_cfun(self, op, args):
        result = super().at_cfun(op, args)
        if self.bearer_up() and not self.attached:
            self.bearer_lost()
        return result

    @stack()
    def at_connectionstart(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        if self.bearer_up():
            return self.error(35840)
        if self.param('GPRSMODE') == 0:
            if self.variant.name == GP:
                return self.error(36929)    # GP §2.1.5 "Only GPRS mode is currently managed."
            return self._gsm_call()
        if self.reg_stat not in (1, 5) or not self.attached:
            return self.error(35865)
        if self.attach_ok_at is not None and \
                self.loop.now() - self.attach_ok_at < self.variant.cgatt_settle_s:
            # GP §8: "allow a delay of at least 500ms after the "OK" message"
            return self.error(35866)
        apn = self.param('APNSERV')
        if not apn or self.config['apn'] not in (None, apn):
            return self.error(35868)        # "Aborted GPRS connection; check APN parameters"
        self.later(self.config['activation_s'], self._activated, False)
        return PENDING

    def _gsm_call(self):
        # MT #CONNECTIONSTART (GSM mode): DIALING, the number, CONNECT 9600, the IP, OK_Info_PPP
        number = self.param(f'DIALN{self.param("DIALSELECT")}')
        if not number:
            return 'NO CARRIER'
        self.line('DIALING')
        self.line(number)
        self.later(self.config['activation_s'] / 2, self.line, 'CONNECT 9600')
        self.later(self.config['activation_s'], self._activated, True)
        return PENDING

    def _activated(self, gsm):
        pool = self.config['ip_pool']
        self.bearer_ip = pool[self._pool_index % len(pool)]
        self._pool_index += 1
        self.bearer_gsm = gsm
        self.log('bearer_up', ip=self.bearer_ip)
        self.line(self.bearer_ip)
        # digest C.8 #6: success is the IP line then the message, no OK
        self.finish(self.info('PPP' if gsm else 'GprsActivation'))

    @stack()
    def at_connectionstop(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        self.drop_sessions()
        return 'OK'

    @stack()
    def at_displayip(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        if not self.bearer_up():
            return self.error(35867)
        self.line(f'MY IP: {self.bearer_ip}')
        peer = 'PEER IP' if self.bearer_gsm else 'Gateway IP'
        self.line(f'{peer}: {self.config["gateway_ip"]}')
        return 'OK'

    @stack()
    def at_vstate(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        if self.reg_stat not in (1, 5):
            state = self.variant.state_no_service
        else:
            state = '#STATE: "CONNECTED"' if self.bearer_up() else '#STATE: "IDLE"'
        self.value_line(state)
        return 'OK'

    @stack()
    def at_vversion(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        self.value_line(self.variant.version)
        return 'OK'

    @stack(MT_ONLY)
    def at_mail(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        if not self.bearer_up():
            return self.error(35867)
        if not self.param(MAIL_COMMANDS[self.command.name]):
            return self.error(38027)
        return self.mail_command(self.command.name)

    # -- losing things ----------------------------------------------------------------------

    def _all_sessions(self):
        return [s for s in (*self.sessions(), self.ftp, self.mail) if s is not None]

    def drop_sessions(self):
        """`#CONNECTIONSTOP`: close every session and the bearer without a message."""
        for session in self._all_sessions():
            session.closed = True
            session.close_network(reset=True)
        self._stop_jobs()
        self.bearer_ip = None

    def _stop_jobs(self):
        """Ping and SNTP runs stop; waiting listener announcements are dropped."""
        for job in (self.ping, self.sntp):
            if job is not None:
                job.abort()
        self.ping = self.sntp = None
        self.drop_announcements()

    def bearer_lost(self, code=35841):
        """The GPRS session is lost (MT Chapter 9 35841 "GPRS session lost"): the session in
        data mode ends with (ETX +) #CME ERROR, a pending command fails with it, and with
        neither it is reported unsolicited [INFERRED]."""
        self.log('bearer_lost', ip=self.bearer_ip)
        owner = self.port_owner
        reported = False
        for session in self._all_sessions():
            session.close_network(reset=True)
            if session is owner or session.banner_due:
                reported = session.fail(code) or reported
            else:
                session.closed = True
        pending = self.command is not None and self.mode == 'busy' and not reported
        self._stop_jobs()
        self.bearer_ip = None
        if pending and self.command.name in ('#OTCP', '#FTPGET', '#FTPPUT', '#PING', '+EGNTP'):
            self.finish(self.error(code))
        elif not reported:
            self.urc(self.error(code))

    def drop_connections(self):
        """Reboot: every socket closes at once, nothing is reported."""
        self.drop_sessions()

    def pdp_deactivate(self, cid):
        if self.bearer_up() and cid == self.param('GPRSCID'):
            self.log('pdp_deactivate', cid=cid)
            self.bearer_lost()

    def _tcp_session(self, sock_id):
        sock = self.tcp.get(sock_id)
        if sock is None or sock.state != 'open':
            raise ValueError(f'no open TCP socket {sock_id}')
        return sock

    def peer_close(self, sock_id):
        self.log('peer_close', id=sock_id)
        self._tcp_session(sock_id).remote_closed(reset=False)

    def peer_reset(self, sock_id):
        self.log('peer_reset', id=sock_id)
        self._tcp_session(sock_id).remote_closed(reset=True)

    def stall(self, sock_id, on=True):
        self.log('stall', id=sock_id, on=on)
        self._tcp_session(sock_id).stall(on)
