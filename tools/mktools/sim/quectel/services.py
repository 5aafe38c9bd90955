"""Quectel network services (QL §2.1.11-§2.1.14): AT+QPING, AT+QNTP (a real SNTP query on
loopback), AT+QIDNSCFG, AT+QIDNSGIP, and the module clock read by AT+CCLK."""

import datetime
import struct

from mktools.sim.core.net import NetError
from mktools.sim.quectel.common import (
    CONTEXT_IDS, E_BUSY, E_DNS, E_INVALID, E_TIMEOUT, is_ipv4, tcpip_command)

NTP_EPOCH_OFFSET = 2208988800   # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
SNTP_REQUEST_MODE = 0x23        # LI 0, version 4, mode 3 (client)
SNTP_PACKET = 48
PING_BYTES = 32                 # QL §3.7: every reply shows 32 bytes
PING_TTL = 255                  # QL §3.7
PING_INTERVAL_S = 1.0
DNS_TTL = 600
UTC = datetime.timezone.utc


def sntp_request(transmit_s):
    """An SNTP client packet (RFC 4330) whose transmit timestamp is `transmit_s` (Unix)."""
    return struct.pack('!B47x', SNTP_REQUEST_MODE)[:40] + ntp_timestamp(transmit_s)


def ntp_timestamp(unix_s):
    seconds = int(unix_s) + NTP_EPOCH_OFFSET
    fraction = int((unix_s % 1) * (1 << 32))
    return struct.pack('!II', seconds & 0xFFFFFFFF, fraction)


def sntp_reply_time(packet, request):
    """The server's transmit time (Unix seconds) from a reply to `request`, or None when the
    packet is not a valid answer to it (RFC 4330 §5: mode 4, stratum 1-15, originate
    timestamp echoing our transmit timestamp)."""
    if len(packet) < SNTP_PACKET:
        return None
    mode, stratum = packet[0] & 0x07, packet[1]
    if mode != 4 or not 1 <= stratum <= 15 or packet[24:32] != request[40:48]:
        return None
    seconds, fraction = struct.unpack('!II', packet[40:48])
    return seconds - NTP_EPOCH_OFFSET + fraction / (1 << 32)


def clock_text(unix_s, quarters, century=False):
    """`yy/MM/dd,hh:mm:ss±zz` (AT+CCLK) or `YYYY/MM/DD,hh:mm:ss±zz` (AT+QNTP, QL §2.1.12)."""
    when = datetime.datetime.fromtimestamp(int(unix_s), UTC)
    year = f'{when.year:04d}' if century else f'{when.year % 100:02d}'
    sign = '-' if quarters < 0 else '+'
    return f'{year}/{when:%m/%d,%H:%M:%S}{sign}{abs(quarters):02d}'


def parse_clock(text):
    """AT+CCLK's `yy/MM/dd,hh:mm:ss±zz` -> (unix seconds, quarters); ValueError if malformed."""
    stamp, sign, zone = text[:17], text[17:18], text[18:]
    if sign not in ('+', '-') or not zone.isdigit():
        raise ValueError(text)
    when = datetime.datetime.strptime(stamp, '%y/%m/%d,%H:%M:%S').replace(tzinfo=UTC)
    quarters = int(zone) * (-1 if sign == '-' else 1)
    if not -48 <= quarters <= 56:
        raise ValueError(text)
    return when.timestamp(), quarters


class NtpQuery:
    """One AT+QNTP synchronisation in progress; the event sink of its UDP socket."""

    def __init__(self, modem, server, port, autoset, request):
        self.modem = modem
        self.server = server
        self.port = port
        self.autoset = autoset
        self.request = request
        self.udp = modem.net.udp_open(0, self)
        self.timer = None

    def on_datagram(self, udp, data, addr):
        if udp is self.udp:
            self.modem.ntp_reply(self, data, addr)


class ServiceCommands:
    """Mixin of `QuectelModem`: ping, NTP, DNS and the clock."""

    COMMANDS = {'+QPING': 'qping', '+QNTP': 'qntp', '+QIDNSCFG': 'qidnscfg',
                '+QIDNSGIP': 'qidnsgip', '+CCLK': 'cclk'}

    def reset_services(self):
        self.dns_servers = {}           # context -> [primary, secondary]
        self.ntp = None                 # the synchronisation in progress
        self.set_clock(self.config['clock'], 0)

    def drop_services(self):
        if self.ntp is not None:
            self.ntp.udp.close()
            self.ntp = None

    # -- clock ------------------------------------------------------------------------------

    def set_clock(self, unix_s, quarters):
        self.clock_base = (unix_s, self.loop.now())
        self.clock_zone = quarters

    def clock_now(self):
        unix_s, at = self.clock_base
        return unix_s + self.loop.now() - at

    def cclk(self, op, args):
        if op == 'read':
            self.line(f'+CCLK: "{clock_text(self.clock_now(), self.clock_zone)}"')
            return 'OK'
        if op == 'test':
            return 'OK'
        if op != 'set':
            return self.cme(50)
        try:
            self.set_clock(*parse_clock(self.arg_str(args, 0, 20)))
        except ValueError:
            return self.cme(50)
        return 'OK'

    # -- DNS (QL §2.1.13, §2.1.14) ----------------------------------------------------------

    @tcpip_command
    def qidnscfg(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        primary = self.arg_str(args, 1, 15, default=None)
        secondary = self.arg_str(args, 2, 15, default='0.0.0.0')
        problem = self.context_problem(ctx)
        if problem:
            return self.fail(problem)
        servers = self.dns_servers.setdefault(ctx, list(self.config['dns_servers']))
        if primary is None:
            self.line(f'+QIDNSCFG: {ctx},"{servers[0]}","{servers[1]}"')
            return 'OK'
        if not is_ipv4(primary) or not is_ipv4(secondary):
            return self.fail(E_INVALID)
        servers[:] = [primary, secondary]
        return 'OK'

    @tcpip_command
    def qidnsgip(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        name = self.arg_str(args, 1, 255)
        problem = self.context_problem(ctx)
        if problem:
            return self.fail(problem)
        self.later(2 * self.net.latency_s, self._dns_answer, name)
        return 'OK'

    def _dns_answer(self, name):
        try:
            ip, _ = self.resolve_host(name)
        except NetError:
            # the seed gives only the success form; on failure just the code is reported
            self.last_error = E_DNS
            self.urc(f'+QIURC: "dnsgip",{E_DNS}')
            return
        self.urc(f'+QIURC: "dnsgip",0,1,{DNS_TTL}')
        self.urc(f'+QIURC: "dnsgip","{ip}"')

    # -- ping (QL §2.1.11) ------------------------------------------------------------------

    @tcpip_command
    def qping(self, op, args):
        if op == 'test':
            return self.test_response()
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        host = self.arg_str(args, 1, 255)
        timeout_s = self.arg_int(args, 2, 1, 255, default=4)
        count = self.arg_int(args, 3, 1, 10, default=4)
        problem = self.context_problem(ctx)
        if problem:
            self.urc(f'+QPING: {problem}')
            return 'OK'
        try:
            ip, reachable = self.resolve_host(host)
        except NetError:
            self.later(2 * self.net.latency_s, self.urc, f'+QPING: {E_DNS}')
            return 'OK'
        # Echo replies are simulated: loopback answers after the network round trip, anything
        # else never answers (Net does not reach it).
        ping = {'ip': ip, 'reachable': reachable, 'timeout_s': timeout_s, 'left': count,
                'sent': 0, 'times': []}
        self.later(0, self._ping_request, ping)
        return 'OK'

    def _ping_request(self, ping):
        ping['left'] -= 1
        ping['sent'] += 1
        rtt_s = 2 * self.net.latency_s
        if ping['reachable'] and rtt_s <= ping['timeout_s']:
            wait_s = rtt_s
            ping['times'].append(round(rtt_s * 1000))
            self.later(wait_s, self.urc, f'+QPING: 0,"{ping["ip"]}",{PING_BYTES},'
                                        f'{ping["times"][-1]},{PING_TTL}')
        else:
            wait_s = ping['timeout_s']
            self.later(wait_s, self.urc, f'+QPING: {E_TIMEOUT}')
        next_s = max(PING_INTERVAL_S, wait_s)
        if ping['left']:
            self.later(next_s, self._ping_request, ping)
        else:
            self.later(wait_s, self._ping_summary, ping)

    def _ping_summary(self, ping):
        times = ping['times']
        sent, received = ping['sent'], len(times)
        low, high, avg = (min(times), max(times), sum(times) // received) if times else (0, 0, 0)
        self.urc(f'+QPING: 0,{sent},{received},{sent - received},{low},{high},{avg}')

    # -- NTP (QL §2.1.12) -------------------------------------------------------------------

    @tcpip_command
    def qntp(self, op, args):
        if op == 'test':
            return self.test_response()
        if op == 'read':
            if self.ntp is not None:
                self.line(f'+QNTP: "{self.ntp.server}",{self.ntp.port}')
            return 'OK'
        if op != 'set':
            return self.fail(E_INVALID)
        ctx = self.arg_int(args, 0, *CONTEXT_IDS)
        server = self.arg_str(args, 1, 255)
        port = self.arg_int(args, 2, 1, 65535, default=123)
        # <autosettime>'s default is lost in the seed; QL §3.8 omits it and AT+CCLK? then shows
        # the synchronised time, so the default is 1 ("Set").
        autoset = self.arg_int(args, 3, 0, 1, default=1)
        if self.ntp is not None:
            return self.fail(E_BUSY)
        problem = self.context_problem(ctx)
        if problem:
            self.urc(f'+QNTP: {problem}')
            return 'OK'
        try:
            ip, reachable = self.resolve_host(server)
        except NetError:
            self.later(2 * self.net.latency_s, self.urc, f'+QNTP: {E_DNS}')
            return 'OK'
        self.ntp = NtpQuery(self, server, port, autoset, sntp_request(self.clock_now()))
        self.ntp.timer = self.later(self.config['ntp_timeout_s'], self._ntp_done, None)
        if reachable:
            self.ntp.udp.sendto(self.ntp.request, (ip, port))
        else:
            self.log('ntp_unreachable', server=server, ip=ip)
        return 'OK'

    def ntp_reply(self, query, data, addr):
        if query is not self.ntp:
            return
        unix_s = sntp_reply_time(data, query.request)
        if unix_s is None:
            self.log('ntp_bad_reply', addr=addr, size=len(data))
            return
        query.timer.cancel()
        self._ntp_done(unix_s)

    def _ntp_done(self, unix_s):
        query, self.ntp = self.ntp, None
        query.udp.close()
        if unix_s is None:
            self.last_error = E_TIMEOUT
            self.urc(f'+QNTP: {E_TIMEOUT}')
            return
        if query.autoset:
            self.set_clock(unix_s, 0)
        self.urc(f'+QNTP: 0,"{clock_text(unix_s, 0, century=True)}"')
