"""Host tools for modemkit: the `modemkit` command (cli), the modem emulator (sim/), what touches a
device (device/), static checks of on-target code (checks/) and the project's own development tools
(dev/)."""
import os

# The project's checkout: lib/, apps/, boardcfg/ and firmware/ are read from here.
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# Exit statuses of every `modemkit` command (mktools.cli states the rule).
BAD_INPUT = 2       # the input is unusable: arguments, a file, a board config, a port, a host
FAILED = 1          # the command ran and its outcome is a failure


class CommandError(Exception):
    """Input a command cannot use, or a request it refuses: `modemkit` prints the message (one
    line per line of it, prefixed with the command) and exits with status 2 (BAD_INPUT), no
    traceback."""
