"""Types: the on-target code uses only what MicroPython's published stubs (micropython-stubs:
the stdlib and the rp2 port) say exists, checked by mypy (mktools.checks.mpytypes)."""

import textwrap

from mktools.checks import mpytypes


def test_on_target_code_uses_only_what_micropython_has():
    assert mpytypes.check() == []


def test_a_call_micropython_does_not_have_is_caught(tmp_path):
    bad = tmp_path / 'bad.py'
    bad.write_text(textwrap.dedent('''
        import time
        import machine


        def f(path):
            try:
                open(path)
            except IOError:
                pass
            pin = machine.Pin(1, machine.Pin.OUT)
            return time.perf_counter(), time.ticks_ms(), pin, unicode('x')
        '''))
    found = mpytypes.check([[str(bad)]])
    text = '\n'.join(found)
    assert 'bad.py:9:' in text and '"IOError"' in text
    assert 'bad.py:12:' in text and '"perf_counter"' in text and '"unicode"' in text
    assert 'ticks_ms' not in text and 'Pin' not in text
    assert len(found) == 3, text
