"""Bundles and deploys never write outside their target (issue 18): `modemkit bundle`, its OTA
tree, `modemkit deploy` to an emulated Telit module whose script store is a host folder, and
upgrade's report, run with hostile inputs (names with `..`, absolute paths, a source file that
is a symbolic link pointing outside, an output directory that is a link, a report's temporary
name planted as a link).  Everything under a temporary root is listed (without following links)
before and after: only the target may change.  A hostile name gets a one-line error and exit
status 2, never a traceback."""

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from deploy_rig import APPS, ROOT, Fleet, beacon_board, env_with_tools
from mktools.device import deploy
from mktools.device.upgrade_waves import save_report

HE910 = ROOT / 'boardcfg' / 'he910-onmodule.json'
RP2040 = ROOT / 'boardcfg' / 'rp2040-ec21.json'


def listing(root):
    """{relative path: what it is} for everything under root, links not followed."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in dirnames + filenames:
            p = Path(dirpath) / name
            rel = str(p.relative_to(root))
            st = p.lstat()
            if p.is_symlink():
                out[rel] = ('link', os.readlink(p))
            elif p.is_dir():
                out[rel] = ('dir', st.st_mode)
            else:
                out[rel] = ('file', st.st_mode, hashlib.sha256(p.read_bytes()).hexdigest())
    return out


def changed(before, after, inside=()):
    """Paths that appeared, went or changed, outside the `inside` prefixes."""
    keys = set(before) | set(after)
    return sorted(k for k in keys if before.get(k) != after.get(k)
                  and not any(k == p or k.startswith(p + '/') for p in inside))


@pytest.fixture
def root(tmp_path):
    """outside/ (what must not change), an app whose helper module is a link to a file in
    outside/, and links to outside/ where a careless tool would write."""
    r = tmp_path / 'root'
    (r / 'outside' / 'dir').mkdir(parents=True)
    (r / 'outside' / 'precious.txt').write_text('keep me\n')
    (r / 'outside' / 'dir' / 'manifest.json').write_text('{}\n')
    (r / 'outside' / 'helper.py').write_text("NAME = 'helper'\n")
    app = r / 'app'
    app.mkdir()
    (app / 'main.py').write_text('import helper\n\n\ndef main(cfg):\n    return helper.NAME\n')
    (app / 'helper.py').symlink_to(r / 'outside' / 'helper.py')
    (r / 'outlink').symlink_to(r / 'outside' / 'dir')
    (r / 'notbundle').mkdir()
    (r / 'notbundle' / 'mine.txt').write_text('not a bundle\n')
    (r / 'afile').write_text('a file\n')
    return r


def cli(*args, cwd):
    return subprocess.run([sys.executable, '-m', 'mktools.cli', *args], capture_output=True,
                          text=True, cwd=cwd, env=env_with_tools(), timeout=120)


def refused(run):
    assert run.returncode == 2, (run.returncode, run.stdout, run.stderr)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and 'Traceback' not in run.stderr, run.stderr
    return lines[0]


@pytest.mark.parametrize('board', [HE910, RP2040], ids=['telit', 'micropython'])
def test_a_bundle_writes_its_out_directory_alone(root, board):
    before = listing(root)
    ota = ['--ota'] if board == RP2040 else []
    run = cli('bundle', 'app', '--board', str(board), '--out', 'out', *ota, cwd=root)
    assert run.returncode == 0, run.stderr
    after = listing(root)
    assert changed(before, after, inside=('out',)) == []
    # the linked helper was read, as a source; it was not written
    assert any('helper' in k for k in after if k.startswith('out/device/'))
    # again into the same out: an earlier bundle is replaced, nothing else moves
    run = cli('bundle', 'app', '--board', str(board), '--out', 'out', cwd=root)
    assert run.returncode == 0, run.stderr
    assert changed(after, listing(root), inside=('out',)) == []


@pytest.mark.parametrize('args, says', [
    (['--out', 'outlink'], 'symbolic link'),
    (['--out', 'notbundle'], 'not an earlier bundle'),
    (['--out', '.'], 'not an earlier bundle'),
    (['--out', 'afile'], 'not a directory'),
    (['--out', 'out', '--entry', '../outside/helper'], 'no entry module'),
    (['--out', 'out', '--entry', '/etc/passwd'], 'no entry module'),
    (['--out', 'out', '--version', '../../x'], 'version'),
    (['--out', 'out', '--previous', '../outside/x.py'], 'script name'),
    (['--out', 'out', '--previous', '/abs/boot.py'], 'script name'),
    (['--out', 'out', '--previous', 'a_seventeen_ch.py'], 'script name'),
], ids=['out-link', 'out-not-bundle', 'out-dot', 'out-file', 'entry-dotdot', 'entry-abs',
        'version-dotdot', 'previous-dotdot', 'previous-abs', 'previous-long'])
def test_hostile_bundle_inputs_get_one_line_and_change_nothing(root, args, says):
    before = listing(root)
    line = refused(cli('bundle', 'app', '--board', str(HE910), *args, cwd=root))
    assert line.startswith('modemkit bundle: ') and says in line, line
    assert changed(before, listing(root)) == []
    assert (root / 'outside' / 'precious.txt').read_text() == 'keep me\n'


def test_an_earlier_bundle_holding_a_link_out_is_replaced_without_following_it(root):
    run = cli('bundle', 'app', '--board', str(HE910), '--out', 'out', cwd=root)
    assert run.returncode == 0, run.stderr
    shutil.rmtree(root / 'out' / 'device')
    (root / 'out' / 'device').symlink_to(root / 'outside')       # planted
    before = listing(root)
    run = cli('bundle', 'app', '--board', str(RP2040), '--out', 'out', '--ota', cwd=root)
    assert run.returncode == 0, run.stderr
    assert changed(before, listing(root), inside=('out',)) == []
    assert not (root / 'out' / 'device').is_symlink()


def test_hostile_deploy_inputs_are_refused_before_any_port_is_opened(root):
    before = listing(root)
    for args in (['--entry', '../outside/helper'], ['--version', '/etc/x'],
                 ['--board', str(root / 'outside' / 'missing.json')]):
        argv = ['deploy', 'app', '--port', 'socket://127.0.0.1:9', *args]
        if '--board' not in args:
            argv += ['--board', str(HE910)]
        line = refused(cli(*argv, cwd=root))
        assert line.startswith('modemkit'), line
    assert changed(before, listing(root)) == []


def test_a_deploy_writes_the_module_script_store_alone(root, tmp_path, capsys):
    # the emulated module keeps its script store in root/store/m00: the deploy's target
    shutil.copy(APPS / 'beacon' / 'main.py', root / 'app' / 'main.py')
    with open(root / 'app' / 'main.py', 'a') as f:
        f.write('\nimport helper\n')
    board = beacon_board(tmp_path)
    fleet = Fleet(1, config={'script_capacity': 150_000})
    store = root / 'store' / 'm00'
    store.mkdir(parents=True)
    try:
        # the store as a host folder from now on, as when a script runs (sim/telit/scripts.py)
        fleet.call(lambda: fleet.modems[0].scripts.mirror_to(store))
        before = listing(root)
        cwd = os.getcwd()
        os.chdir(root)
        try:
            code = deploy.main(['app', '--board', str(board), '--port', fleet.serial_url(0),
                                '--healthy-s', '1', '--chunk-delay-ms', '0', '--version', '3.0'])
        finally:
            os.chdir(cwd)
        assert code == 0, capsys.readouterr().err
        after = listing(root)
        assert changed(before, after, inside=('store/m00',)) == []
        assert any(k.startswith('store/m00/') and 'helper' in k for k in after), [k for k in sorted(after) if 'store' in k]
    finally:
        fleet.close()


def test_the_upgrade_report_is_written_through_no_planted_link(root):
    report = root / 'report.json'
    (root / 'report.json.tmp').symlink_to(root / 'outside' / 'precious.txt')   # planted
    before = listing(root)
    save_report(str(report), [{'name': 'm1', 'outcome': 'upgraded'}])
    save_report(str(report), [{'name': 'm1', 'outcome': 'upgraded'},
                              {'name': 'm2', 'outcome': 'failed'}])
    assert changed(before, listing(root), inside=('report.json',)) == []
    assert (root / 'outside' / 'precious.txt').read_text() == 'keep me\n'
    assert '"m2"' in report.read_text()


@pytest.mark.parametrize('name', ['../x.py', '/sys/x.py', 'a/b.py', 'seventeen_chars.py',
                                  'x",1\rAT+CFUN=1,1\r"', '', 'a\x00b'])
def test_the_script_store_refuses_a_name_with_a_path_before_sending_anything(name):
    from mktools.device.wscript import DeployError, ScriptStore
    store = ScriptStore(link=None)          # nothing may reach a link: there is none
    for call in (lambda: store.write(name, b'x'), lambda: store.read(name, 1),
                 lambda: store.enable(name)):
        with pytest.raises(DeployError) as e:
            call()
        assert 'not a script name' in str(e.value) and '\n' not in str(e.value)
