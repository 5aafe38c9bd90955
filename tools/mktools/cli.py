"""The `modemkit` command: one parser, one subcommand per command module.

Each command module has `register(commands)`, which adds its subparser (options, help) and sets
`run(args, env)` as what the subcommand does; `modemkit --help` and `modemkit X --help` both come
from this one parser.  A module's own `main(argv)` goes through here too.
"""
import argparse
import importlib
import sys

COMMANDS = (
    'mktools.sim.cli',
    'mktools.device.bundle',
    'mktools.device.deploy',
    'mktools.device.upgrade',
    'mktools.device.smscli',
)


def build_parser():
    p = argparse.ArgumentParser(
        prog='modemkit',
        description='Host tools for modemkit devices: the modem emulator, bundles, deploys and '
                    'remote upgrades.',
        epilog="'modemkit COMMAND --help' describes a command's options.")
    commands = p.add_subparsers(title='commands', metavar='COMMAND', dest='command',
                                required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    return p


def main(argv=None, env=None):
    """Run `modemkit ARGV...` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    return args.run(args, env)


if __name__ == '__main__':
    sys.exit(main())
