"""The modem emulator: plays the cellular module (DCE) for tests (see docs/emulator.md)."""

import importlib

DIALECTS = {
    'base': 'mktools.sim.modem:Modem',
    'quectel': 'mktools.sim.quectel:QuectelModem',
    'telit': 'mktools.sim.telit:TelitModem',
    'wavecom': 'mktools.sim.wavecom:WavecomModem',
}


def load_dialect(name):
    """The `Modem` subclass for dialect `name`, imported only when asked for."""
    module_name, class_name = DIALECTS[name].split(':')
    return getattr(importlib.import_module(module_name), class_name)
