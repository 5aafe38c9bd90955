"""The emulator runs the enabled Telit script (config `run_scripts`) under Python 2.7 when one is
installed, as the module does, else CPython 3: MDM on its own AT instance, the flat directory
kept equal to the script store, the MOD watchdog, a reboot killing the script; and the boot
script on its own (crash counting without a previous script, falling back to the previous one).
Under 2.7 these count in `make test`'s py27 line (marker py27)."""

import subprocess
import sys
import time

import pytest

from deploy_rig import APPS, Fleet, beacon_board, env_with_tools, telit_bundle
from mktools import find_python27
from mktools.sim.telit.mdmshim import to_bytes

PYTHON27 = find_python27()[0]


def test_mdm_send_takes_back_what_python_3_made_of_bytes():
    assert to_bytes(str(bytearray(b'AT+CSQ\r'))) == b'AT+CSQ\r'
    assert to_bytes(str(b'AT\r\n"x"')) == b'AT\r\n"x"'
    assert to_bytes(b'\x1a') == b'\x1a'
    assert to_bytes('AT#SGACT=1,1\r') == b'AT#SGACT=1,1\r'
    assert to_bytes("b'not a repr") == b"b'not a repr"


@pytest.fixture(params=[pytest.param('default', marks=pytest.mark.py27), 'python3'])
def module(request):
    config = {'boot_s': 0.2}
    if request.param == 'python3':
        config['script_python'] = sys.executable
    f = Fleet(1, config=config)
    f.python = '2.7' if request.param == 'default' and PYTHON27 else '3.'
    yield f
    f.close()


def start(module, name, source):
    def run():
        modem = module.modems[0]
        modem.scripts.write(name, source.encode(), False)
        modem.scripts.enabled = name
        modem.reboot()
    module.call(run)


def events(module, kind):
    return module.call(lambda: [e for e in module.modems[0].events if e['event'] == kind])


SCRIPT = r'''
import MDM, MOD, sys, time


def at(cmd):
    MDM.send(cmd, 10)
    answer = ''
    while answer.find('OK') < 0:
        answer = answer + MDM.receive(10)
    return answer


at('ATE0\r')
print('python %d.%d' % sys.version_info[:2])
print('CGMR ' + at(str(bytearray(b'AT+CGMR\r'))).split()[0])
f = open('/sys/made.txt', 'w')
f.write('written by the script at %d' % MOD.secCounter())
f.close()
print('clock ok %d' % (0 <= time.clock() < 30))
try:
    open('a_name_longer_than_16.txt', 'w')
except IOError as e:
    print('refused: %s' % e.strerror)
def host_says():
    try:
        return open('from_host.txt').read()
    except IOError:
        return ''


while host_says() != 'go':
    time.sleep(0.05)
raise RuntimeError('the end')
'''


def test_a_script_talks_at_on_mdm_and_shares_the_file_system(module):
    start(module, 'demo.py', SCRIPT.replace('from_host.txt', 'cmd.txt'))
    module.wait(lambda: module.state(0, 'made.txt') is not None, 10, 'made.txt')
    assert module.state(0, 'made.txt').startswith(b'written by the script at ')
    link = module.serial(0)
    try:
        link.command('ATE0')
        files = dict(line.split(': ', 1)[1].rsplit(',', 1) for line in
                     link.command('AT#LSCRIPT', prefix='#LSCRIPT: "'))
        assert '"made.txt"' in files
        # what the host writes with #WSCRIPT appears in the script's directory
        link.write(b'AT#WSCRIPT="cmd.txt",2\r')
        link.until(b'>>>', 'AT#WSCRIPT', time.monotonic() + 5)
        link.write(b'go')
        link.final('AT#WSCRIPT', time.monotonic() + 5)
    finally:
        link.close()
    module.wait(lambda: events(module, 'script_exit'), 10, 'the script ends')
    out = module.output(0)
    # the module runs Python 2.7: so does the emulator, when one is installed
    assert [line for line in out if line.startswith('python ' + module.python)], out
    assert 'CGMR 12.00.026' in out
    assert 'clock ok 1' in out
    assert 'refused: file names have at most 16 characters' in out
    assert out[-1] == 'RuntimeError: the end', '\n'.join(out)
    # the traceback shows the script's frames, not the shim's
    assert not any('mdmshim' in line or 'runpy' in line for line in out)
    assert events(module, 'script_exit')[0]['code'] == 1


def test_watchdog_and_reboot_end_the_script(module):
    start(module, 'wd.py', 'import MOD, time\nMOD.watchdogEnable(1)\nwhile 1:\n'
                           '    time.sleep(0.1)\n')
    module.wait(lambda: events(module, 'script_watchdog'), 10, 'the watchdog reboot')
    module.wait(lambda: len(events(module, 'script_run')) >= 2, 10, 'the script restarted')
    assert events(module, 'script_killed')[0]['why'] == 'reboot'


def test_boot_script_without_a_previous_script_keeps_retrying(module, tmp_path):
    bundle, _ = telit_bundle(APPS / 'broken', beacon_board(tmp_path), version='9')
    module.preinstall(0, bundle)
    module.wait(lambda: (module.state(0, 'a_boots.txt') or b'').startswith(b'4 4'), 20,
                'four failed starts')
    assert module.enabled(0) == 'a_boot.py'
    # the boot script rewrites its state file in place: read it between two writes
    module.wait(lambda: (module.state(0, 'a_state.txt') or b'').split()[:2] in
                ([b'booting', b'9'], [b'crashed', b'9']), 10, 'the state booting or crashed')
    # rewritten in place at every crash too: a read may fall between its truncation and write
    module.wait(lambda: b'RuntimeError: broken on purpose' in
                (module.state(0, 'a_crash.txt') or b''), 10, 'the crash recorded')


def test_boot_script_falls_back_to_the_previous_script_after_repeated_crashes(module, tmp_path):
    board = beacon_board(tmp_path)
    good, _ = telit_bundle(APPS / 'beacon', board, version='1')
    module.preinstall(0, good)
    module.wait(lambda: (module.state(0, 'a_state.txt') or b'').startswith(b'alive 1'), 20,
                'version 1 alive')
    bad, _ = telit_bundle(APPS / 'broken', board, slot='b', version='2', previous='a_boot.py')
    module.preinstall(0, bad)
    # AT#ESCRIPT of the previous script first, then mkfailed.txt and the state, then AT#REBOOT
    module.wait(lambda: (module.state(0, 'b_state.txt') or b'').split()[:2] ==
                [b'fallback', b'2'], 30, 'the fall-back to a_boot.py')
    assert module.enabled(0) == 'a_boot.py'
    assert module.state(0, 'mkfailed.txt') == b'b'
    assert b'RuntimeError: broken on purpose' in module.state(0, 'b_crash.txt')
    module.wait(lambda: (module.state(0, 'a_state.txt') or b'').startswith(b'alive 1'), 20,
                'version 1 alive again')


def test_sim_cli_has_the_script_flags():
    out = subprocess.run([sys.executable, '-m', 'mktools.cli', 'sim', '--help'],
                         capture_output=True, text=True, env=env_with_tools(), check=True).stdout
    assert '--run-scripts' in out and '--script-dir' in out and '--boot-ms' in out


def test_a_script_directory_given_must_be_empty_or_ours(tmp_path):
    from mktools.sim.telit.scripts import ScriptStore
    store = ScriptStore(1000)
    store.write('a.py', b'x = 1\n', False)
    (tmp_path / 'keep.txt').write_text('a file of someone else')
    with pytest.raises(ValueError, match='not empty'):
        store.mirror_to(tmp_path / '.')
    mine = tmp_path / 'mine'
    mine.mkdir()
    store.mirror_to(mine)
    assert (mine / 'a.py').read_bytes() == b'x = 1\n'
    store.mirror = None
    store.mirror_to(mine)           # ours: taken again


TALK = r'''
import MDM
MDM.send('AT+CGMR\r', 10)
got = ''
for _ in range(50):
    got = got + MDM.receive(2)
    if got.find('OK') >= 0:
        break
print('got %r' % got)
'''


def test_a_script_talks_on_mdm_when_the_emulator_holds_over_1024_descriptors(module):
    # an emulator hosting a fleet (`modemkit sim --fleet`) hands the script descriptors above
    # 1023, which select() refuses; the shim moves them down first
    import os
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 1200 and (hard == resource.RLIM_INFINITY or hard >= 1200):
        resource.setrlimit(resource.RLIMIT_NOFILE, (1200, hard))
    elif soft < 1200:
        pytest.skip('RLIMIT_NOFILE below 1200')
    held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]
    try:
        start(module, 'talk.py', TALK)
        module.wait(lambda: events(module, 'script_exit'), 10, 'the script ends')
    finally:
        for fd in held:
            os.close(fd)
    out = module.output(0)
    assert any(line.startswith('got') and '12.00.026' in line for line in out), '\n'.join(out)
    assert events(module, 'script_exit')[0]['code'] == 0
