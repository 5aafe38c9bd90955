# modemkit's scheduler against MicroPython's own asyncio, in one process:
#     micropython -X heapsize=1M -m bench_sched TASKS ROUNDS SUSPENDED REPS
# switch: TASKS tasks each giving way ROUNDS times (`yield` / `await asyncio.sleep(0)`), timed
# with time.ticks_us from the first task's creation to the last one's end, per switch;
# task: heap bytes per suspended task, SUSPENDED tasks each waiting on one event (one-frame
# generator / coroutine), gc.mem_alloc() after a collection, before and after.
# Prints 'switch_us <sched> <value>' and 'task_bytes <sched> <value>' per repetition, 'done'.
import gc
import sys
import time

import asyncio
from modemkit.sched import Scheduler, Event

TASKS, ROUNDS, SUSPENDED, REPS = [int(a) for a in sys.argv[1:5]]


def mk_worker(n):
    for _ in range(n):
        yield


def mk_switch():
    s = Scheduler()
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(TASKS):
        s.spawn(mk_worker(ROUNDS))
    s.run()
    return time.ticks_diff(time.ticks_us(), t0) / (TASKS * ROUNDS)


def as_switch():
    done = [0]

    async def worker(n):
        for _ in range(n):
            await asyncio.sleep(0)
        done[0] += 1

    async def main():
        for _ in range(TASKS):
            asyncio.create_task(worker(ROUNDS))
        while done[0] < TASKS:
            await asyncio.sleep(0)

    gc.collect()
    t0 = time.ticks_us()
    asyncio.run(main())
    return time.ticks_diff(time.ticks_us(), t0) / (TASKS * ROUNDS)


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
