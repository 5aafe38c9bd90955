"""Property-based fuzzing (issue 18): the same properties run bounded in `make test` (profile
`ci`: a fixed number of examples, derandomized, so a run is reproducible) and for as long as
asked in `make fuzz SECONDS=600` (profile `fuzz`: rounds of random examples until each property
has had its share of the time; failures go to hypothesis's example database and come back first
in the next run, and the failing example is printed for a regression test in tests/core).

A property counts its examples with `tried(name)`; the totals close the run (hooks in
tests/host/conftest.py call `share()` and `summary()`: a second conftest.py here would shadow
the one the other host tests import helpers from)."""

import os
import time

from hypothesis import HealthCheck, settings

FUZZ_SECONDS = float(os.environ.get('MODEMKIT_FUZZ_SECONDS') or 0)
SCALE = float(os.environ.get('MODEMKIT_FUZZ_SCALE') or 1)     # ci: more or fewer examples
EXAMPLES = {}
_SHARE = {'n': 1}

settings.register_profile(
    'ci', max_examples=int(1000 * SCALE), deadline=None,          # a loaded CI box is slow
    derandomize=True, database=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    'fuzz', max_examples=100, deadline=None, print_blob=True,
    suppress_health_check=list(HealthCheck))
settings.load_profile('fuzz' if FUZZ_SECONDS else 'ci')


def examples(n):
    """A property's number of examples in the ci profile (by its cost: all of them together
    take about a minute); the fuzz profile's rounds ignore it."""
    if FUZZ_SECONDS:
        return lambda fn: fn
    return settings(max_examples=max(1, int(n * SCALE)))


def tried(name):
    EXAMPLES[name] = EXAMPLES.get(name, 0) + 1


def run_property(prop):
    """`prop` is a @given test: once (ci), or round after round for its share of
    MODEMKIT_FUZZ_SECONDS (fuzz)."""
    if not FUZZ_SECONDS:
        prop()
        return
    end = time.monotonic() + FUZZ_SECONDS / _SHARE['n']
    while time.monotonic() < end:
        prop()


def share(items):
    """The fuzz profile's time is split between the fuzzing tests collected."""
    _SHARE['n'] = max(1, sum(1 for item in items if '/fuzz/' in item.nodeid.split('::')[0]))


def summary(terminalreporter):
    if EXAMPLES:
        mode = f'{FUZZ_SECONDS:g} s' if FUZZ_SECONDS else 'ci profile'
        terminalreporter.write_line(f'fuzz ({mode}): ' + ', '.join(
            f'{name} {n}' for name, n in sorted(EXAMPLES.items()))
            + f'; {sum(EXAMPLES.values())} examples tried')
