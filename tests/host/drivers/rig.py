"""A modemkit driver (lib/modemkit, the code under test) wired to the emulated module through
the fake UART, all on one fake clock: `Rig('quectel').run(gen)`."""
import importlib

from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import Scheduler

from mktools.sim.core.frontends import in_process

# dialect -> (driver class, emulator class, emulator config)
DIALECTS = {
    'quectel': ('modemkit.quectel:Quectel', 'mktools.sim.quectel.modem:QuectelModem', {}),
    'telit': ('modemkit.telit:Telit', 'mktools.sim.telit.modem:TelitModem', {'variant': 'he910'}),
    'wavecom': ('modemkit.wavecom:Wavecom', 'mktools.sim.wavecom.modem:WavecomModem',
                {'variant': 'multitech'}),
}


def load(spec):
    module, name = spec.split(':')
    return getattr(importlib.import_module(module), name)


class Rig:
    def __init__(self, dialect, board=None, sim=None, chunk=64, baud=None, start=True,
                 flow=False):
        drv_spec, sim_spec, sim_cfg = DIALECTS[dialect]
        self.dialect = dialect
        self.clock = FakeClock()
        self.sched = Scheduler(self.clock)
        self.uart = FakeUart(self.clock, chunk=chunk, size=16384, marks=256)
        cfg = dict(sim_cfg, hosts={'echo.test': '127.0.0.1', 'time.test': '127.0.0.1'})
        cfg.update(sim or {})
        self.fe = in_process(load(sim_spec), self.uart, cfg, baud=baud, flow=flow)
        self.sim = self.fe.modem
        self.logs = []
        board = dict({'apn': 'internet'}, **(board or {}))
        self.drv = load(drv_spec)(self.sched, self.uart, board, log=self.logs.append)
        if start:
            self.drv.start()

    def run(self, gen):
        return self.sched.run(gen)

    def transitions(self):
        return [m for m in self.logs if m.startswith('modem: ')]
