"""Wavecom `#PING` (MT Chapter 7) and SNTP `AT+EGNTP...` (GP §5).

There is no ICMP on the emulator's loopback-only network: a ping "answers" when PINGREMOTE
resolves to a (loopback) address through the name map, after `config['ping_rtt_ms']` (one value,
or a list used in turn, None meaning no answer) plus the network latency both ways; names or
addresses listed in `config['ping_silent']` never answer.
SNTP is real: one 48-byte client request (RFC 4330) over UDP to the server, port EGNTPPORT.
"""

import struct
import time

from mktools.sim.core.modem import PENDING
from mktools.sim.core.net import NetError
from mktools.sim.wavecom.port import stack
from mktools.sim.wavecom.session import resolve
from mktools.sim.wavecom.tables import GP_ONLY, MT_ONLY, PARAMS

NTP_EPOCH_OFFSET = 2208988800        # seconds from 1900-01-01 to 1970-01-01
SNTP_REQUEST = bytes([0x1B]) + bytes(47)   # LI 0, version 3, mode 3 (client)


class PingRun:
    """One `AT#PING`: PINGNUM echo requests, one every PINGDELAY seconds, each answered or
    reported "NO answer" after PINGDELAY (MT #PINGDELAY: "the waiting delay ... before an echo
    request is considered as a no reply. It is also the delay between two echo requests")."""

    def __init__(self, modem, remote, rtts_ms):
        self.modem = modem
        self.remote = remote
        self.rtts_ms = rtts_ms          # per request: an RTT in ms or None (no answer)
        self.total = modem.param('PINGNUM')
        self.delay_s = modem.param('PINGDELAY')
        self.sent = 0
        self.reported = 0

    def start(self):
        self._request()

    def _request(self):
        rtt = self.rtts_ms[self.sent % len(self.rtts_ms)]
        self.sent += 1
        if rtt is not None and rtt <= self.delay_s * 1000:
            self.modem.later(rtt / 1000, self._report,
                             f'"{self.remote}" is alive : time = {rtt} ms')
        else:
            self.modem.later(self.delay_s, self._report, f'NO answer from "{self.remote}"')
        if self.sent < self.total:
            self.modem.later(self.delay_s, self._request)

    def abort(self):
        """Stop reporting (the pending timers find the run gone)."""
        if self.modem.ping is self:
            self.modem.ping = None

    def _report(self, text):
        if self.modem.ping is not self:
            return
        self.modem.line(text)
        self.reported += 1
        if self.reported == self.total:
            self.modem.ping = None
            self.modem.finish('OK')


class SntpQuery:
    """One `AT+EGNTP=1|2`: try each server in turn, each with its timeout."""

    def __init__(self, modem, servers, timeout_s, display):
        self.modem = modem
        self.servers = list(servers)
        self.timeout_s = timeout_s
        self.display = display
        self.sock = None
        self.timer = None

    def start(self):
        self._next()

    def _next(self):
        self._close()
        while self.servers:
            ip, code = resolve(self.modem.net, self.servers.pop(0))
            if code is None:
                break
            self.modem.log('sntp_unresolved', code=code)
        else:
            # GP §5.2.2: "The SNTP server has not been found and the request has timed out"
            return self._done('ERROR')
        try:
            self.sock = self.modem.net.udp_open(0, self)
        except NetError:
            return self._done('ERROR')
        self.sock.sendto(SNTP_REQUEST, (ip, self.modem.param('EGNTPPORT')))
        self.timer = self.modem.later(self.timeout_s, self._timeout)

    def _timeout(self):
        self.timer = None
        self.modem.log('sntp_timeout')
        self._next()

    def on_datagram(self, sock, data, addr):
        if len(data) < 48 or data[0] & 0x07 not in (4, 5):
            self.modem.log('sntp_bad_reply', size=len(data))
            return
        seconds, fraction = struct.unpack('!II', data[40:48])
        if not seconds:
            return
        unix = seconds - NTP_EPOCH_OFFSET + fraction / 2 ** 32
        hours, minutes = self.modem.flash[('EGNTPUTC', None)]
        sign = -1 if hours < 0 else 1
        local = unix + hours * 3600 + sign * minutes * 60
        self.modem.rtc = (self.modem.loop.now(), local)
        if self.display:
            # format [INFERRED] from the GP §5.2.2 examples ("07/06/01,12:08:02")
            self.modem.line(time.strftime('%y/%m/%d,%H:%M:%S', time.gmtime(int(local))))
        self._done('OK')

    def _close(self):
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def _done(self, final):
        self._close()
        if self.modem.sntp is self:
            self.modem.sntp = None
            self.modem.finish(final)

    def abort(self):
        self._close()


class ServiceCommands:
    """Mixin of `WavecomModem`: ping (Multi-Tech) and SNTP (GenPro)."""

    COMMANDS = {'#PING': 'at_ping', '+EGNTP': 'at_egntp', '+EGNTPUTC': 'at_egntputc',
                '+EGNTPPORT': 'at_egntp_param', '+EGNTPWAIT': 'at_egntp_param'}

    @stack(MT_ONLY)
    def at_ping(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        refusal = self.refuse_exclusive()
        if refusal:
            return refusal
        remote = self.param('PINGREMOTE')
        ip, code = resolve(self.net, remote)
        if code == 38027:
            return self.error(code)
        rtts = [None]
        if ip is not None and not set(self.config['ping_silent']) & {remote, ip}:
            configured = self.config['ping_rtt_ms']
            extra = 2000 * self.net.latency_s
            rtts = [None if ms is None else round(ms + extra) for ms in
                    (configured if isinstance(configured, (list, tuple)) else [configured])]
        self.ping = PingRun(self, remote, rtts)
        self.ping.start()
        return PENDING

    @stack(GP_ONLY)
    def at_egntp(self, op, args):
        if op != 'set' or not args:
            return 'ERROR'
        mode = self.arg_int(args, 0, 0, 2)
        if mode == 0:
            # GP §5.2.2 "A started SNTP request has been halted": requests run while the
            # command is pending, so there is none left to halt here
            return 'OK' if len(args) == 1 else 'ERROR'
        if mode == 1:
            if len(args) > 2:
                return 'ERROR'
            servers, timeout = self.config['sntp_servers'], self.param('EGNTPWAIT')
            display = self.arg_int(args, 1, 0, 1, default=0)
        else:
            if len(args) > 4:
                return 'ERROR'
            servers = [self.arg_str(args, 1, 64)]
            timeout = self.arg_int(args, 2, 10, 300, default=30)
            display = self.arg_int(args, 3, 0, 1, default=0)
        if not self.bearer_up():
            return self.error(35867)
        self.sntp = SntpQuery(self, servers, timeout, display)
        self.sntp.start()
        return PENDING

    @stack(GP_ONLY)
    def at_egntputc(self, op, args):
        if op == 'read':
            # the response format is not in the seed: the +NAME: value convention
            hours, minutes = self.flash[('EGNTPUTC', None)]
            self.line(f'+EGNTPUTC: {hours},{minutes}')
            return 'OK'
        if op != 'set' or not 1 <= len(args) <= 2:
            return 'ERROR'
        # GP §5.1.2: "AT+EGNTPUTC=<"hour">(, minutes)", hour -11..12, minutes 0..59
        hours = self.arg_int(args, 0, -11, 12)
        minutes = self.arg_int(args, 1, 0, 59, default=0)
        self.flash[('EGNTPUTC', None)] = (hours, minutes)
        return 'OK'

    @stack(GP_ONLY)
    def at_egntp_param(self, op, args):
        spec = PARAMS[self.command.name[1:]]
        if op == 'read':
            self.line(f'+{spec.name}: {self.param(spec.name)}')
            return 'OK'
        if op != 'set' or len(args) != 1:
            return 'ERROR'
        self.flash[(spec.name, None)] = self.arg_int(args, 0, *spec.limit)
        return 'OK'
