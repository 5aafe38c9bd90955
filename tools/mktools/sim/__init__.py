"""The modem emulator: plays the cellular module (DCE) for tests (see docs/emulator.md)."""

import importlib

DIALECTS = {
    'base': 'mktools.sim.core.modem:Modem',
    'quectel': 'mktools.sim.quectel.modem:QuectelModem',
    'telit': 'mktools.sim.telit.modem:TelitModem',
    'wavecom': 'mktools.sim.wavecom.modem:WavecomModem',
}


def load_dialect(name):
    """The `Modem` subclass for dialect `name`, imported only when asked for."""
    module_name, class_name = DIALECTS[name].split(':')
    return getattr(importlib.import_module(module_name), class_name)
