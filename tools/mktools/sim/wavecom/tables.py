"""Data of the Wavecom IP stack dialect: variants, parameter registers, dumps, messages, errors.

Sources: Multi-Tech S000333C rev C (MT) and GenPro 2Xe EG_AT#_CL_003 (GP), digest Part C.
"""

from dataclasses import dataclass

MT = 'multitech'
GP = 'genpro'
BOTH = frozenset((MT, GP))
MT_ONLY = frozenset((MT,))
GP_ONLY = frozenset((GP,))

SOCKET_IDS = (1, 2)


@dataclass(frozen=True)
class Param:
    """One stored parameter register (`AT#NAME=value`, `AT#NAME?`, or per socket `AT#NAME=id`).

    kind: 'str' (limit = max length, an int or {variant: int}), 'int' (limit = (lo, hi)),
    'choice' (limit = allowed ints), 'ip' (dotted quad), 'ftptype' ('A' or 'I').
    """
    name: str
    kind: str
    limit: object = None
    default: object = ''
    per_socket: bool = False
    variants: frozenset = BOTH
    step: int = 1
    prefix: str = '#'

    def max_len(self, variant):
        return self.limit[variant] if isinstance(self.limit, dict) else self.limit


def _s(name, limit, variants=MT_ONLY, default=''):
    return Param(name, 'str', limit, default, variants=variants)


def _i(name, lo, hi, default, variants=MT_ONLY, step=1, per_socket=False, prefix='#'):
    return Param(name, 'int', (lo, hi), default, per_socket, variants, step, prefix)


LONG = {MT: 120, GP: 64}          # MT "up to 120 characters", GP "up to 64 characters"
PORT = (0, 65535)                 # "1 to 5 digits ... numbers above 65,535 are illegal"

PARAMS = {p.name: p for p in (
    # MT Chapter 2 - dialing services (GSM data / PPP: Multi-Tech only)
    _i('ANSWERMODE', 0, 3, 0),
    _i('CALLBACKTIMER', 2, 255, 2),
    _s('CALLSCREENNUM', 64, default='0'),
    _i('REDIALCOUNT', 0, 14, 5),
    # MT #REDIALDELAY: "between 5 and 14" yet "If this parameter is configured to zero": 0 allowed
    _i('REDIALDELAY', 0, 14, 5),
    _i('PHYTIMEOUT', 1, 255, 15),
    _i('RINGCOUNT', 0, 15, 0),
    _s('DIALN1', 64),             # "Length depends on country/region": 64 as for CALLSCREENNUM
    _s('DIALN2', 64),
    _i('DIALSELECT', 1, 2, 1),
    _s('ISPPW', 64),
    _s('ISPUN', 64),
    Param('PPPMODE', 'choice', (1, 2, 3, 4, 9), 1, variants=MT_ONLY),
    Param('PPPMYIP', 'ip', None, '0.0.0.0', variants=MT_ONLY),
    Param('PPPPEERIP', 'ip', None, '0.0.0.0', variants=MT_ONLY),
    _s('PPPSERVUN', 64),
    _s('PPPSERVPW', 64),
    # MT Chapter 2 / GP §2.1 - GPRS
    _s('APNPW', {MT: 120, GP: 64}, BOTH),
    _s('APNSERV', {MT: 120, GP: 96}, BOTH),
    _s('APNUN', {MT: 120, GP: 64}, BOTH),
    _i('GPRSCID', 1, 4, 1, BOTH),
    _i('GPRSMODE', 0, 1, 1, BOTH),
    # MT Chapter 3 - mail and DNS
    _s('SENDERNAME', 120), _s('SENDERADDR', 120), _s('DOMAIN', 120),
    _s('REC1', 120), _s('REC2', 120), _s('REC3', 120),
    _s('CCREC1', 120), _s('CCREC2', 120), _s('CCREC3', 120),
    _s('SUBJ1', 120), _s('SUBJ2', 120), _s('SUBJ3', 120),
    _s('BODY1', 120), _s('BODY2', 120), _s('BODY3', 120),
    _i('POP3HEADERMODE', 0, 1, 1),
    _i('POP3PORT', *PORT, 110),
    _s('POP3PW', 64), _s('POP3SERV', 120), _s('POP3UN', 64),
    _i('SMTPPORT', *PORT, 25),
    _s('SMTPPW', 64), _s('SMTPSERV', 120), _s('SMTPUN', 64),
    Param('DNSSERV1', 'ip', None, '0.0.0.0', variants=MT_ONLY),
    Param('DNSSERV2', 'ip', None, '0.0.0.0', variants=MT_ONLY),
    # MT Chapter 4 / GP §3 - FTP
    _i('FTPPORT', *PORT, 21, BOTH),
    _i('FTPMODE', 0, 1, 0, BOTH),
    Param('FTPTYPE', 'ftptype', None, 'I'),
    _s('FTPSERV', LONG, BOTH),
    _s('FTPUN', 64, BOTH), _s('FTPPW', 64, BOTH),
    _s('FTPGETFILENAME', LONG, BOTH), _s('FTPGETPATH', LONG, BOTH),
    _s('FTPPUTFILENAME', LONG, BOTH), _s('FTPPUTPATH', LONG, BOTH),
    # MT Chapter 5 / GP §4 - TCP, per socket id {1,2}
    _i('DLEMODE', 0, 1, 1, BOTH, per_socket=True),
    _i('TCPPORT', *PORT, 0, BOTH, per_socket=True),
    Param('TCPSERV', 'str', LONG, '', True, BOTH),
    _i('TCPTXDELAY', 0, 32760, 100, BOTH, step=20, per_socket=True),
    # MT Chapter 6 - UDP
    _i('UDPPORT', *PORT, 0),
    _s('UDPSERV', 120),
    _i('UDPTXDELAY', 0, 32760, 100, step=20),
    # MT Chapter 7 - ping
    _i('PINGDELAY', 1, 255, 1),
    _i('PINGNUM', 1, 255, 4),
    _s('PINGREMOTE', 120),
    # GP §5.1 - SNTP (AT+ prefix); EGNTPUTC has two fields and is handled by its own command
    _i('EGNTPPORT', *PORT, 123, GP_ONLY, prefix='+'),
    _i('EGNTPWAIT', 10, 300, 30, GP_ONLY, prefix='+'),
)}

# MT App. A and GP §7.1.2 write the port register "#TCPPOINT" in their examples (digest C.4.3):
# accepted as a second name.  The other garbles (#TCPSEV, #FTTPW, #LTCPPORT...) are not.
ALIASES = {'TCPPOINT': 'TCPPORT'}

# Dumps: lists of blocks, each a list of parameter names; 'TCP' expands to the socket blocks.
MAIL_BLOCKS = [[f'BODY{i}', f'CCREC{i}', f'REC{i}', f'SUBJ{i}'] for i in (1, 2, 3)]
DUMPS = {
    MT: {
        'VPHY': [['ANSWERMODE', 'CALLBACKTIMER', 'CALLSCREENNUM', 'DIALN1', 'DIALN2',
                  'DIALSELECT', 'GPRSMODE', 'PHYTIMEOUT', 'REDIALCOUNT', 'REDIALDELAY',
                  'RINGCOUNT']],
        'VPPP': [['ISPUN', 'ISPPW', 'PPPMODE', 'PPPMYIP', 'PPPPEERIP', 'PPPSERVUN',
                  'PPPSERVPW']],
        'VGPRS': [['GPRSCID', 'APNPW', 'APNSERV', 'APNUN']],
        'VDNS': [['DNSSERV1', 'DNSSERV2']],
        'VFTP': [['FTPGETFILENAME', 'FTPGETPATH', 'FTPMODE', 'FTPPORT', 'FTPPUTFILENAME',
                  'FTPPUTPATH', 'FTPPW', 'FTPSERV', 'FTPTYPE', 'FTPUN']],
        'VPOP3': [['POP3HEADERMODE', 'POP3PORT', 'POP3PW', 'POP3SERV', 'POP3UN']],
        'VSMTP': [['DOMAIN', 'SENDERADDR', 'SENDERNAME', 'SMTPPORT', 'SMTPPW', 'SMTPSERV',
                   'SMTPUN']],
        'VMAIL1': [['REC1', 'CCREC1', 'SUBJ1']],
        'VMAIL2': [['REC2', 'CCREC2', 'SUBJ2']],
        'VMAIL3': [['REC3', 'CCREC3', 'SUBJ3']],
        'VUDP': [['UDPSERV', 'UDPPORT', 'UDPTXDELAY']],
        'VPING': [['PINGDELAY', 'PINGNUM', 'PINGREMOTE']],
        'VTCP': ['DLEMODE', 'TCPSERV', 'TCPPORT', 'TCPTXDELAY'],
        # MT Chapter 8 #VALL example, block by block
        'VALL': [['ANSWERMODE', 'CALLBACKTIMER', 'CALLSCREENNUM', 'DIALN1', 'DIALN2',
                  'DIALSELECT', 'GPRSMODE', 'PHYTIMEOUT', 'REDIALCOUNT', 'REDIALDELAY',
                  'RINGCOUNT'],
                 ['ISPUN', 'ISPPW', 'PPPMODE', 'PPPMYIP', 'PPPPEERIP', 'PPPSERVUN',
                  'PPPSERVPW'],
                 ['GPRSCID', 'APNPW', 'APNSERV', 'APNUN'],
                 ['DNSSERV1', 'DNSSERV2'],
                 ['FTPSERV', 'FTPPORT', 'FTPMODE', 'FTPUN', 'FTPPW', 'FTPTYPE',
                  'FTPGETFILENAME', 'FTPGETPATH', 'FTPPUTFILENAME', 'FTPPUTPATH'],
                 ['POP3HEADERMODE', 'POP3PORT', 'POP3PW', 'POP3SERV', 'POP3UN'],
                 ['DOMAIN', 'SENDERADDR', 'SENDERNAME', 'SMTPPORT', 'SMTPPW', 'SMTPSERV',
                  'SMTPUN'],
                 *MAIL_BLOCKS,
                 'TCP',
                 ['UDPPORT', 'UDPSERV', 'UDPTXDELAY'],
                 ['PINGDELAY', 'PINGNUM', 'PINGREMOTE']],
    },
    GP: {
        'VGPRS': [['APNPW', 'APNSERV', 'APNUN', 'GPRSMODE', 'GPRSCID']],
        'VFTP': [['FTPGETFILENAME', 'FTPGETPATH', 'FTPMODE', 'FTPPORT', 'FTPPUTFILENAME',
                  'FTPPUTPATH', 'FTPPW', 'FTPSERV', 'FTPTYPE', 'FTPUN']],
        'VTCP': ['DLEMODE', 'TCPSERV', 'TCPPORT', 'TCPTXDELAY'],
        # GP §6.3.2 #VALL example; its TCP block orders TCPPORT before TCPSERV
        'VALL': [['APNPW', 'APNSERV', 'APNUN', 'GPRSMODE', 'GPRSCID'],
                 ['FTPGETFILENAME', 'FTPGETPATH', 'FTPMODE', 'FTPPORT', 'FTPPUTFILENAME',
                  'FTPPUTPATH', 'FTPPW', 'FTPSERV', 'FTPTYPE', 'FTPUN'],
                 'TCP'],
    },
}
VALL_TCP_ORDER = {MT: ['DLEMODE', 'TCPSERV', 'TCPPORT', 'TCPTXDELAY'],
                  GP: ['DLEMODE', 'TCPPORT', 'TCPSERV', 'TCPTXDELAY']}


@dataclass(frozen=True)
class Variant:
    """What differs between the Multi-Tech and GenPro firmware (digest C.1)."""
    name: str
    info: dict                 # message key -> text
    version: str               # #VVERSION line
    vall_header: str           # first line of #VALL
    state_no_service: str      # #VSTATE when not registered
    ftptype_format: str        # how #FTPTYPE prints (MT ': = I', GP ' = I')
    ftpput_banner: str         # message key that opens #FTPPUT data mode
    numeric_results: bool      # ATV0 allowed
    wind13: bool               # "+WIND: 13 message at start up"
    cgatt_settle_s: float      # GP §8: wait after +CGATT=1 OK before #CONNECTIONSTART
    syntax_errors: bool        # 348xx "Bad command" codes listed (MT) or plain ERROR (GP)
    busy_param_error: int      # setting a parameter of a running service


MT_INFO = {
    'DataBegin': 'OK_Info_DataBegin', 'WaitingForData': 'OK_Info_WaitingForData',
    'SocketClosed': 'OK_Info_SocketClosed', 'NoMail': 'OK_Info_NoMail',
    'Mail': 'OK_Info_Mail', 'PPP': 'OK_Info_PPP', 'GprsActivation': 'OK_Info_GPRSActivation',
}
GP_INFO = {
    'DataBegin': 'Ok_Info_DataBegin', 'WaitingForData': 'Ok_Info_WaitingForData',
    'SocketClosed': 'Ok_Info_SocketClosed', 'GprsActivation': 'Ok_Info_GprsActivation',
}

VARIANTS = {
    MT: Variant(
        MT, MT_INFO,
        version='#VERSION: "eDsoft-W302_V01.00 67826 Mar 18 2003 18:42:19"',
        vall_header='eDsoft-W302-V03.00',
        state_no_service='#NO SERVICE',
        # MT prints '#FTPTYPE: = 1' for the default 'I': read as an OCR slip of 'I' (Part E #54)
        ftptype_format='#FTPTYPE: = {}',
        # MT FTPPUT table 'OK_WaitingForData', App. A 'OK_Info_WaitingForDate', App. B
        # 'Ok_Info_WaitingForData': the Information Messages table spelling is used (Part E #49)
        ftpput_banner='WaitingForData',
        numeric_results=True, wind13=False, cgatt_settle_s=0.0, syntax_errors=True,
        busy_param_error=37123),
    GP: Variant(
        GP, GP_INFO,
        version='#VERSION: OS:V313 WIP:V2.00.12 API:LLC T V1.03 - May 3 2007 16:56:58',
        vall_header='#VERSION: OS:V313 WIP:V2.00.12 API:LLC T V1.03 - May 3 2007 16:56:58',
        state_no_service='#STATE: "NO SERVICE"',
        ftptype_format='#FTPTYPE = {}',
        ftpput_banner='DataBegin',           # GP §3.3.2
        numeric_results=False, wind13=True, cgatt_settle_s=0.5, syntax_errors=False,
        busy_param_error=36929),
}

# MT Chapter 9 numeric forms (ATV0); GP leaves the numeric column empty.
NUMERIC = {
    'OK': 0, 'RING': 2, 'NO CARRIER': 3, 'ERROR': 4, 'BUSY': 7, 'NO ANSWER': 8,
    'CONNECT 300': 10, 'CONNECT 1200': 11, 'CONNECT 1200/75': 12, 'CONNECT 2400': 13,
    'CONNECT 4800': 14, 'CONNECT 9600': 15, 'CONNECT 14400': 16,
    'OK_Info_DataBegin': 1025, 'OK_Info_WaitingForData': 1028, 'OK_Info_SocketClosed': 3074,
    'OK_Info_NoMail': 3072, 'OK_Info_Mail': 3073, 'OK_Info_PPP': 3077,
    'OK_Info_GPRSActivation': 3086,
}

# MT Chapter 9 "Error Codes" (complete); GP §9.2 lists the subset in GP_ERRORS.
ERRORS = {
    34817: 'Bad command : Unknown command',
    34819: 'Bad command : Syntax error',
    34824: 'Bad command : EEPROM write failed',
    34881: 'Bad command : Command too long',
    34882: 'Bad command : Bad command argument value',
    35840: 'Physical layer : Modem is already running',
    35841: 'Physical layer : GPRS session lost',
    35862: 'Physical layer : Timeout, no activity on network connection',
    35865: 'Physical layer : Module is not attached to the network',
    35866: 'Physical layer : Invalid event during activation process',
    35867: 'Physical layer : Physical layer connection is currently not active',
    35868: 'Physical layer : GPRS connection aborted',
    35869: 'Physical layer : Invalid incoming call type',
    35870: 'Physical layer : Incoming call CLI not provided',
    36872: 'IP Connectivity library internal error : internal resource unavailable.',
    36929: 'IP Connectivity library : Bad parameter configuration attempt',
    37120: 'IP Connectivity library : PPP negotiation failed (client configuration)',
    37121: 'IP Connectivity library : PPP negotiation failed (server configuration)',
    37122: 'IP Connectivity library : Another internal application is already running',
    37123: 'IP Connectivity library : Service is running. Unable to set parameter',
    37952: 'Distant : TCP session closed (TCP Context cancelled)',
    37964: 'Distant : No response from server',
    37966: 'Distant : TCP session closed by peer (FIN received from peer)',
    38016: 'Distant : Open session attempt failed',
    38017: 'Distant : Data send attempt failed',
    38018: 'Distant : Close session attempt failed',
    38022: 'Distant : Change Directory attempt failed',
    38023: 'Distant : File deletion attempt failed',
    38024: 'Distant : Data retrieve attempt failed',
    38025: 'Distant : Email retrieve attempt failed',
    38026: 'Distant : Email header receive failed',
    38027: 'Distant : No answer from DNS servers or the domain name resolution could not be '
           'completed by the server.',
    38028: 'Distant : Sender email address rejected by server',
    38029: 'Distant : Recipient email address rejected by server',
    38030: 'Distant : CC Recipient email address rejected by server',
    38031: 'Distant : Email body send request rejected by server',
    38080: 'Distant : Username rejected by server',
    38081: 'Distant : Password rejected by server',
    38980: 'SmartStack : PPP timeout (client configuration)',
    38981: 'SmartStack : PPP timeout (server configuration)',
    49153: 'Internal error : Open data flow request failed',
    49154: 'Internal error : Close data flow request failed',
    49155: 'Internal error : Open GPRS session request failed',
    49156: 'Internal error : GPRS authentication failed',
    49157: 'Internal error : GPRS get IPCP information request failed',
    49158: 'Internal error : Open flow confirmation not received',
}
GP_ERRORS = frozenset((35840, 35841, 35865, 35866, 35867, 35868, 36929, 37122, 38016, 38022,
                       38027))
# GP §8 "AT#FTPSERV": an invalid FTP server name aborts with these lines.
GP_BAD_FTPSERV = ('#CME ERROR: 0',
                  'ErrorHandler_ip: Error 17 (ADL Release memory error...)',
                  'ErrorHandler_ip: Error 17 (ADL Release memory error...)')
