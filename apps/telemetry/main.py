"""Start the telemetry application from a board config:

    micropython main.py [board.json [count]]          (on the device: board.json beside it)
"""
import gc
import sys

from modemkit import sensors
from modemkit.sched import Scheduler

from telemetry import Telemetry


def main(path='board.json', count=0):
    if hasattr(gc, 'threshold'):
        # MicroPython: collect after every KiB allocated. Garbage left lying around until the
        # heap is full fragments it, and then a few hundred contiguous bytes can be missing
        # (README, "Memory").
        gc.threshold(1024)
    from modemkit import board
    cfg = board.load(path)
    if count:
        cfg.setdefault('telemetry', {})['count'] = count
    s = Scheduler()
    modem = board.modem(s, cfg)
    app = Telemetry(s, modem, cfg, sensors.make(cfg.get('sensors', []), s.clock))
    board.release(cfg)      # started: the board module and the app's config sections go
    del board
    sent = s.run(app.run())
    print('telemetry: %d samples sent, %d deadlines missed, %d dropped' %
          (sent, app.missed, app.queue.dropped))


if __name__ == '__main__':
    args = sys.argv[1:]
    main(args[0] if args else 'board.json', int(args[1]) if len(args) > 1 else 0)
