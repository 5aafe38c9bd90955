"""Board configs (boardcfg/*.json) checked against one schema, and `modemkit board check FILE`.

The schema (boardcfg.schema.json beside this module) names every key a driver or app reads, its
type, default and reader; a key it does not name is a misspelling until the schema says
otherwise.  Each problem is one line with the key's path and, for a near miss, the key or value
that was probably meant, so a config is fixed before a bundle reaches a device.
"""

import difflib
import json
import sys
from pathlib import Path

from mktools import CommandError

SCHEMA_PATH = Path(__file__).with_name('boardcfg.schema.json')


class BoardConfigError(CommandError):
    """A board config that cannot be read or does not match the schema (one line a problem)."""

    def __init__(self, path, problems):
        super().__init__('\n'.join(f'{path}: {p}' for p in problems))
        self.path, self.problems = path, problems


def schema():
    return json.loads(SCHEMA_PATH.read_text())


def _where(path):
    out = ''
    for part in path:
        out += f'[{part}]' if isinstance(part, int) else (f'.{part}' if out else str(part))
    return out


def _near(word, choices):
    hit = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=0.6)
    return f' (did you mean {hit[0]}?)' if hit else ''


def _shown(value):
    text = json.dumps(value)
    return text if len(text) <= 60 else text[:57] + '...'


def _lines(error):
    """The one-line problems a jsonschema error stands for (an unknown-keys error names each)."""
    where = _where(error.absolute_path)
    prefix = f'{where}: ' if where else ''
    kind, inst, sch = error.validator, error.instance, error.schema
    if kind == 'additionalProperties':
        known = sorted(sch.get('properties', {}))
        return [f'{_where(list(error.absolute_path) + [k])}: unknown key{_near(k, known)}'
                for k in sorted(set(inst) - set(known))]
    if kind == 'enum':
        return [f'{prefix}{_shown(inst)} is not one of {", ".join(map(str, sch["enum"]))}'
                f'{_near(inst, sch["enum"])}']
    if kind == 'type':
        want = error.validator_value
        want = ' or '.join(want) if isinstance(want, list) else want
        return [f'{prefix}{_shown(inst)} is not of type {want}']
    if kind == 'required':
        missing = [k for k in error.validator_value if k not in inst]
        return [f'{_where(list(error.absolute_path) + [k])}: required key is missing'
                for k in missing]
    if kind in ('oneOf', 'anyOf'):
        # the alternatives of the instance's own shape say what is wrong (a key, a value)
        fitting = [e for e in error.context if e.validator != 'type' and not (
            e.validator == 'enum' and not any(type(v) is type(e.instance)
                                              for v in e.validator_value))]
        if fitting:
            return [line for e in fitting for line in _lines(e)]
        return [f'{prefix}{_shown(inst)} is none of the forms the schema allows']
    return [f'{prefix}{error.message}']


def problems(cfg):
    """Every way `cfg` differs from the schema, one line each, in the order of the keys' paths."""
    from jsonschema import Draft202012Validator
    validator = Draft202012Validator(schema())
    found = []
    for error in sorted(validator.iter_errors(cfg), key=lambda e: [str(p) for p in e.path]):
        found += [line for line in _lines(error) if line not in found]
    return found


def load(path):
    """The board config at `path`, checked; BoardConfigError lists every problem."""
    try:
        cfg = json.loads(Path(path).read_text())
    except OSError as e:
        raise BoardConfigError(path, [f'cannot read it: {e.strerror}']) from None
    except ValueError as e:
        raise BoardConfigError(path, [f'not valid JSON: {e}']) from None
    found = problems(cfg)
    if found:
        raise BoardConfigError(path, found)
    return cfg


def register(commands):
    """Add `modemkit board` to the one `modemkit` parser (mktools.cli)."""
    p = commands.add_parser(
        'board', help='check board configs (boardcfg/*.json) against the schema',
        description='Board configs: `check` reports every unknown key, wrong type and unknown '
                    'value, one line each with the key\'s path, and exits 2 if there is any. '
                    f'The schema: {SCHEMA_PATH}.')
    sub = p.add_subparsers(dest='action', metavar='ACTION', required=True)
    check = sub.add_parser('check', help='check board config files',
                           description='Check board config files against the schema.')
    check.add_argument('files', nargs='+', metavar='FILE')
    sub.add_parser('schema', help='print the schema (every key, type, default, reader)')
    p.set_defaults(run=run, parser=p)
    return p


def run(args, env=None):
    if args.action == 'schema':
        print(SCHEMA_PATH.read_text(), end='')
        return 0
    bad = []
    for path in args.files:
        try:
            load(path)
            print(f'{path}: ok')
        except BoardConfigError as e:
            bad.append(str(e))
    if bad:
        raise CommandError('\n'.join(bad))
    return 0


def main(argv=None, env=None):
    """`modemkit board ARGV...` (default: sys.argv[1:]); returns the exit status."""
    from mktools import cli
    return cli.main(['board'] + list(sys.argv[1:] if argv is None else argv), env)


if __name__ == '__main__':
    sys.exit(main())
