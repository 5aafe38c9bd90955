"""modemkit.sms on the real MicroPython unix port (heap: 64K Quectel, 72K Telit, 128K Wavecom;
code in ROM) through a pty to `modemkit sim` of each dialect: an SMS delivered with `--sms`,
then 7-bit, UCS-2 and 300-character (concatenated) texts and 8-bit data round-trip through
`--sms-echo`; `--sms-log` records what the module sent."""
import json
import os
import subprocess
import sys

import pytest

from mktools.dev import romrun

from test_mpy_pty import ROOT, SIM_VARIANT, tool
from conftest import read_lines

# Wavecom's driver with the SMS stack interns about 620 names, where the qstr pools' next step
# takes 7 KiB at once, and decoding texts interns more (chr() interns each character): that
# step then comes in mid-run, in a fragmented heap (README, "Memory")
HEAP = {'quectel': '64K', 'telit': '72K', 'wavecom': '128K'}

ECHO = '+15550000'
SENDER = '+393468686711'


@pytest.mark.parametrize('dialect', ['quectel', 'telit', 'wavecom'])
def test_sms_round_trips_on_micropython(dialect, tmp_path):
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    link = str(tmp_path / 'ttyMODEM')
    log = tmp_path / 'sent.jsonl'
    sim = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
         '--sms-echo', ECHO, '--sms', f'{SENDER}=status?', '--sms-log', str(log)]
        + SIM_VARIANT[dialect],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    lines = []
    app = None
    try:
        assert 'modemkit sim' in sim.stdout.readline()
        app = subprocess.Popen(
            romrun.command(HEAP[dialect], module='smscheck',
                           rom=[os.path.join(ROOT, 'tests', 'mpy', 'smscheck.py')],
                           args=['/rom/lib', dialect, link, ECHO, SENDER, 'status?']),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 240, 'done')     # a deadline that holds in silence
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        sim.terminate()
        sim.wait(10)
    out = '\n'.join(lines)
    assert 'done' in lines, out
    assert not [l for l in lines if l.startswith('FAIL')], out
    assert 'ok inbound ' + SENDER in lines, out
    assert 'ok gsm7 1 sent, 1 received' in lines, out
    assert 'ok ucs2 1 sent, 1 received' in lines, out
    assert 'ok long 2 sent, 2 received' in lines, out
    assert 'ok data 2 sent, 2 received' in lines, out
    sent = [json.loads(l) for l in log.read_text().splitlines()]
    assert [s['dcs'] for s in sent] == [0, 8, 0, 0, 4, 4]
    assert all(s['to'] == ECHO for s in sent)


@pytest.mark.parametrize('dialect', ['quectel', 'telit', 'wavecom'])
def test_sim_full_on_micropython(dialect, tmp_path):
    """tests/mpy/smsfull.py: a SIM full at start is drained; a write to a full SIM is SmsFull
    (+CMS ERROR: 322); a message arriving for a full SIM waits until a delete frees a slot."""
    mp = tool('micropython')
    if not mp:
        pytest.skip('the MicroPython unix port is not installed')
    link = str(tmp_path / 'ttyMODEM')
    count = 7                                  # 5 slots: two wait at the service centre
    sim = subprocess.Popen(
        [sys.executable, '-m', 'mktools.sim.cli', '--dialect', dialect, '--pty', link,
         '--sms-echo', ECHO, '--sms-slots', '5', '--sms-at', '0']
        + [a for i in range(count) for a in ('--sms', f'{SENDER}=m{i}')]
        + SIM_VARIANT[dialect],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=romrun.child_env())
    lines = []
    app = None
    try:
        assert 'modemkit sim' in sim.stdout.readline()
        app = subprocess.Popen(
            romrun.command(HEAP[dialect], module='smsfull',
                           rom=[os.path.join(ROOT, 'tests', 'mpy', 'smsfull.py')],
                           args=['/rom/lib', dialect, link, ECHO, SENDER, str(count)]),
            env=romrun.child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines = read_lines(app, 240, 'done')
        app.wait(30)
    finally:
        if app is not None and app.poll() is None:
            app.kill()
        sim.terminate()
        sim.wait(10)
    out = '\n'.join(lines)
    assert 'done' in lines, out
    assert not [l for l in lines if l.startswith('FAIL')], out
    for want in ('ok full-at-start 5/5', 'ok write-full 322', f'ok drained {count}',
                 'ok empty 0/5', 'ok filled 5 then 322', 'ok held', 'ok after-delete', 'ok cms 321'):
        assert [l for l in lines if l.startswith(want)], (want, out)
