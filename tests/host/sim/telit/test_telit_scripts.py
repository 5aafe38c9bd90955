"""Telit Easy Script store: #WSCRIPT/#ESCRIPT/#LSCRIPT/#RSCRIPT/#DSCRIPT/#REBOOT (T-RUN §3.9,
digest A.8.9; framing from the Telit AT Commands Reference Guide that T-RUN §1.3 cites)."""

import random

import pytest

from harness import Harness
from mktools.sim.telit.modem import TelitModem


@pytest.fixture
def h():
    with Harness(TelitModem, config={'script_capacity': 1000}) as harness:
        assert harness.cmd('ATE0') == ['OK']
        assert harness.cmd('AT+CMEE=2') == ['OK']
        yield harness


def write_script(h, name, content, hidden=None):
    """#WSCRIPT: the prompt, then exactly len(content) bytes; returns the final lines."""
    extra = '' if hidden is None else f',{hidden}'
    assert h.cmd(f'AT#WSCRIPT="{name}",{len(content)}{extra}') == ['>>>']
    done = h.modem.results
    h.write(content)
    h.wait_for(lambda: h.modem.results > done)
    return h.lines()


def test_20kb_script_round_trips_byte_for_byte():
    content = bytes(random.Random(7).randrange(256) for _ in range(20 * 1024))
    with Harness(TelitModem) as h:
        h.cmd('ATE0')
        assert h.cmd('AT#WSCRIPT="big.py",20480') == ['>>>']
        done = h.modem.results
        for i in range(0, len(content), 1000):          # the DTE sends it in pieces
            h.write(content[i:i + 1000])
        h.wait_for(lambda: h.modem.results > done)
        assert h.lines() == ['OK']
        h.mark = len(h.rx)
        done = h.modem.results
        h.write('AT#RSCRIPT="big.py"\r')
        h.wait_for(lambda: h.modem.results > done)
        # <CR><LF><<< + the file + <CR><LF>OK<CR><LF>: size + 11 bytes
        assert h.read() == b'\r\n<<<' + content + b'\r\nOK\r\n'


def test_wscript_prompt_is_cr_lf_and_three_greater_than(h):
    h.mark = len(h.rx)
    h.write('AT#WSCRIPT="a.py",3\r')
    assert h.read() == b'\r\n>>>'
    h.write(b'x=1')
    assert h.read() == b'\r\nOK\r\n'


def test_lscript_lists_files_and_accounts_free_space(h):
    assert write_script(h, 'a.py', b'a' * 300) == ['OK']
    assert write_script(h, 'b.py', b'b' * 200) == ['OK']
    assert h.cmd('AT#LSCRIPT') == ['#LSCRIPT: "a.py",300', '#LSCRIPT: "b.py",200',
                                   '#LSCRIPT: free bytes: 500', 'OK']
    assert write_script(h, 'a.py', b'A' * 100) == ['OK']           # replaced, not added
    assert h.cmd('AT#LSCRIPT') == ['#LSCRIPT: "a.py",100', '#LSCRIPT: "b.py",200',
                                   '#LSCRIPT: free bytes: 700', 'OK']
    assert h.cmd('AT#DSCRIPT="b.py"') == ['OK']
    assert h.cmd('AT#LSCRIPT') == ['#LSCRIPT: "a.py",100', '#LSCRIPT: free bytes: 900', 'OK']


def test_write_beyond_capacity_is_refused_before_the_prompt(h):
    assert write_script(h, 'a.py', b'a' * 600) == ['OK']
    assert h.cmd('AT#WSCRIPT="b.py",401') == ['+CME ERROR: memory full']
    assert h.modem.mode == 'command'
    assert write_script(h, 'b.py', b'b' * 400) == ['OK']
    # replacing a.py may reuse its own 600 bytes
    assert write_script(h, 'a.py', b'c' * 600) == ['OK']
    assert h.cmd('AT#LSCRIPT')[-2:] == ['#LSCRIPT: free bytes: 0', 'OK']


def test_names_have_at_most_16_characters(h):
    assert write_script(h, 'sixteen_chars.py', b'1') == ['OK']
    assert h.cmd('AT#WSCRIPT="seventeen_char.py",1') == ['+CME ERROR: text string too long']
    assert h.cmd('AT#ESCRIPT="seventeen_char.py"') == ['+CME ERROR: text string too long']


@pytest.mark.parametrize('name', ['../x', '..', 'a/b.py', '/abs.py', 'up..py', '../../x'])
def test_names_with_a_path_are_refused_and_nothing_leaves_the_store(h, tmp_path, name):
    """Issue 18: AT#WSCRIPT="../x",5,0 wrote beside the store's mirror directory.  The store is
    flat (T-RUN §3.9, AT ref. guide): a path in a name is refused like an empty name."""
    store_dir = tmp_path / 'store' / 'mirror'
    store_dir.mkdir(parents=True)
    victim = tmp_path / 'store' / 'x'
    victim.write_bytes(b'keep')
    h.modem.scripts.mirror_to(store_dir)
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*'))
    assert h.cmd(f'AT#WSCRIPT="{name}",5,0') == ['+CME ERROR: incorrect parameters']
    assert h.modem.mode == 'command'                    # refused before the prompt
    assert h.cmd(f'AT#DSCRIPT="{name}"') == ['+CME ERROR: incorrect parameters']
    assert h.cmd(f'AT#ESCRIPT="{name}"') == ['+CME ERROR: incorrect parameters']
    assert h.cmd(f'AT#RSCRIPT="{name}"') == ['+CME ERROR: incorrect parameters']
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob('*')) == before
    assert victim.read_bytes() == b'keep'
    assert write_script(h, 'ok.py', b'12345') == ['OK']  # a plain name still lands inside
    assert (store_dir / 'ok.py').read_bytes() == b'12345'


def test_a_script_cannot_smuggle_a_path_name_in_through_the_mirror(h, tmp_path):
    from mktools.sim.telit.scripts import plain_name
    h.modem.scripts.mirror_to(tmp_path)
    (tmp_path / 'a..b').write_bytes(b'1')               # a running script may create anything
    (tmp_path / 'fine.py').write_bytes(b'2')
    assert h.cmd('AT#LSCRIPT') == ['#LSCRIPT: "fine.py",1', '#LSCRIPT: free bytes: 999', 'OK']
    assert not plain_name('a\\b') and not plain_name('a\0b') and not plain_name('')
    assert plain_name('sixteen_chars.py') and not plain_name('seventeen_char.py')


def test_missing_file_is_not_found(h):
    assert h.cmd('AT#RSCRIPT="none.py"') == ['+CME ERROR: not found']
    assert h.cmd('AT#DSCRIPT="none.py"') == ['+CME ERROR: not found']


def test_names_are_case_sensitive(h):
    assert write_script(h, 'Main.py', b'1') == ['OK']
    assert h.cmd('AT#RSCRIPT="main.py"') == ['+CME ERROR: not found']


def test_hidden_file_reads_back_empty(h):
    assert write_script(h, 'secret.py', b'print 1', hidden=1) == ['OK']
    assert h.cmd('AT#RSCRIPT="secret.py"') == ['<<<', 'OK']
    assert h.cmd('AT#LSCRIPT')[0] == '#LSCRIPT: "secret.py",7'


def test_data_phase_timeout_stores_nothing(h):
    assert h.cmd('AT#WSCRIPT="slow.py",10') == ['>>>']
    h.write(b'12345')
    assert h.lines(29.0) == []
    assert h.lines(1.5) == ['+CME ERROR: unknown']
    assert h.cmd('AT#LSCRIPT') == ['#LSCRIPT: free bytes: 1000', 'OK']
    assert any(e['event'] == 'wscript_timeout' for e in h.modem.events)


def test_escript_does_not_check_the_file_exists(h):
    assert h.cmd('AT#ESCRIPT?') == ['#ESCRIPT: ""', 'OK']
    assert h.cmd('AT#ESCRIPT="later.py"') == ['OK']
    assert h.cmd('AT#ESCRIPT?') == ['#ESCRIPT: "later.py"', 'OK']


def test_store_survives_reboot_and_the_enabled_script_starts():
    started = []

    class Recording(TelitModem):
        def on_script_start(self, name, source):
            started.append((name, source))

    with Harness(Recording) as h:
        h.cmd('ATE0')
        assert write_script(h, 'ciclo3.py', b'import MDM\r\n') == ['OK']
        assert h.cmd('AT#ESCRIPT="ciclo3.py"') == ['OK']
        # T-RUN §3.9: #WSCRIPT, #ESCRIPT, then #REBOOT starts the new script
        assert h.cmd('AT#REBOOT') == ['OK']
        h.wait_for(lambda: h.modem.mode == 'off', 1.0)
        h.wait_for(lambda: started, 10.0)
        assert started == [('ciclo3.py', b'import MDM\r\n')]
        assert h.cmd('AT#ESCRIPT?') == ['#ESCRIPT: "ciclo3.py"', 'OK']
        assert h.cmd('AT#LSCRIPT')[0] == '#LSCRIPT: "ciclo3.py",12'


def test_default_hook_logs_the_start(h):
    assert write_script(h, 'app.py', b'pass') == ['OK']
    assert h.cmd('AT#ESCRIPT="app.py"') == ['OK']
    h.modem.reboot(delay_s=0.5)
    h.wait_for(lambda: any(e['event'] == 'script_start' for e in h.modem.events), 5.0)
    assert [e for e in h.modem.events if e['event'] == 'script_start'][0]['name'] == 'app.py'
