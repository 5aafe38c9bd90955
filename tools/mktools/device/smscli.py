"""`modemkit sms-digest`: encode and decode SMSATRUN digest SMS (T-RUN §2.1, Tab. 1 and 2).

    modemkit sms-digest encode --text 'AT+COPS?' --smsc +393492000200 --to +393468686711
    modemkit sms-digest decode 079193432900200011000C9193...

The user data is 0xD0D0D0 (request) or 0xD1D1D1 (response), the transaction id, 0x11 (segment 1
of 1), the session id, the 24 ASCII characters B64(MD5(B64(MD5(Pwd)):B64(MD5(Useful Text)))),
then the text; the SMS is 8-bit (DCS 0x15 in the manual's example).  `encode` prints the user
data, the SMS-SUBMIT PDU and the AT+CMGS length (the TPDU octets: 52 for the manual's example,
whose "AT+CMGS=53" is one too many); `decode` takes a PDU (SMS-SUBMIT or SMS-DELIVER) or bare
user data and checks the digest against the password.  The codec is `modemkit.smsdigest`, the
one the emulator and on-target code use, so what this prints is what the emulated module accepts.

The 16-character white-list password (AT#SMSATWL, §2.3) comes from MODEMKIT_SMSATRUN_PASSWORD or
--password-file, never from the command line.
"""

import argparse
import os
import sys

from mktools import BAD_INPUT, CommandError
from modemkit import smsdigest

ENV_PASSWORD = 'MODEMKIT_SMSATRUN_PASSWORD'


class SmsError(CommandError):
    pass


def password(args, env=None):
    env = os.environ if env is None else env
    if args.password_file:
        try:
            with open(args.password_file) as f:
                pwd = f.read().strip('\r\n')
        except OSError as e:
            raise SmsError(f'cannot read {args.password_file}: {e.strerror}') from None
    else:
        pwd = env.get(ENV_PASSWORD)
        if pwd is None:
            raise SmsError(f'no password: set {ENV_PASSWORD} or give --password-file')
    if len(pwd) != smsdigest.PASSWORD_SIZE:
        raise SmsError(f'the password must have {smsdigest.PASSWORD_SIZE} characters '
                       f'(T-RUN §2.3), this one has {len(pwd)}')
    return pwd


def _byte(text):
    value = int(text, 0)
    if not 0 <= value <= 255:
        raise argparse.ArgumentTypeError(f'{text}: not a byte')
    return value


def _timestamp(text):
    parts = [int(p) for p in text.replace('+', ',+').replace('-', ',-').split(',') if p]
    if len(parts) != 7:
        raise argparse.ArgumentTypeError('expected YY,MM,DD,hh,mm,ss,TZ (TZ in quarter hours)')
    return tuple(parts)


def encode(args, env=None):
    pwd = password(args, env)
    if args.response:
        text = args.text.encode('latin-1').decode('unicode_escape').encode('latin-1')
        parts = smsdigest.build_response(pwd, text, args.transaction, args.session)
        for n, ud in enumerate(parts, 1):
            pdu = smsdigest.deliver_pdu(args.smsc, args.sender, args.timestamp, ud)
            print(f'user data {n}/{len(parts)}: {ud.hex().upper()}')
            print(f'pdu {n}/{len(parts)}:       {pdu}')
        return 0
    ud = smsdigest.build_request(pwd, args.text, args.transaction, args.session)
    pdu = smsdigest.submit_pdu(args.smsc, args.to, ud, validity=args.validity,
                               reference=args.reference)
    print(f'user data: {ud.hex().upper()}')
    print(f'digest:    {ud[6:30].decode()}')
    print(f'pdu:       {pdu}')
    print(f'send:      AT+CMGS={smsdigest.tpdu_length(pdu)}  then the pdu and Ctrl-Z '
          '(AT+CMGF=0)')
    return 0


def _user_data(hex_text):
    """(kind, user data, addresses) from a PDU or bare user data."""
    try:
        data = bytes.fromhex(hex_text)
    except ValueError:
        raise SmsError(f'not hexadecimal: {hex_text[:40]!r} (give the PDU or user data as hex '
                       'digits)') from None
    if data[:3] in (smsdigest.REQUEST_CODE, smsdigest.RESPONSE_CODE):
        return 'user data', data, ''
    for kind, parse in (('SMS-SUBMIT', smsdigest.parse_submit_pdu),
                        ('SMS-DELIVER', smsdigest.parse_deliver_pdu)):
        try:
            pdu = parse(hex_text)
        except (ValueError, IndexError):
            continue
        who = (f'to {pdu.destination}' if kind == 'SMS-SUBMIT' else
               f'from {pdu.originator} at {pdu.timestamp}')
        return kind, pdu.user_data, f'SMSC {pdu.smsc or "-"}, {who}, DCS 0x{pdu.dcs:02X}'
    raise SmsError('neither an 8-bit SMS PDU nor digest user data')


def decode(args, env=None):
    kind, ud, where = _user_data(''.join(args.hex.split()))
    pwd = password(args, env)
    request = ud[:3] == smsdigest.REQUEST_CODE
    parse = smsdigest.parse_request if request else smsdigest.parse_response
    try:
        sms = parse(ud, [pwd])
    except smsdigest.DigestError as e:
        raise SmsError(f'{kind}: {e}') from None
    print(f'{kind}: {"request (0xD0D0D0)" if request else "response (0xD1D1D1)"}'
          + (f', {where}' if where else ''))
    print(f'transaction {sms.transaction}, segment {sms.segment} of {sms.segments}, '
          f'session {sms.session}, digest OK')
    print(f'text: {sms.text.decode("latin-1")!r}')
    reply = smsdigest.run_text(sms.text) if request else None
    if reply is not None:
        print('the module answers by SMS' if reply[0] else 'HAT: no answer SMS')
    return 0


def register(commands):
    """Add `modemkit sms-digest` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'sms-digest', help='encode/decode SMSATRUN digest SMS (T-RUN section 2.1)',
        description='Encode and decode SMSATRUN digest SMS (T-RUN §2.1). The password comes '
                    f'from {ENV_PASSWORD} or --password-file.')
    sub = p.add_subparsers(dest='action', required=True)
    enc = sub.add_parser('encode', help='build a digest request (or, with --response, the '
                                        'module\'s answer)')
    dec = sub.add_parser('decode', help='check and decode a digest SMS')
    for q in (enc, dec):
        q.add_argument('--password-file', metavar='FILE',
                       help='file holding the 16-character white-list password')
    enc.add_argument('--text', required=True,
                     help='the useful text: "AT..." (answered) or "HAT..." (not answered); '
                          'with --response, the answer text (\\r\\n escapes allowed)')
    enc.add_argument('--transaction', type=_byte, default=0, help='transaction id (default 0)')
    enc.add_argument('--session', type=_byte, default=1, help='session id (default 1)')
    enc.add_argument('--smsc', default='', help='service centre number (default: none, 00)')
    enc.add_argument('--to', default='', help='the module\'s number (SMS-SUBMIT destination)')
    enc.add_argument('--validity', type=_byte, default=0xAD,
                     help='relative validity period octet (default 0xAD, as in §2.3)')
    enc.add_argument('--reference', type=_byte, default=0, help='message reference (default 0)')
    enc.add_argument('--response', action='store_true',
                     help='build the module\'s answer (Tab. 2) as SMS-DELIVER PDUs instead')
    enc.add_argument('--sender', default='', help='--response: the module\'s number')
    enc.add_argument('--timestamp', type=_timestamp, default=(0, 1, 1, 0, 0, 0, 0),
                     metavar='YY,MM,DD,hh,mm,ss,TZ', help='--response: service centre time')
    dec.add_argument('hex', help='PDU hex (SMS-SUBMIT or SMS-DELIVER) or user data hex')
    p.set_defaults(run=run, parser=p)
    return p


def run(args, env=None):
    """`modemkit sms-digest` with parsed `args`; returns the exit status."""
    try:
        return (encode if args.action == 'encode' else decode)(args, env)
    except (SmsError, smsdigest.DigestError, ValueError) as e:
        print(f'modemkit sms-digest: {e}', file=sys.stderr)
        return BAD_INPUT


def main(argv=None, env=None):
    """`modemkit sms-digest ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['sms-digest'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
