"""Splitting an AT command line (the text after `AT`) into commands, V.250 style.

Basic commands run back to back (`E0V1`, `&F`, `S12=50`, `D*99#`); extended ones (`+`, `#`, `%`,
`$`, `^` prefixes) are separated by `;`.  Spaces around names, `=` and `,` are tolerated
(Telit GT-3).  Each command becomes a `Command(name, op, args)`.
"""

from collections import namedtuple

Command = namedtuple('Command', 'name op args')
Command.__doc__ = """One command: upper-case `name` (`'+QIOPEN'`, `'E'`, `'&F'`, `'S'`), `op` one of
exec/set/read/test, `args` a list of `str` (a `Quoted` one if it was in double quotes) or None."""

EXTENDED_PREFIXES = '+#%$^'
NAME_CHARS = set('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789!%-./:_')


class Quoted(str):
    """An argument that was written in double quotes (quotes removed)."""


class ParseError(ValueError):
    """The command line is not well formed."""


class _Scanner:
    def __init__(self, text):
        self.text = text
        self.pos = 0

    def peek(self):
        return self.text[self.pos] if self.pos < len(self.text) else ''

    def take(self):
        c = self.peek()
        self.pos += 1
        return c

    def skip_spaces(self):
        while self.peek() == ' ':
            self.pos += 1

    def take_while(self, chars):
        start = self.pos
        while self.peek() and self.peek() in chars:
            self.pos += 1
        return self.text[start:self.pos]

    def take_until(self, stops):
        start = self.pos
        while self.peek() and self.peek() not in stops:
            self.pos += 1
        return self.text[start:self.pos]


def parse_line(body):
    """Parse the text after `AT` into a list of `Command`s; raises `ParseError`."""
    s = _Scanner(body)
    commands = []
    while True:
        s.skip_spaces()
        c = s.peek()
        if not c:
            return commands
        if c == ';':
            s.take()
        elif c in EXTENDED_PREFIXES:
            commands.append(_extended(s))
        elif c == '&' or c.isalpha():
            commands.append(_basic(s))
        else:
            raise ParseError(f'unexpected {c!r} at {s.pos}')


def _extended(s):
    prefix = s.take()
    name = s.take_while(NAME_CHARS)
    if not name:
        raise ParseError('empty command name')
    name = (prefix + name).upper()
    s.skip_spaces()
    if s.peek() == '?':
        s.take()
        return Command(name, 'read', [])
    if s.peek() != '=':
        return Command(name, 'exec', [])
    s.take()
    s.skip_spaces()
    if s.peek() == '?':
        s.take()
        return Command(name, 'test', [])
    return Command(name, 'set', _arguments(s))


def _arguments(s):
    """Comma-separated arguments up to `;` or the end of the line."""
    args = []
    s.skip_spaces()
    if s.peek() in ('', ';'):
        return args
    while True:
        s.skip_spaces()
        if s.peek() == '"':
            s.take()
            value = s.take_until('"')
            if s.take() != '"':
                raise ParseError('unterminated string')
            args.append(Quoted(value))
            s.skip_spaces()
        else:
            value = s.take_until(',;').strip()
            args.append(value or None)
        c = s.peek()
        if c == ',':
            s.take()
            continue
        if c in ('', ';'):
            return args
        raise ParseError(f'unexpected {c!r} after argument')


def _basic(s):
    c = s.take().upper()
    if c == '&':
        letter = s.take().upper()
        if not letter.isalpha():
            raise ParseError('& without a letter')
        c = '&' + letter
    if c == 'D':
        return Command('D', 'exec', [s.take_until(';').strip()])
    if c == 'S':
        register = s.take_while('0123456789')
        if not register:
            raise ParseError('S without a register number')
        s.skip_spaces()
        if s.peek() == '?':
            s.take()
            return Command('S', 'read', [register])
        if s.peek() == '=':
            s.take()
            s.skip_spaces()
            return Command('S', 'set', [register, s.take_while('0123456789') or None])
        return Command('S', 'exec', [register])
    s.skip_spaces()
    if s.peek() == '?':
        s.take()
        return Command(c, 'read', [])
    digits = s.take_while('0123456789')
    return Command(c, 'set', [digits]) if digits else Command(c, 'exec', [])
