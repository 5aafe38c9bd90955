"""The short soak that `make test` runs (`make soak` runs the full one): the telemetry app on
the MicroPython unix port sends 600 QoS 1 samples through one fault of each kind the emulator
has; an independent subscriber must see every sample."""
import pytest

from mktools.dev import demo, soak


def test_600_samples_through_one_fault_of_every_kind(capsys):
    if not demo.tool('micropython'):
        pytest.skip('the MicroPython unix port is not installed')
    out = []
    fig = soak.run(600, len(soak.KINDS), 50, keep=out, log=lambda msg: None)
    tail = '\n'.join(out[-40:])
    assert fig['faults_by_kind'] == dict((k, 1) for k in soak.KINDS), (fig, tail)
    # none lost; a sample whose bytes the line garbled on their way to the module arrives
    # garbled (nothing on a UART checks them), which the soak counts apart
    assert fig['lost'] <= fig['garbled_arrivals'], (fig, tail)
    assert fig['received'] + fig['lost'] == 600, (fig, tail)
    assert fig['app_exit'] == 0 and '600 samples sent' in fig['app_summary'], (fig, tail)
    # the faults were felt: the module restarted, the context went, the client reconnected
    # after each connection-level fault, and the line faults hit bytes
    assert fig['module_restarts_seen'] >= 1 and fig['pdp_losses_seen'] >= 1, fig
    assert fig['mqtt_connections'] >= 5, (fig, tail)
    # (a line fault hits what crosses the line in its 3 s: on a quiet line, maybe nothing)
    assert fig['line_bytes_garbled'] + fig['line_bytes_dropped'] > 0, fig
    with capsys.disabled():
        print('\nsoak: %(received)d samples, %(faults)d faults, %(lost)d lost, '
              '%(garbled_arrivals)d arrived garbled, %(duplicates)d duplicates, %(wall_s).0f s'
              % fig)
