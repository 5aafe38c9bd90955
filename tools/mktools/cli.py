"""The `modemkit` command: host tools for modemkit devices."""
import sys

COMMANDS = {
    'sim': ('mktools.sim.cli', 'run the modem emulator on a pty or a TCP port'),
    'bundle': ('mktools.device.bundle', 'build what goes on a device from an app and a board config'),
    'deploy': ('mktools.device.deploy', 'deploy an app: mpremote (MicroPython) or #WSCRIPT (Telit)'),
    'upgrade': ('mktools.device.upgrade', 'upgrade Telit modules remotely through TCPATRUN'),
    'sms-digest': ('mktools.device.smscli', 'encode/decode SMSATRUN digest SMS (T-RUN section 2.1)'),
}


def usage():
    lines = ['usage: modemkit COMMAND [options]', '', 'commands:']
    for name, (_, text) in sorted(COMMANDS.items()):
        lines.append('  %-10s %s' % (name, text))
    lines.append('')
    lines.append("'modemkit COMMAND --help' describes a command's options.")
    return '\n'.join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ('-h', '--help'):
        print(usage())
        return 0
    name = argv[0]
    if name not in COMMANDS:
        print('modemkit: unknown command %r\n\n%s' % (name, usage()), file=sys.stderr)
        return 2
    import importlib
    module = importlib.import_module(COMMANDS[name][0])
    return module.main(argv[1:])


if __name__ == '__main__':
    sys.exit(main())
