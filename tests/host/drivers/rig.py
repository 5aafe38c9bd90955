"""A modemkit driver (lib/modemkit, the code under test) wired to the emulated module through
the fake UART, all on one fake clock: `Rig('quectel').run(gen)`."""
import importlib

from modemkit.fakeuart import FakeClock, FakeUart
from modemkit.sched import Return, Scheduler

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


# What an exchange under wire.garble_rate may end with: a typed error, or every byte in order.
GARBLE_ERRORS = ('TimedOut', 'Closed', 'NetError', 'NetDown')


def garbled_echo(rig, sock, data, timeout_ms=20000):
    """Send `data` to an echo server through `sock` and read it back. Returns (outcome, bytes
    read): outcome 'ok' when len(data) bytes came back, 'eof' when the stream ended before, else
    the NetError's type name."""
    from modemkit.sock import NetError
    got = bytearray()
    try:
        yield sock.send(data, timeout_ms)
        buf = bytearray(512)
        while len(got) < len(data):
            n = yield sock.recv_into(buf, timeout_ms)
            if not n:
                raise Return(('eof', bytes(got)))
            got.extend(buf[:n])
    except NetError as e:
        raise Return((type(e).__name__, bytes(got)))
    raise Return(('ok', bytes(got)))


def check_garbled(outcome, got, data, events, eof_on_etx=False):
    """An 'ok' echo under garbling holds every byte in place, and differs from what was sent only
    where the wire itself changed a byte (a driver cannot see a substituted payload byte: no AT
    payload carries a checksum); a stream cut short ('eof') is a false end of stream, except,
    with eof_on_etx, where a garbled byte from the DTE became a bare ETX, which ends a Wavecom
    session as the host's own close would (MT C.3; the module then says OK_Info_SocketClosed)."""
    garbled = [e for e in events if e['event'] == 'garble']
    assert garbled, 'nothing was garbled'
    if outcome == 'ok':
        assert len(got) == len(data)
        wrong = sum(1 for a, b in zip(got, data) if a != b)
        assert wrong <= len(garbled), (wrong, len(garbled))
    elif outcome == 'eof':
        assert eof_on_etx and any(e['direction'] == 'up' and e['to'] == 3 for e in garbled), \
            'the stream ended after %d of %d bytes' % (len(got), len(data))
        assert got == data[:len(got)] or sum(1 for a, b in zip(got, data) if a != b) <= \
            len(garbled)
    else:
        assert outcome in GARBLE_ERRORS, outcome
