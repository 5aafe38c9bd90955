"""Tables and small helpers shared by the Quectel LTE Standard dialect modules (QL manual)."""

import functools

# QL §4 Table 1.  AT+QIGETERROR prints the text in lower case (QL §3.9: "552, invalid parameters").
ERRORS = {
    0: 'Operation successful',
    550: 'Unknown error',
    551: 'Operation blocked',
    552: 'Invalid parameters',
    553: 'Memory not enough',
    554: 'Create socket failed',
    555: 'Operation not supported',
    556: 'Socket bind failed',
    557: 'Socket listen failed',
    558: 'Socket write failed',
    559: 'Socket read failed',
    560: 'Socket accept failed',
    561: 'Open PDP context failed',
    562: 'Close PDP context failed',
    563: 'Socket identity has been used',
    564: 'DNS busy',
    565: 'DNS parse failed',
    566: 'Socket connect failed',
    567: 'Socket has been closed',
    568: 'Operation busy',
    569: 'Operation timeout',
    570: 'PDP context broken down',
    571: 'Cancel send',
    572: 'Operation not allowed',
    573: 'APN not configured',
    574: 'Port busy',
}

E_INVALID = 552
E_UNSUPPORTED = 555
E_PDP_OPEN = 561
E_ID_USED = 563
E_DNS = 565
E_CONNECT = 566
E_CLOSED = 567
E_BUSY = 568
E_TIMEOUT = 569
E_PDP_BROKEN = 570
E_CANCEL = 571
E_NOT_ALLOWED = 572
E_NO_APN = 573
E_PORT_BUSY = 574

# Net's failure reasons -> the +QIOPEN <err> they produce
NET_ERRORS = {'dns': E_DNS, 'in use': E_PORT_BUSY}

CONTEXT_IDS = (1, 16)
CONNECT_IDS = (0, 11)
MAX_ACTIVE_CONTEXTS = 3          # QL §2.1.2
SEND_MAX = 1460                  # QL §2.1.7
READ_MAX = 1500                  # QL §2.1.8
SENDEX_HEX_MAX = 512             # QL §2.1.9

BUFFER, PUSH, TRANSPARENT = 0, 1, 2     # <access_mode>, QL §1.2

# <socket_state>, QL §2.1.6
OPENING, CONNECTED, LISTENING, CLOSING = 1, 2, 3, 4

TCP, UDP = 'TCP', 'UDP'
TCP_LISTENER, UDP_SERVICE, TCP_INCOMING = 'TCP LISTENER', 'UDP SERVICE', 'TCP INCOMING'
# QL §2.1.4: "UDP LISTENER" exists on EG95/EG91 only; "TCP SERVICE" is listed without any
# description or behaviour, and the test response omits both.
UNSUPPORTED_SERVICES = ('UDP LISTENER', 'TCP SERVICE')
SERVERS = (TCP_LISTENER, UDP_SERVICE)

TEST_RESPONSES = {
    '+QICSGP': '+QICSGP: (1-16),(1-3),<APN>,<username>,<password>,(0-3),(0-1)',
    '+QIACT': '+QIACT: (1-16)',
    '+QIDEACT': '+QIDEACT: (1-16)',
    '+QIOPEN': '+QIOPEN: (1-16),(0-11),"TCP/UDP/TCP LISTENER/UDP SERVICE",'
               '"<IP_address>/<domain_name>",<remote_port>,<local_port>,(0-2)',
    '+QICLOSE': '+QICLOSE: (0-11),(0-65535)',
    '+QISEND': '+QISEND: (0-11),(0-1460)',
    '+QIRD': '+QIRD: (0-11),(0-1500)',
    '+QISENDEX': '+QISENDEX: (0-11),<hex_string>',
    '+QISWTMD': '+QISWTMD: (0-11),(0-2)',
    '+QPING': '+QPING: (1-16),<host>,(1-255),(1-10)',
    # QL §2.1.12 prints "(list of supported <port>s)"; the parameter range is 1-65535
    '+QNTP': '+QNTP: (1-16),<server>,(1-65535),(0,1)',
    '+QIDNSCFG': '+QIDNSCFG: (1-16),<pridnsaddr>,<secdnsaddr>',
    '+QIDNSGIP': '+QIDNSGIP: (1-16),<hostname>',
    '+QISDE': '+QISDE: (0,1)',
}

# AT+QICFG options (QL §2.1.15): name -> (defaults, ranges); order as in the test response.
QICFG_OPTIONS = {
    'transpktsize': ((1024,), ((1, 1460),)),
    'transwaittm': ((2,), ((0, 20),)),
    'dataformat': ((0, 0), ((0, 1), (0, 1))),        # default not in seed: text/text
    'viewmode': ((0,), ((0, 1),)),                   # default not in seed
    'tcp/retranscfg': ((12, 600), ((3, 20), (5, 1000))),
    # QL §2.1.15 prints "1 Disable DNS cache / 1 Enable DNS cache" with the first underlined:
    # the default is the "Disable" row, i.e. 0.
    'dns/cache': ((0,), ((0, 1),)),
    'qisend/timeout': ((0,), ((0, 3600),)),
    'passiveclosed': ((0,), ((0, 1),)),
    'udp/readmode': ((0,), ((0, 1),)),
    'udp/sendmode': ((0,), ((0, 1),)),
    'tcp/accept': ((1,), ((0, 1),)),
    # <enable>[,<idle_time>,<interval_time>,<probe_cnt>]; only the ranges are in the seed, the
    # idle/interval/probe defaults here are in-range placeholders.
    'tcp/keepalive': ((0, 120, 75, 9), ((0, 1), (1, 120), (25, 100), (3, 10))),
    'recv/buffersize': ((10240,), ((10240, 524288),)),
    'recvind': ((0,), ((0, 1),)),
}


def range_text(lo, hi):
    """`(0,1)` for a two-value range, `(1-1460)` otherwise, as the QICFG test response prints."""
    return f'({lo},{hi})' if hi - lo == 1 else f'({lo}-{hi})'


def error_text(code):
    """The AT+QIGETERROR description of `code`."""
    return ERRORS.get(code, ERRORS[550]).lower()


def tcpip_command(method):
    """Mark a handler as a TCP/IP command: it clears the AT+QIGETERROR register when it starts
    (QL §2.1.17: the code is that of the last TCP/IP command) and bad arguments give 552."""
    @functools.wraps(method)
    def run(self, op, args):
        self.last_error = 0
        return method(self, op, args)
    run.tcpip = True
    return run


def is_ipv4(text):
    """True for a dotted-decimal IPv4 address."""
    parts = text.split('.')
    return len(parts) == 4 and all(p.isdigit() and len(p) <= 3 and int(p) <= 255 for p in parts)
