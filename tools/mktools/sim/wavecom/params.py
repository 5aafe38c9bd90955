"""Wavecom parameter registers: `AT#NAME=value`, `AT#NAME?`, per socket `AT#NAME=id[,value]`,
the `#V...` dumps, `#BODYi` text entry and `#DELFLASH` (MT App. B "Configuring the TCP/IP Stack
through the Serial Port", GP §2-§4, digest C.2)."""

from mktools.sim.wavecom.port import stack
from mktools.sim.wavecom.session import is_dotted_ip
from mktools.sim.wavecom.tables import (ALIASES, DUMPS, MT, PARAMS, SOCKET_IDS, VALL_TCP_ORDER)

WRITE_SPACING_S = 1.0       # MT App. B: "A 1 second delay shall be introduced before each AT#
                            # command issued for writing parameters value."


def _param_commands():
    table = {f'#{name}': 'at_param' for name, p in PARAMS.items() if p.prefix == '#'}
    table.update({f'#{alias}': 'at_param' for alias, name in ALIASES.items()
                  if PARAMS[name].prefix == '#'})
    dumps = {name for variant in DUMPS.values() for name in variant}
    table.update({f'#{name}': 'at_dump' for name in dumps})
    return table


class ParamCommands:
    """Mixin of `WavecomModem`: the flash parameter store and its commands."""

    COMMANDS = {**_param_commands(), '#DELFLASH': 'at_delflash'}

    def load_flash(self):
        """Every register of the variant at its default (a fresh or erased flash)."""
        self.flash = {('EGNTPUTC', None): (0, 0)}
        for spec in PARAMS.values():
            if self.variant.name in spec.variants:
                for sock_id in (SOCKET_IDS if spec.per_socket else (None,)):
                    self.flash[(spec.name, sock_id)] = spec.default

    def param(self, name, sock_id=None):
        """The stored value of register `name` (of socket `sock_id` for per-socket ones)."""
        return self.flash[(name, sock_id)]

    def format_param(self, name, sock_id=None):
        """`#NAME: value` as the stack prints it: strings quoted, per-socket `id,value`."""
        spec = PARAMS[name]
        value = self.param(name, sock_id)
        if spec.kind == 'ftptype':
            return self.variant.ftptype_format.format(value)
        text = f'"{value}"' if spec.kind in ('str', 'ip') else str(value)
        if sock_id is not None:
            text = f'{sock_id},{text}'
        return f'{spec.prefix}{name}: {text}'

    # -- AT#NAME ----------------------------------------------------------------------------

    @stack()
    def at_param(self, op, args):
        typed = self.command.name[1:]
        spec = PARAMS[ALIASES.get(typed, typed)]
        if self.variant.name not in spec.variants:
            return self.unknown_command(self.command)
        if spec.per_socket:
            return self._socket_param(spec, op, args)
        if op == 'read':
            self.value_line(self.format_param(spec.name))
            return 'OK'
        if op == 'set' and len(args) <= 1:
            return self._write(spec, None, args[0] if args else None)
        if op == 'exec' and spec.name.startswith('BODY'):
            return self._body_entry(spec)
        return self.syntax_error()

    def _socket_param(self, spec, op, args):
        # MT Chapter 5 / GP §4.1: "Get Value: AT#DLEMODE=id" (no '?'), "Set Value:
        # AT#DLEMODE=id,<value>"
        if op != 'set' or not 1 <= len(args) <= 2:
            return self.syntax_error()
        sock_id = self.arg_int(args, 0, 1, 2)
        if len(args) == 1:
            self.value_line(self.format_param(spec.name, sock_id))
            return 'OK'
        return self._write(spec, sock_id, args[1])

    def _write(self, spec, sock_id, raw):
        if self._service_running(spec, sock_id):
            return self.error(self.variant.busy_param_error)
        value = self._convert(spec, raw)
        if value is None:
            return self.value_error()
        now = self.loop.now()
        if self.variant.name == MT and self.last_write_at is not None \
                and now - self.last_write_at < WRITE_SPACING_S:
            self.log('write_too_soon', name=spec.name, after_s=round(now - self.last_write_at, 3))
        self.last_write_at = now
        self.flash[(spec.name, sock_id)] = value
        return 'OK'

    def _convert(self, spec, raw):
        """The stored form of a written value, or None when it is not legal."""
        if spec.kind == 'str':
            text = raw or ''
            return text if len(text) <= spec.max_len(self.variant.name) else None
        if spec.kind == 'ip':
            return raw if is_dotted_ip(raw) else None
        if spec.kind == 'ftptype':
            # MT #FTPTYPE: "A" ASCII, "I" binary "(upper case i letter)"
            return raw if raw in ('A', 'I') else None
        number = self.arg_int([raw], 0)        # BadArg -> the command's value error
        if spec.kind == 'choice':
            return number if number in spec.limit else None
        lo, hi = spec.limit
        return number if lo <= number <= hi and number % spec.step == 0 else None

    def _service_running(self, spec, sock_id):
        """MT Chapter 9 37123 "Service is running. Unable to set parameter"."""
        if sock_id is not None:
            return self.tcp[sock_id] is not None
        return spec.name.startswith('UDP') and self.udp is not None

    def _body_entry(self, spec):
        # MT #BODY1: "The body content has to be entered after the AT#BODY1<CR> command ...
        # followed this character: 1A"
        def on_text(data):
            if data is None:
                return 'ERROR'
            text = data.decode('latin-1')
            if len(text) > spec.max_len(self.variant.name):
                return self.value_error()
            self.flash[(spec.name, None)] = text
            return 'OK'
        return self.prompt(b'', on_text, echo=self.echo)

    # -- dumps ------------------------------------------------------------------------------

    @stack()
    def at_dump(self, op, args):
        name = self.command.name[1:]
        layout = DUMPS[self.variant.name].get(name)
        if layout is None:
            return self.unknown_command(self.command)
        if name == 'VTCP':
            return self._vtcp(op, args, layout)
        if op != 'exec':
            return self.syntax_error()
        blocks = []
        if name == 'VALL':
            blocks.append([self.variant.vall_header])
        for block in layout:
            if block == 'TCP':
                order = VALL_TCP_ORDER[self.variant.name]
                blocks += [[self.format_param(n, i) for n in order] for i in SOCKET_IDS]
            else:
                blocks.append([self.format_param(n) for n in block])
        self._send_blocks(blocks)
        return 'OK'

    def _vtcp(self, op, args, order):
        if op == 'set' and len(args) == 1:
            ids = (self.arg_int(args, 0, 1, 2),)
        elif op == 'exec':
            ids = SOCKET_IDS        # GP §7.1.2 uses a bare "AT#VTCP"
        else:
            return self.syntax_error()
        self._send_blocks([[self.format_param(n, i) for n in order] for i in ids])
        return 'OK'

    def _send_blocks(self, blocks):
        # MT #VALL: "displayed by blocks of categories separated by a <CR><LF> sequence"
        text = '\r\n'.join(''.join(f'{line}\r\n' for line in block) for block in blocks)
        self.send(text.encode('latin-1'))

    @stack()
    def at_delflash(self, op, args):
        if op != 'exec':
            return self.syntax_error()
        # MT #DELFLASH: "Used prior to a "hard reset" ... The current parameter values remain
        # visible until the "hard reset" has completed."
        self.erase_flash = True
        return 'OK'
