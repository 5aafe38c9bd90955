"""testall's py27 line: without a Python 2.7 it says why it skipped, and under CI it fails."""
from mktools.dev import testall


def test_py27_absent_is_a_visible_skip_outside_ci(monkeypatch, capsys):
    monkeypatch.setattr(testall, 'find_python27', lambda: (None, 'no python2.7 here'))
    monkeypatch.delenv('CI', raising=False)
    res = testall.run_py27()
    assert res.failed == 0 and res.line() == 'py27: skipped (no python2.7 here)'
    assert 'Python 2.7 tests are SKIPPED: no python2.7 here' in capsys.readouterr().out


def test_py27_absent_fails_under_ci(monkeypatch, capsys):
    monkeypatch.setattr(testall, 'find_python27', lambda: (None, 'no python2.7 here'))
    monkeypatch.setenv('CI', 'true')
    res = testall.run_py27()
    assert res.failed == 1 and res.line() == 'py27: 0 passed, 1 failed'
    assert 'CI needs it' in capsys.readouterr().out
