"""`modemkit sim`: run one emulated modem on a pty or a loopback TCP port until SIGINT/SIGTERM
(or, with --fleet N, N of them on consecutive TCP ports: mktools.sim.fleet)."""

import argparse
import logging
import signal
import socket
import sys

from mktools import CommandError
from mktools.sim import DIALECTS, load_dialect
from mktools.sim.core.frontends import PtyFrontend, TcpFrontend
from mktools.sim.core.loop import Loop
from mktools.sim.core.net import Net, is_loopback
from mktools.sim.core.wire import Wire


def _host_entry(text):
    name, sep, ip = text.partition('=')
    if not sep or not name or not is_loopback(ip):
        raise argparse.ArgumentTypeError(f'{text!r}: expected NAME=127.x.y.z (loopback only)')
    return name, ip


def _tcp_address(text):
    host, sep, port = text.rpartition(':')
    if not sep or not is_loopback(host) or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f'{text!r}: expected 127.x.y.z:PORT')
    return host, int(port)


def _rate(text):
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError('a rate is a probability between 0 and 1')
    return value


def _sms_entry(text):
    sender, sep, body = text.partition('=')
    if not sep or not sender.lstrip('+').isdigit():
        raise argparse.ArgumentTypeError(f'{text!r}: expected +NUMBER=TEXT')
    return sender, body


def register(commands):
    """Add `modemkit sim` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'sim', help='run the modem emulator on a pty or a TCP port',
        description='Emulate a cellular module (the DCE) on a pty or a loopback TCP port. '
                    'Real networking is loopback only: every name must be mapped with --host.')
    p.add_argument('--dialect', required=True, choices=sorted(DIALECTS),
                   help='AT dialect to emulate (base: common 3GPP commands only)')
    p.add_argument('--variant', help='dialect variant (telit: he910 | le910c1; '
                                     'wavecom: multitech | genpro)')
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument('--pty', metavar='LINK', help='create a pty and a symlink LINK to it')
    where.add_argument('--tcp', metavar='127.0.0.1:PORT', type=_tcp_address,
                       help='serve one DTE client at a time on this loopback TCP port '
                            '(port 0: any free port)')
    p.add_argument('--fleet', type=int, metavar='N',
                   help='run N modules in this one process, module i\'s serial port on '
                        '--tcp PORT+i (PORT must not be 0); every other option applies to '
                        'each module; --script-dir DIR gets one folder per module')
    p.add_argument('--baud', type=int, metavar='N',
                   help='pace the serial line at N bit/s, 10 bits a byte (default: unpaced)')
    p.add_argument('--turnaround-ms', type=float, metavar='N',
                   help='delay before each final result code, in milliseconds')
    p.add_argument('--net-latency-ms', type=float, default=0.0, metavar='N',
                   help='one-way network latency, in milliseconds (default 0)')
    p.add_argument('--activation-ms', type=float, metavar='N',
                   help='time a PDP activation takes, in milliseconds')
    p.add_argument('--host', action='append', type=_host_entry, default=[],
                   metavar='NAME=127.0.0.1', help='map a host name to a loopback address '
                                                  '(repeatable)')
    p.add_argument('--drop-rate', type=_rate, default=0.0, metavar='R',
                   help='probability that a byte on the serial line is lost (0..1)')
    p.add_argument('--garble-rate', type=_rate, default=0.0, metavar='R',
                   help='probability that a byte on the serial line is corrupted (0..1)')
    p.add_argument('--seed', type=int, default=0, metavar='N',
                   help='seed of the fault generator (default 0)')
    p.add_argument('--reboot-after', type=float, metavar='S',
                   help='reboot the module S seconds after start')
    p.add_argument('--pdp-deact-after', type=float, metavar='S',
                   help='network-deactivate PDP context 1 S seconds after start')
    p.add_argument('--boot-ms', type=float, metavar='N',
                   help='time a reboot takes until the module answers again, in milliseconds')
    p.add_argument('--run-scripts', action='store_true',
                   help='telit: run the script AT#ESCRIPT enables at each start-up, with a '
                        'stand-in MDM on its own AT instance of the module, under Python 2.7 '
                        'as the module does (python2.7 on PATH or under pyenv); without one, '
                        'under this CPython 3')
    p.add_argument('--script-dir', metavar='DIR',
                   help='telit, --run-scripts: the directory the running script sees (kept '
                        'equal to the script store; default: a temporary one)')
    p.add_argument('--tls-ca', metavar='PEM',
                   help="the module's trust store for its TLS clients (Telit <ssl_enable>)")
    p.add_argument('--sms-echo', metavar='NUMBER',
                   help='SMS the module sends to NUMBER come back to it as received SMS')
    p.add_argument('--sms', action='append', type=_sms_entry, default=[],
                   metavar='SENDER=TEXT', help='deliver an SMS to the module (repeatable; '
                                              'see --sms-at)')
    p.add_argument('--sms-at', type=float, default=1.0, metavar='S',
                   help='deliver the --sms messages S seconds after start (default 1)')
    p.add_argument('--sms-slots', type=int, metavar='N',
                   help="slots of the SIM's SMS store (default 20); a message arriving for a "
                        'full store waits at the service centre')
    p.add_argument('--sms-log', metavar='FILE',
                   help='append each SMS the module sends to FILE, one JSON object a line')
    p.add_argument('--log', metavar='FILE', help='append the event log to FILE')
    p.add_argument('--trace', metavar='FILE', help='write a byte trace of the serial line '
                                                  'to FILE (bounded to 1 MiB)')
    p.set_defaults(run=run, parser=p)
    return p


def make_config(args):
    """The modem config the options ask for (dialect defaults fill the rest)."""
    config = {'hosts': dict(args.host)}
    if args.variant:
        config['variant'] = args.variant
    if args.turnaround_ms is not None:
        config['turnaround_s'] = args.turnaround_ms / 1000
    if args.activation_ms is not None:
        config['activation_s'] = args.activation_ms / 1000
    if args.baud:
        config['baud'] = args.baud
    if args.boot_ms is not None:
        config['boot_s'] = args.boot_ms / 1000
    if args.run_scripts:
        config['run_scripts'] = True
    if args.script_dir:
        config['script_dir'] = args.script_dir
    if args.tls_ca:
        config['tls_ca'] = args.tls_ca
    if args.sms_echo:
        config['sms_echo'] = args.sms_echo
    if args.sms_log:
        config['sms_log'] = args.sms_log
    if args.sms_slots is not None:
        if not 1 <= args.sms_slots <= 255:
            args.parser.error('--sms-slots: from 1 to 255')
        config['sms_slots'] = args.sms_slots
    return config


def run(args, env=None):
    """`modemkit sim` with parsed `args`; returns the exit status."""
    parser = args.parser
    try:
        modem_cls = load_dialect(args.dialect)
    except ImportError as e:
        parser.error(f'dialect {args.dialect} is not available: {e}')
    if args.log:
        logging.basicConfig(filename=args.log, level=logging.INFO,
                            format='%(asctime)s %(name)s %(message)s')
    config = make_config(args)
    if args.fleet is not None:
        from mktools.sim import fleet
        return fleet.run(args, modem_cls, config, _stop_on_signals)
    loop = Loop()
    net = Net(loop, hosts=config['hosts'], latency_s=args.net_latency_ms / 1000)
    # line-buffered: `modemkit trace --follow` reads it while the emulator runs
    trace = open(args.trace, 'w', buffering=1) if args.trace else None
    wire = Wire(loop, baud=args.baud, seed=args.seed, trace=trace)
    wire.drop_rate, wire.garble_rate = args.drop_rate, args.garble_rate
    try:
        modem = modem_cls(loop, net, config)
    except ValueError as e:     # a variant or setting the dialect does not have
        loop.close()
        raise CommandError(f'--dialect {args.dialect}: {e}') from None
    modem.attach(wire)
    try:
        if args.pty:
            frontend = PtyFrontend(loop, wire, link=args.pty)
            where = f'{args.pty} (pty {frontend.path})'
        else:
            frontend = TcpFrontend(loop, wire, *args.tcp)
            where = f'{frontend.host}:{frontend.port} (tcp)'
    except OSError as e:
        net.close_all()
        loop.close()
        what = f'--pty {args.pty}: cannot create the link' if args.pty else \
            f'--tcp {args.tcp[0]}:{args.tcp[1]}: cannot listen'
        raise CommandError(f'{what}: {e.strerror or e}') from None
    if args.reboot_after is not None:
        loop.call_later(args.reboot_after, modem.reboot)
    for sender, text in args.sms:
        loop.call_later(args.sms_at, modem.deliver_sms, sender, text)
    if args.pdp_deact_after is not None:
        loop.call_later(args.pdp_deact_after, modem.pdp_deactivate, 1)
    wake_r, wake_w = _stop_on_signals(loop)
    print(f'modemkit sim: {args.dialect} on {where}', flush=True)
    try:
        loop.run_forever()
    finally:
        if hasattr(modem, 'close_scripts'):
            modem.close_scripts()
        frontend.close()
        net.close_all()
        if trace:
            trace.close()
        signal.set_wakeup_fd(-1)
        wake_r.close()
        wake_w.close()
        loop.close()
    return 0


def _stop_on_signals(loop):
    """SIGINT/SIGTERM stop the loop at once (a wake-up fd interrupts its select)."""
    wake_r, wake_w = socket.socketpair()
    wake_w.setblocking(False)
    wake_r.setblocking(False)
    signal.set_wakeup_fd(wake_w.fileno())
    loop.add_reader(wake_r, lambda: wake_r.recv(64))
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: loop.stop())
    return wake_r, wake_w


def main(argv=None, env=None):
    """`modemkit sim ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['sim'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
