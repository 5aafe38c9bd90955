"""`modemkit bundle`: Telit flattening (16-character names, rewritten imports, only what the app
needs, Python 2.7 rules, line numbers kept) and MicroPython output (mpy-cross, main.py, freeze
manifest)."""

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from deploy_rig import ROOT, env_with_tools
from mktools.device.bundle import Options, build, load_board
from mktools.device.bundle_graph import BundleError

HE910 = ROOT / 'boardcfg' / 'he910-onmodule.json'
TELEMETRY = ROOT / 'apps' / 'telemetry'


def write(root, files):
    for name, text in files.items():
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())


FAKE_LIB = {
    'modemkit/__init__.py': "VERSION = '9.9'\n",
    'modemkit/x.py': """
        VALUE = 'x'


        def hello():
            return 'hello from x'
        """,
    'modemkit/y.py': """
        from modemkit import x


        def f():
            return x.hello() + ' via y'
        """,
    'modemkit/z.py': """
        DIALECTS = {'d': ('modemkit.dial', 'NAME'), 'other': ('modemkit.other', 'NAME')}


        def load(kind):
            module, name = DIALECTS[kind]
            return getattr(__import__(module, None, None, [name]), name)
        """,
    'modemkit/dial.py': "NAME = 'the dial dialect'\n",
    'modemkit/other.py': "NAME = 'not bundled'\n",
    'modemkit/unused.py': "NAME = 'never imported'\n",
}

FAKE_APP = {
    'main.py': """
        import sys
        from modemkit import x, VERSION
        from modemkit.y import (f as
                                g)
        import modemkit.x
        import modemkit
        import helper as h
        from helper import twice


        def main(path='cfg'):
            from modemkit import z
            return [x.VALUE, VERSION, g(), modemkit.x.hello(), modemkit.VERSION, h.twice(2),
                    twice(3), z.load('d'), len(sys.argv) >= 0]


        def fail():
            raise ValueError('the line number of the original')
        """,
    'helper.py': """
        def twice(n):
            return 2 * n
        """,
}


@pytest.fixture
def fake(tmp_path):
    write(tmp_path / 'lib', FAKE_LIB)
    write(tmp_path / 'app', FAKE_APP)
    board = tmp_path / 'board.json'
    board.write_text('{"dialect": "dial", "serial": {"port": "MDM"}}')
    return tmp_path, load_board(board)


def telit(tmp_path, board, slot='a', app='app', **kw):
    return build(Options(app=tmp_path / app, board=board, target='telit', slot=slot,
                         lib=tmp_path / 'lib', **kw))


def test_every_import_form_is_rewritten_and_the_flat_files_run(fake):
    tmp_path, board = fake
    bundle = telit(tmp_path, board)
    names = sorted(f.name for f in bundle.files)
    assert names == ['a_boot.py', 'a_cfg.json', 'a_dial.py', 'a_files.txt', 'a_helper.py',
                     'a_main.py', 'a_mkinit.py', 'a_x.py', 'a_y.py', 'a_z.py']
    for f in bundle.files:
        if f.name.endswith('.py') and f.name != 'a_boot.py':
            for node in ast.walk(ast.parse(f.data)):
                if isinstance(node, (ast.Import, ast.ImportFrom)):
                    mods = [node.module] if isinstance(node, ast.ImportFrom) else \
                        [a.name for a in node.names]
                    assert not any(m.startswith('modemkit') for m in mods), (f.name, mods)
    out = tmp_path / 'flat'
    out.mkdir()
    for f in bundle.files:
        (out / f.name).write_bytes(f.data)
    run = subprocess.run([sys.executable, '-c', textwrap.dedent('''
        import sys, traceback
        sys.path.insert(0, '.')
        import a_main
        print(a_main.main())
        try:
            a_main.fail()
        except ValueError:
            print(traceback.extract_tb(sys.exc_info()[2])[-1].lineno)
        ''')], cwd=out, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    result, line = run.stdout.splitlines()
    assert result == ("['x', '9.9', 'hello from x via y', 'hello from x', '9.9', 4, 6, "
                      "'the dial dialect', True]")
    # the multi-line import collapsed to one line, padded: tracebacks keep their line numbers
    original = (tmp_path / 'app' / 'main.py').read_text().splitlines()
    assert int(line) == 1 + next(i for i, text in enumerate(original) if 'raise' in text)
    z = bundle.file('a_z.py').data.decode()
    assert "'a_dial'" in z and "'modemkit.other'" in z


def test_the_slot_prefixes_every_name_and_the_version_ignores_it(fake):
    tmp_path, board = fake
    a, b = telit(tmp_path, board, 'a'), telit(tmp_path, board, 'b')
    assert {f.name[2:] for f in a.files} == {f.name[2:] for f in b.files}
    assert all(f.name.startswith('b_') for f in b.files)
    assert a.version == b.version and a.version.startswith('9.9+')
    board['apn'] = 'changed'
    assert telit(tmp_path, board).version != a.version


def test_forbidden_and_clashing_names(fake):
    tmp_path, board = fake
    write(tmp_path / 'clash', {'main.py': 'import x\nfrom modemkit import x as y\n',
                               'x.py': 'A = 1\n'})
    with pytest.raises(BundleError, match='would both be a_x.py'):
        telit(tmp_path, board, app='clash')
    write(tmp_path / 'rel', {'main.py': 'from . import helper\n'})
    with pytest.raises(BundleError, match='relative imports'):
        telit(tmp_path, board, app='rel')
    write(tmp_path / 'py3', {'main.py': 'def main(p):\n    return f"{p}"\n'})
    with pytest.raises(BundleError, match='Python 2.7'):
        telit(tmp_path, board, app='py3')


def test_long_module_names_are_shortened_to_16_characters(fake):
    tmp_path, board = fake
    write(tmp_path / 'long', {'main.py': 'import averyveryverylongname\n'
                                         'import averyveryveryotherone\n',
                              'averyveryverylongname.py': 'A = 1\n',
                              'averyveryveryotherone.py': 'B = 2\n'})
    bundle = telit(tmp_path, board, app='long')
    names = [f.name for f in bundle.files]
    assert all(len(n) <= 16 for n in names), names
    assert len(set(names)) == len(names)
    assert telit(tmp_path, board, app='long').manifest() == bundle.manifest()


def test_telemetry_for_the_he910_carries_only_what_it_needs():
    bundle = build(Options(app=TELEMETRY, board=load_board(HE910), slot='b'))
    assert bundle.target == 'telit' and bundle.boot == 'b_boot.py'
    names = {f.name for f in bundle.files}
    assert all(len(n) <= 16 for n in names)
    for absent in ('b_quectel.py', 'b_wavecom.py', 'b_port_cpy.py', 'b_port_mpy.py',
                   'b_fakeuart.py', 'b_port_telit.py'):
        assert absent not in names
    assert {'b_telit.py', 'b_port.py', 'b_at.py', 'b_telemetry.py', 'b_main.py'} <= names
    assert b"('b_telit', 'Telit')" in bundle.file('b_board.py').data
    # port is resolved for the target: the module's only platform layer
    assert bundle.file('b_port.py').data.startswith(
        (ROOT / 'lib' / 'modemkit' / 'port_telit.py').read_bytes()[:60])
    for f in bundle.files:
        if f.origin.endswith('.py') and f.origin.startswith(str(ROOT)):
            assert f.data.count(b'\n') == Path(f.origin).read_bytes().count(b'\n'), f.name
    listing = bundle.file('b_files.txt').data.decode().splitlines()
    assert listing[0] == f'modemkit {bundle.version}'
    assert {line.split()[2] for line in listing[1:]} == names - {'b_files.txt'}
    boot = bundle.file('b_boot.py').data.decode()
    assert "SLOT = 'b'" in boot and "ENTRY = 'b_main'" in boot and "CONFIG = 'b_cfg.json'" \
        in boot
    assert json.loads(bundle.file('b_cfg.json').data) == {**load_board(HE910), 'bundle': {
        'version': bundle.version, 'slot': 'b', 'app': 'telemetry'}}


def test_boot_script_template_is_python_27():
    from mktools.checks.py27 import check_source
    for path in (ROOT / 'firmware' / 'telit' / 'boot.py', ROOT / 'firmware' / 'mpy' / 'main.py',
                 ROOT / 'firmware' / 'mpy' / 'boot.py'):
        assert check_source(path.read_text(), str(path)) == []


def test_micropython_bundle_and_its_freeze_manifest(tmp_path):
    board = load_board(ROOT / 'boardcfg' / 'rp2040-ec21.json')
    bundle = build(Options(app=TELEMETRY, board=board))
    assert bundle.target == 'micropython' and bundle.boot == 'main.py'
    names = {f.name for f in bundle.files}
    assert {'a/appmain.mpy', 'a/modemkit/__init__.mpy', 'a/modemkit/quectel.mpy',
            'a/modemkit/port_mpy.mpy', 'a/board.json', 'main.py', 'boot.py'} <= names
    assert not names & {'a/modemkit/port_telit.mpy', 'a/modemkit/port_cpy.mpy',
                        'a/modemkit/telit.mpy', 'a/main.mpy'}
    assert all(f.data[:1] == b'M' for f in bundle.files if f.name.endswith('.mpy'))
    main = bundle.file('main.py').data.decode()
    assert "SLOT = 'a'" in main and "CONFIG = 'a/board.json'" in main
    bundle.write(tmp_path / 'out')
    frozen = []
    stubs = {'include': lambda path: None,
             'package': lambda name, files, base_path: frozen.extend(
                 tmp_path / 'out' / base_path / name / f for f in files),
             'module': lambda name, base_path: frozen.append(tmp_path / 'out' / base_path / name)}
    exec((tmp_path / 'out' / 'manifest.py').read_text(), stubs)
    assert len(frozen) == len([n for n in names if n.endswith('.mpy')])
    assert all(p.is_file() for p in frozen)
    manifest = json.loads((tmp_path / 'out' / 'manifest.json').read_text())
    for entry in manifest['files']:
        assert (tmp_path / 'out' / 'device' / entry['name']).stat().st_size == entry['size']


def test_cli_writes_the_bundle_and_documents_every_option(tmp_path):
    env = env_with_tools()
    run = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', 'telemetry', '--board',
                          str(HE910), '--out', str(tmp_path / 'b'), '--version', '7.0'],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert 'telit bundle of telemetry 7.0, slot a' in run.stdout
    assert (tmp_path / 'b' / 'device' / 'a_boot.py').is_file()
    help_text = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', '--help'],
                               capture_output=True, text=True, env=env).stdout
    for option in ('--board', '--target', '--entry', '--version', '--slot', '--max-tries',
                   '--healthy-s', '--crash-delay-s', '--march', '--no-py27-check',
                   '--previous', '--out'):
        assert option in help_text, option
    bad = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', 'no-such-app',
                          '--board', str(HE910), '--out', str(tmp_path / 'x')],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2 and 'no-such-app: no such app' in bad.stderr


def test_a_module_path_built_at_run_time_is_refused_for_telit(fake):
    tmp_path, board = fake
    write(tmp_path / 'computed', {'main.py': """
        def main(path):
            name = 'x'
            return __import__('modemkit.' + name, None, None, ['VALUE']).VALUE
        """})
    with pytest.raises(BundleError, match=r"main.py:3: a module path built at run time"):
        telit(tmp_path, board, app='computed')


def test_ota_tree_is_the_slot_files_and_a_manifest_of_their_hashes(tmp_path):
    import hashlib
    env = env_with_tools()
    board = ROOT / 'boardcfg' / 'rp2040-ec21.json'
    run = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', 'telemetry', '--board',
                          str(board), '--out', str(tmp_path / 'b'), '--version', '7.1', '--ota'],
                         capture_output=True, text=True, env=env)
    assert run.returncode == 0, run.stderr
    assert 'OTA update 7.1:' in run.stdout
    ota = tmp_path / 'b' / 'ota'
    manifest = json.loads((ota / 'manifest.json').read_text())
    assert manifest['version'] == '7.1' and manifest['entry'] == 'appmain'
    assert manifest['config'] == 'board.json' and manifest['target'] == 'micropython'
    names = [f['name'] for f in manifest['files']]
    assert {'appmain.mpy', 'modemkit/quectel.mpy', 'board.json'} <= set(names)
    assert not [n for n in names if n.startswith(('a/', 'b/')) or n in ('main.py', 'boot.py')]
    for f in manifest['files']:
        data = (ota / f['name']).read_bytes()
        assert len(data) == f['size'] and hashlib.sha256(data).hexdigest() == f['sha256']
    assert manifest['total'] == sum(f['size'] for f in manifest['files'])
    cfg = json.loads((ota / 'board.json').read_text())
    assert cfg['bundle'] == {'version': '7.1', 'app': 'telemetry'}     # the device picks the slot
    bad = subprocess.run([sys.executable, '-m', 'mktools.cli', 'bundle', 'telemetry', '--board',
                          str(HE910), '--out', str(tmp_path / 't'), '--ota'],
                         capture_output=True, text=True, env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ('modemkit bundle: --ota is for MicroPython bundles (a Telit '
                                  'module is upgraded through TCPATRUN: modemkit upgrade)')


def test_the_http_backend_the_board_picks_goes_into_the_bundle():
    board = load_board(ROOT / 'boardcfg' / 'desktop-telit.json')
    app = Path(__file__).resolve().parent / 'apps' / 'ota'
    names = {f.name for f in build(Options(app=app, board=board, target='micropython')).files}
    assert 'a/modemkit/http.mpy' in names and 'a/modemkit/http_telit.mpy' not in names
    board['http'] = 'native'
    names = {f.name for f in build(Options(app=app, board=board, target='micropython')).files}
    assert 'a/modemkit/http_telit.mpy' in names
