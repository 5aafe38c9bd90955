"""board.load on every interpreter: a config the driver cannot use is refused with BoardError
before any driver is imported (the host tools check every key; this is the device's own
last check, small and without a schema library)."""
import json

from mktest import tmpdir, raises
from modemkit import board


def write(cfg):
    path = tmpdir() + '/board.json'
    with open(path, 'w') as f:
        f.write(cfg if isinstance(cfg, str) else json.dumps(cfg))
    return path


def test_a_known_dialect_loads():
    cfg = board.load(write({'dialect': 'quectel', 'serial': {'port': 1}}))
    assert cfg['dialect'] == 'quectel'


def test_an_unknown_dialect_is_refused_naming_the_valid_ones():
    e = raises(board.BoardError, board.load, write({'dialect': 'quectl'}))
    assert 'quectel, telit, wavecom' in str(e), str(e)


def test_a_wrongly_typed_section_is_refused():
    e = raises(board.BoardError, board.load, write({'dialect': 'telit', 'serial': 'MDM'}))
    assert '"serial"' in str(e), str(e)
    raises(board.BoardError, board.load, write('["dialect", "telit"]'))


def test_a_missing_file_and_bad_json_are_refused():
    raises(board.BoardError, board.load, tmpdir() + '/none.json')
    raises(board.BoardError, board.load, write('{"dialect": '))
