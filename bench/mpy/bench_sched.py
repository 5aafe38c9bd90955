# modemkit's scheduler against MicroPython's own asyncio, in one process:
#     micropython -X heapsize=1M -m bench_sched TASKS ROUNDS SUSPENDED REPS
# switch: TASKS tasks in a ring handing an event on ROUNDS times (`yield ev.wait()` / `await
# ev.wait()`), timed with time.ticks_us over the rounds only (every task already created and
# waiting), per switch;
# task: heap bytes per suspended task, SUSPENDED tasks each waiting on one event (one-frame
# generator / coroutine), gc.mem_alloc() after a collection, before and after.
# Prints 'switch_us <sched> <value>' and 'task_bytes <sched> <value>' per repetition, 'done'.
import gc
import sys
import time

import asyncio
from modemkit.sched import Scheduler, Event

TASKS, ROUNDS, SUSPENDED, REPS = [int(a) for a in sys.argv[1:5]]


# Both sides do the same work: TASKS tasks in a ring, each waiting on its own event; a task woken
# clears its event and sets the next task's, ROUNDS times. Every task is created and waiting
# before the clock starts (t0, just before the first event is set); the last task reads the
# clock as its last round ends (t1). Nobody polls: each switch is one event handing over.
def mk_switch():
    s = Scheduler()
    evs = [Event(s) for _ in range(TASKS)]
    t1 = [0]

    def worker(i):
        ev = evs[i]
        nxt = evs[(i + 1) % TASKS]
        for _ in range(ROUNDS):
            yield ev.wait()
            ev.clear()
            nxt.set()
        if i == TASKS - 1:
            t1[0] = time.ticks_us()

    for i in range(TASKS):
        s.spawn(worker(i))
    s.run_once()                  # each runs to its first wait
    gc.collect()
    t0 = time.ticks_us()
    evs[0].set()
    s.run()
    return time.ticks_diff(t1[0], t0) / (TASKS * ROUNDS)


def as_switch():
    t = [0, 0]

    async def worker(evs, i):
        ev = evs[i]
        nxt = evs[(i + 1) % TASKS]
        for _ in range(ROUNDS):
            await ev.wait()
            ev.clear()
            nxt.set()
        if i == TASKS - 1:
            t[1] = time.ticks_us()

    async def main():
        evs = [asyncio.Event() for _ in range(TASKS)]
        tasks = [asyncio.create_task(worker(evs, i)) for i in range(TASKS)]
        await asyncio.sleep(0)    # each runs to its first wait
        gc.collect()
        t[0] = time.ticks_us()
        evs[0].set()
        await tasks[-1]           # one wait, no polling: main is not scheduled meanwhile

    asyncio.run(main())
    return time.ticks_diff(t[1], t[0]) / (TASKS * ROUNDS)


def mk_task_bytes():
    s = Scheduler()
    ev = Event(s)

    def waiter():
        yield ev.wait()

    gc.collect()
    before = gc.mem_alloc()
    for _ in range(SUSPENDED):
        s.spawn(waiter())
    s.run_once()                  # each runs to its wait
    gc.collect()
    after = gc.mem_alloc()
    ev.set()
    s.run()
    return (after - before) / SUSPENDED


def as_task_bytes():
    out = [0]

    async def waiter(ev):
        await ev.wait()

    async def main():
        ev = asyncio.Event()
        gc.collect()
        before = gc.mem_alloc()
        for _ in range(SUSPENDED):
            asyncio.create_task(waiter(ev))
        await asyncio.sleep(0)    # each runs to its wait
        gc.collect()
        out[0] = (gc.mem_alloc() - before) / SUSPENDED
        ev.set()
        await asyncio.sleep(0)

    asyncio.run(main())
    return out[0]


for rep in range(REPS):
    # alternate, so that drift on a shared machine touches both alike
    print('switch_us modemkit %.4f' % mk_switch())
    print('switch_us asyncio %.4f' % as_switch())
for rep in range(REPS):
    print('task_bytes modemkit %.1f' % mk_task_bytes())
    print('task_bytes asyncio %.1f' % as_task_bytes())
print('done')
