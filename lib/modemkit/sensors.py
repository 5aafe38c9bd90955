"""Sensors named in a board config: {"name", "kind", ...}. Each read() returns a float.
  sim        a simulated reading for the desktop: base + swing * triangle wave (period 60 s)
  adc        MicroPython machine.ADC on "pin": read_u16() * scale + offset
  telit_adc  Telit GPIO.getADC("channel") (millivolts) * scale + offset
One class for the three kinds: a class costs more heap than the few lines that tell them apart.
"""
KINDS = ('sim', 'adc', 'telit_adc')


class Sensor(object):
    def __init__(self, cfg, clock):
        self.kind = cfg.get('kind')
        if self.kind not in KINDS:
            raise ValueError('sensor %r: unknown kind %r' % (cfg.get('name'), self.kind))
        if self.kind == 'sim':
            self.base = cfg.get('base', 20.0)
            self.swing = cfg.get('swing', 1.0)
            self.clock = clock
            return
        self.scale = cfg.get('scale', 1.0)
        self.offset = cfg.get('offset', 0.0)
        if self.kind == 'adc':
            from machine import ADC, Pin
            self.adc = ADC(Pin(cfg['pin']))
        else:
            import GPIO
            self.gpio = GPIO
            self.channel = cfg.get('channel', 1)

    def read(self):
        if self.kind == 'sim':
            phase = (self.clock.ticks_ms() // 100) % 600        # tenths of a second in 60 s
            tri = phase / 150.0 - 1.0 if phase < 300 else 3.0 - phase / 150.0
            return self.base + self.swing * tri
        if self.kind == 'adc':
            raw = self.adc.read_u16()
        else:
            raw = self.gpio.getADC(self.channel)
        return raw * self.scale + self.offset


def make(cfgs, clock):
    """[(name, Sensor)] for the board config's "sensors" list."""
    return [(c['name'], Sensor(c, clock)) for c in cfgs]
