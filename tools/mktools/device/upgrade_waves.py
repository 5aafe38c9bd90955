"""The waves of `modemkit upgrade` on a fleet, and its JSON report.

A canary wave, then waves `growth` times bigger (at most `max_wave`), at most `parallel`
modules in flight and `rate` starts a second.  A module that does not end upgraded counts as a
failure; a wave whose failure share passes `threshold` stops the run, and within a wave no
module starts once the wave can no longer stay under it.  The report (one entry per target,
`pending` for those never started) is rewritten whole after every wave, so a run cut short
leaves a usable one; `--resume` leaves alone the modules it shows done with the same version.
Memory is bounded by the entries (one small dict per module) and `parallel` threads.
"""

import json
import math
import os
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import asdict, fields

from mktools import CommandError
from mktools.device.upgrade_flow import Result


class ReportError(CommandError):
    """A --resume report that cannot be read or is not one of ours."""


def plan_waves(n, canary=10, growth=2.0, max_wave=0):
    """Sizes of the waves for n modules: the canary, then each `growth` times the one before
    (at least one more), capped at max_wave (0: no cap); canary 0 is one wave of all."""
    sizes = []
    size = canary if canary > 0 else n
    while n > 0:
        take = min(size, n, max_wave or n)
        sizes.append(take)
        n -= take
        size = max(size + 1, math.ceil(size * growth))
        if max_wave:
            size = min(size, max_wave)
    return sizes


PENDING_REASON = 'not started: the run stopped at the failure threshold'


def entry(r, wave):
    """A Result as one JSON report entry (its progress log left out)."""
    d = {k: v for k, v in asdict(r).items() if k != 'log'}
    d['wave'] = wave
    return d


def as_result(d):
    """A report entry back as a Result (for the summary table)."""
    names = {f.name for f in fields(Result)}
    return Result(**{k: v for k, v in d.items() if k in names})


def load_report(path):
    """{name: entry} of an earlier JSON report (--resume)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        raise ReportError(f'cannot read report {path}: {e.strerror}') from None
    except ValueError as e:
        raise ReportError(f'{path}: not a JSON report ({e})') from None
    if not isinstance(data, list) or not all(isinstance(d, dict) and isinstance(
            d.get('name'), str) and isinstance(d.get('outcome'), str) for d in data):
        raise ReportError(f'{path}: not a report of modemkit upgrade (a list of modules)')
    return {d['name']: d for d in data}


def save_report(path, entries):
    """Write the whole report atomically: a cut leaves the previous one, never half of it."""
    # a fresh name beside it (mkstemp: O_EXCL, never through a link a hostile user left
    # there, as a fixed 'report.json.tmp' would be)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + '.',
                               dir=os.path.dirname(os.path.abspath(path)))
    try:
        with os.fdopen(fd, 'w') as f:
            json.dump(entries, f, indent=1)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def is_done(d, version, no_reboot=False):
    return d.get('to_version') == version and (
        d['outcome'] == 'upgraded' or (no_reboot and d['outcome'] == 'installed'))


def run_waves(todo, sizes, one, ok, entries, parallel, threshold, rate, out, save=None):
    """Run `one(target)` over `todo` in waves of `sizes`, at most `parallel` at once and `rate`
    starts a second (0: no limit); each Result goes into `entries[name]`; `save()` after every
    wave.  Returns the stop message, or None when every wave ran."""
    parallel = max(1, parallel)
    start = 0
    with ThreadPoolExecutor(max_workers=parallel) as pool:
        for number, size in enumerate(sizes, 1):
            wave = todo[start:start + size]
            start += size
            allowed = math.floor(threshold * size + 1e-9)
            tally = {'failed': 0, 'done': 0}

            def take(futures):
                for f in futures:
                    r = f.result()
                    tally['failed'] += not ok(r)
                    tally['done'] += 1
                    r.log = []          # printed already; the report does not keep it
                    entries[r.name] = entry(r, number)

            running = set()
            next_start = time.monotonic()
            for target in wave:
                while len(running) >= parallel:
                    finished, running = wait(running, return_when=FIRST_COMPLETED)
                    take(finished)
                if tally['failed'] > allowed:
                    break               # this wave can no longer stay under the threshold
                if rate > 0:
                    time.sleep(max(0.0, next_start - time.monotonic()))
                    next_start = max(next_start, time.monotonic()) + 1.0 / rate
                running.add(pool.submit(one, target))
            take(wait(running).done)
            failed, done = tally['failed'], tally['done']
            counts = {}
            for t in wave:
                d = entries.get(t[0])
                key = d['outcome'] if d else 'pending'
                counts[key] = counts.get(key, 0) + 1
            print(f'modemkit upgrade: wave {number}/{len(sizes)}: {size} modules: '
                  + ', '.join(f'{n} {k}' for k, n in sorted(counts.items()))
                  + f' ({failed} of {done} failed, threshold {threshold:.0%})',
                  file=out, flush=True)
            if save:
                save()
            if failed > threshold * size + 1e-9 and start < len(todo) or done < size:
                left = len(todo) - start + size - done
                stop = (f'stopped after wave {number}: {failed} of {size} modules failed, '
                        f'more than --max-failure-rate {threshold:g}; {left} modules not '
                        'started (run again with --resume REPORT)')
                print(f'modemkit upgrade: {stop}', file=out, flush=True)
                return stop
    return None
