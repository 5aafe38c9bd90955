"""The `modemkit` command: one parser, one subcommand per command module.

Each command module has `register(commands)`, which adds its subparser (options, help) and sets
`run(args, env)` as what the subcommand does; `modemkit --help` and `modemkit X --help` both come
from this one parser.  A module's own `main(argv)` goes through here too.

Exit status, the same for every command:
  0  done;
  1  the command ran and its outcome is a failure (a demo that lost samples, a module a deploy or
     an upgrade wave did not upgrade, a deploy that failed after it began writing);
  2  bad input: the command could not use what it was given (its arguments, a file, a board
     config, a port, a host) and says so in one line per problem on stderr,
     `modemkit COMMAND: message`; argparse's usage errors are 2 as well;
  3  `upgrade` only: a wave passed its failure threshold and the run stopped (resume it from its
     report).
A command raises `mktools.CommandError` (its own error classes derive from it) for bad input, and an
OSError (a file, a port, a host) says what the system refused; both end here as status 2.
`--debug` shows the traceback instead.
"""
import argparse
import importlib
import sys

from mktools import BAD_INPUT, CommandError

COMMANDS = (
    'mktools.sim.cli',
    'mktools.device.bundle',
    'mktools.device.deploy',
    'mktools.device.upgrade',
    'mktools.device.smscli',
    'mktools.device.boardcfg',
    'mktools.dev.demo',
    'mktools.dev.attrace',
)
EPILOG = ("'modemkit COMMAND --help' describes a command's options.  Exit status: 0 done, "
          '1 the command ran and failed (samples lost, a module not upgraded), '
          '2 bad input (arguments, a file, a board config, a port, a host: one line on stderr '
          "naming it; --debug shows the traceback).")


def build_parser():
    p = argparse.ArgumentParser(
        prog='modemkit',
        description='Host tools for modemkit devices: the modem emulator, bundles, deploys and '
                    'remote upgrades.',
        epilog=EPILOG)
    p.add_argument('--debug', action='store_true',
                   help='show the traceback of an error instead of its one line')
    commands = p.add_subparsers(title='commands', metavar='COMMAND', dest='command',
                                required=True)
    for name in COMMANDS:
        importlib.import_module(name).register(commands)
    return p


def main(argv=None, env=None):
    """Run `modemkit ARGV...` (default: sys.argv[1:]); returns the exit status."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        return args.run(args, env)
    except (CommandError, OSError) as e:
        if args.debug:
            raise
        return fail(args.command, e)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print(f'modemkit {args.command}: interrupted', file=sys.stderr)
        return 130


def describe(error):
    """The text of an error: an OSError's strerror and file name, not its errno tuple."""
    if isinstance(error, OSError) and error.strerror:
        names = [n for n in (error.filename, error.filename2) if n]
        return f'{" -> ".join(map(str, names))}: {error.strerror}' if names else error.strerror
    return str(error) or type(error).__name__


def fail(command, error):
    for line in describe(error).splitlines() or ['']:
        print(f'modemkit {command}: {line}', file=sys.stderr)
    return BAD_INPUT


if __name__ == '__main__':
    sys.exit(main())
