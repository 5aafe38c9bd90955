"""Splitting command lines into commands (`mktools.sim.core.atparse`), V.250 §5.3-5.4 and Telit GT-3."""

import pytest

from mktools.sim.core.atparse import Command, ParseError, Quoted, parse_line


@pytest.mark.parametrize('body, commands', [
    ('', []),
    ('E0V1', [Command('E', 'set', ['0']), Command('V', 'set', ['1'])]),
    ('I', [Command('I', 'exec', [])]),
    ('&F', [Command('&F', 'exec', [])]),
    ('&d2', [Command('&D', 'set', ['2'])]),
    ('S12=50', [Command('S', 'set', ['12', '50'])]),
    ('S3?', [Command('S', 'read', ['3'])]),
    ('D*99***1#', [Command('D', 'exec', ['*99***1#'])]),
    ('+CREG?', [Command('+CREG', 'read', [])]),
    ('+CREG=?', [Command('+CREG', 'test', [])]),
    ('+CSQ', [Command('+CSQ', 'exec', [])]),
    ('+cmee=2;+creg?', [Command('+CMEE', 'set', ['2']), Command('+CREG', 'read', [])]),
    ('E0+CMEE=1', [Command('E', 'set', ['0']), Command('+CMEE', 'set', ['1'])]),
    ('#SD = 1 , 0 , 80 , "host" ', [Command('#SD', 'set', ['1', '0', '80', 'host'])]),
    ('+X=', [Command('+X', 'set', [])]),
    ('+X=1,,3,', [Command('+X', 'set', ['1', None, '3', None])]),
    ('+X="a;b","",c d', [Command('+X', 'set', ['a;b', '', 'c d'])]),
])
def test_parse(body, commands):
    assert parse_line(body) == commands


def test_quoted_arguments_are_marked():
    (cmd,) = parse_line('+QIOPEN=1,0,"TCP",host')
    assert [isinstance(a, Quoted) for a in cmd.args] == [False, False, True, False]


@pytest.mark.parametrize('body', ['+X="open', '+X="a"b', '+', 'S=1', '&1', '1'])
def test_malformed(body):
    with pytest.raises(ParseError):
        parse_line(body)
