"""Sensors named in a board config: {"name", "kind", ...}. Each read() returns a float.
  sim        a simulated reading for the desktop: base + swing * triangle wave (period 60 s)
  adc        MicroPython machine.ADC on "pin": read_u16() * scale + offset
  telit_adc  Telit GPIO.getADC("channel") (millivolts) * scale + offset
"""


class SimSensor(object):
    def __init__(self, cfg, clock):
        self.base = cfg.get('base', 20.0)
        self.swing = cfg.get('swing', 1.0)
        self.clock = clock

    def read(self):
        phase = (self.clock.ticks_ms() // 100) % 600        # tenths of a second in 60 s
        tri = phase / 150.0 - 1.0 if phase < 300 else 3.0 - phase / 150.0
        return self.base + self.swing * tri


class AdcSensor(object):
    def __init__(self, cfg):
        from machine import ADC, Pin
        self.adc = ADC(Pin(cfg['pin']))
        self.scale = cfg.get('scale', 1.0)
        self.offset = cfg.get('offset', 0.0)

    def read(self):
        return self.adc.read_u16() * self.scale + self.offset


class TelitAdcSensor(object):
    def __init__(self, cfg):
        import GPIO
        self.gpio = GPIO
        self.channel = cfg.get('channel', 1)
        self.scale = cfg.get('scale', 1.0)
        self.offset = cfg.get('offset', 0.0)

    def read(self):
        return self.gpio.getADC(self.channel) * self.scale + self.offset


def make(cfgs, clock):
    out = []
    for c in cfgs:
        kind = c.get('kind')
        if kind == 'sim':
            out.append((c['name'], SimSensor(c, clock)))
        elif kind == 'adc':
            out.append((c['name'], AdcSensor(c)))
        elif kind == 'telit_adc':
            out.append((c['name'], TelitAdcSensor(c)))
        else:
            raise ValueError('sensor %r: unknown kind %r' % (c.get('name'), kind))
    return out
