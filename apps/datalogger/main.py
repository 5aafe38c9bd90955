"""Start the data logger from a board config:

    micropython main.py [board.json [count]]          (on the device: board.json beside it)
"""
import sys

from modemkit import board, sensors
from modemkit.sched import Scheduler

from logger import DataLogger


def main(path='board.json', count=0):
    cfg = board.load(path)
    if count:
        cfg.setdefault('datalogger', {})['count'] = count
    s = Scheduler()
    modem = board.modem(s, cfg)
    app = DataLogger(s, modem, cfg, sensors.make(cfg.get('sensors', []), s.clock))
    print('datalogger: %s' % s.run(app.run()))


if __name__ == '__main__':
    args = sys.argv[1:]
    main(args[0] if args else 'board.json', int(args[1]) if len(args) > 1 else 0)
