"""Board configs: a file that cannot be read or is not a board config is one BoardError naming
the path, on every interpreter (2.7's open() raises IOError, MicroPython has no name IOError)."""
from mktest import tmpdir, raises
from modemkit.board import BoardError, load


def write(text):
    path = tmpdir() + '/board.json'
    with open(path, 'w') as f:
        f.write(text)
    return path


def test_a_missing_file_is_a_board_error_with_the_path():
    path = tmpdir() + '/nowhere.json'
    e = raises(BoardError, load, path)
    assert 'cannot read board config ' + path in str(e), str(e)


def test_a_directory_is_a_board_error_with_the_path():
    path = tmpdir()
    e = raises(BoardError, load, path)
    assert path in str(e), str(e)


def test_invalid_json_is_a_board_error_with_the_path():
    path = write('{"dialect": "telit",')
    e = raises(BoardError, load, path)
    assert str(e).startswith('board config %s is not valid JSON' % path), str(e)


def test_an_unknown_dialect_is_a_board_error_with_the_path():
    path = write('{"dialect": "nokia"}')
    e = raises(BoardError, load, path)
    assert str(e).startswith(path + ': "dialect" must be one of quectel, telit'), str(e)


def test_a_good_file_loads_with_text_as_str():
    cfg = load(write('{"dialect": "quectel", "apn": "internet", "mqtt": {"topics": ["a/b"]}}'))
    assert cfg['apn'] == 'internet'
    # 2.7's json gives unicode, which AT commands built from str cannot take in
    assert type(cfg['apn']) is str and type(cfg['mqtt']['topics'][0]) is str
    assert type(list(cfg['mqtt'].keys())[0]) is str
