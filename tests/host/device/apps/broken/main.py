"""A new version that cannot start: it fails as soon as the boot script calls it."""
from modemkit.sched import Scheduler


def main(path='board.json'):
    Scheduler()
    raise RuntimeError('broken on purpose')
