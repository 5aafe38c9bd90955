"""5. Scheduler: the cost of one task switch (switch_us.<sched>) and the heap bytes per suspended
task (task_bytes.<sched>), for modemkit.sched and MicroPython's own asyncio, in the same process
on the MicroPython unix port (bench/mpy/bench_sched.py), repetitions alternating between the two.

Both sides do the same work and are timed over the same span: TASKS tasks in a ring, each waiting
on its own event, woken, clearing it and setting the next task's, ROUNDS times; the clock starts
once every task is created and waiting (as the first event is set) and stops as the last task's
last round ends, so neither the scheduler's setup (asyncio.run) nor a polling main task is in it.
"""
from bench.common import figure, median, run_mpy

TASKS = 10
ROUNDS = 2000
SUSPENDED = 100
REPS = 7
HEAP = 1024 * 1024


def run(ctx):
    ok, lines, why = run_mpy('bench_sched', [TASKS, ROUNDS, SUSPENDED, REPS], HEAP, 300,
                             fail_on=('Traceback',))
    if not ok:
        err = '%s: %s' % (why, ' | '.join(lines[-4:]))
        return {}, dict(('%s.%s' % (k, s), err) for k in ('switch_us', 'task_bytes')
                        for s in ('modemkit', 'asyncio'))
    runs = {}
    for line in lines:
        parts = line.split()
        if len(parts) == 3 and parts[0] in ('switch_us', 'task_bytes'):
            runs.setdefault((parts[0], parts[1]), []).append(float(parts[2]))
    base = {'interpreter': ctx.mpy['version'], 'heap_bytes': HEAP, 'repetitions': REPS,
            'statistic': 'median', 'app': 'bench/mpy/bench_sched.py', 'same_process': True}
    what = {
        'modemkit': 'modemkit.sched.Scheduler: generator tasks; a waiter is `yield ev.wait()` '
                    'on a modemkit Event, woken by ev.set()',
        'asyncio': 'MicroPython asyncio (frozen in the port): coroutine tasks; a waiter is '
                   '`await ev.wait()` on an asyncio.Event, woken by ev.set()'}
    results = {}
    for sched in ('modemkit', 'asyncio'):
        sw = runs.get(('switch_us', sched), [])
        tb = runs.get(('task_bytes', sched), [])
        if sw:
            results['switch_us.' + sched] = figure(round(median(sw), 3), 'microseconds', dict(
                base, scheduler=what[sched], timer='time.ticks_us', tasks=TASKS, rounds=ROUNDS,
                measure='%d tasks in a ring, each waiting on its own event, then clearing it and '
                        'setting the next task\'s, %d rounds; timed from setting the first event '
                        '(every task created and waiting, after a collection) to the end of the '
                        'last task\'s last round, / (tasks x rounds); asyncio\'s main task '
                        'awaits the last task meanwhile (not polling), asyncio.run\'s setup is '
                        'outside the span' % (TASKS, ROUNDS)), [round(x, 3) for x in sw])
        if tb:
            results['task_bytes.' + sched] = figure(round(median(tb), 1), 'bytes', dict(
                base, scheduler=what[sched], tasks=SUSPENDED,
                measure='the same on both sides: gc.mem_alloc() after gc.collect(), before '
                        'creating the tasks (scheduler and event already made) and once all %d '
                        'have run to `ev.wait()` on one event, / %d (task object + one-frame '
                        'generator or coroutine + what waiting records)'
                        % (SUSPENDED, SUSPENDED)), tb)
    return results, {}
