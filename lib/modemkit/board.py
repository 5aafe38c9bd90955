"""Board configuration: one JSON file per board in boardcfg/ (dialect, serial port, power key,
APN, sensors, MQTT). This turns one into a running modem driver."""
from modemkit import port, unload

DIALECTS = {'quectel': ('modemkit.quectel', 'Quectel'),
            'telit': ('modemkit.telit', 'Telit'),
            'wavecom': ('modemkit.wavecom', 'Wavecom')}


class BoardError(Exception):
    pass


def load(path):
    try:
        with open(path) as f:
            cfg = port.load_json(f)
    except port.FileError as e:
        raise BoardError('cannot read board config %s: %s' % (path, e))
    except ValueError as e:
        raise BoardError('board config %s is not valid JSON: %s' % (path, e))
    if not isinstance(cfg, dict):
        raise BoardError('board config %s: not a JSON object' % path)
    try:
        known = cfg.get('dialect') in DIALECTS
    except TypeError:                       # a list or an object: unhashable
        known = False
    if not known:
        raise BoardError('%s: "dialect" must be one of %s' % (path, ', '.join(sorted(DIALECTS))))
    # the sections board.modem() reads; the host tools check every key (modemkit board check)
    for key in ('serial', 'power'):
        if not isinstance(cfg.get(key, {}), dict):
            raise BoardError('%s: "%s" must be an object' % (path, key))
    return cfg


def modem(sched, cfg, log=None):
    """The dialect driver for cfg, on the serial port it names (imported only when used)."""
    module, name = DIALECTS[cfg['dialect']]
    cls = getattr(__import__(module, None, None, [name]), name)
    ser = cfg.get('serial', {})
    uart = port.open_serial(ser.get('port', 'MDM'), ser.get('baud', 115200),
                            *([ser['tx'], ser['rx']] if 'tx' in ser else []))
    return cls(sched, uart, cfg, log=log)


# What only an application reads, at its start; the driver keeps reading the rest of cfg.
APP_KEYS = ('name', 'sensors', 'mqtt', 'telemetry', 'datalogger', 'ftp', 'http', 'mail', 'sms')


def release(cfg):
    """Once an application has started: drop the config sections only it read (what it still
    uses it holds itself) and this module (1-2 KiB of heap in all on the 64-bit unix port; the
    next `from modemkit import board` loads it again). The caller must not keep its own
    reference to the module."""
    for key in APP_KEYS:
        if key in cfg:
            del cfg[key]
    unload('board')
