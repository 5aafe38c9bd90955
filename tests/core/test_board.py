"""board.load on every interpreter: a config the driver cannot use is refused with BoardError
naming the path, before any driver is imported (the host tools check every key; this is the
device's own last check, small and without a schema library). A file that cannot be read is a
BoardError too on 2.7 (whose open() raises IOError) and on MicroPython (which has no IOError)."""
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


def test_text_loads_as_str():
    cfg = board.load(write('{"dialect": "quectel", "apn": "internet", "mqtt": {"t": ["a/b"]}}'))
    assert cfg['apn'] == 'internet'
    # 2.7's json gives unicode, which AT commands built from str cannot take in
    assert type(cfg['apn']) is str and type(cfg['mqtt']['t'][0]) is str
    assert type(list(cfg['mqtt'].keys())[0]) is str


def test_an_unknown_dialect_is_refused_naming_the_valid_ones():
    path = write({'dialect': 'quectl'})
    e = raises(board.BoardError, board.load, path)
    assert str(e).startswith(path + ': "dialect" must be one of quectel, telit, wavecom'), str(e)


def test_a_wrongly_typed_section_is_refused():
    e = raises(board.BoardError, board.load, write({'dialect': 'telit', 'serial': 'MDM'}))
    assert '"serial"' in str(e), str(e)
    raises(board.BoardError, board.load, write('["dialect", "telit"]'))


def test_a_missing_file_is_refused_with_the_path():
    path = tmpdir() + '/none.json'
    e = raises(board.BoardError, board.load, path)
    assert 'cannot read board config ' + path in str(e), str(e)


def test_a_directory_is_refused_with_the_path():
    path = tmpdir()
    e = raises(board.BoardError, board.load, path)
    assert path in str(e), str(e)


def test_bad_json_is_refused_with_the_path():
    path = write('{"dialect": ')
    e = raises(board.BoardError, board.load, path)
    assert str(e).startswith('board config %s is not valid JSON' % path), str(e)
