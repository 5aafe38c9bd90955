# The telemetry app (apps/telemetry, from .mpy) as shipped, for COUNT samples:
#     micropython -X heapsize=N -m bench_telemetry BOARD.json COUNT [probe]
# then 'modules <every module loaded>' and 'done'. With 'probe' it also prints the heap in use
# after a collection once everything is imported ('heap imports N') and once the app has sent
# its last sample, with every object it made still alive ('heap live N').
import gc
import sys

import main

PROBE = sys.argv[3:] == ['probe']
if PROBE:
    from modemkit import board
    from modemkit.sched import Return
    import telemetry

    # the dialect driver is imported when the board is opened: import it first, to count it
    __import__(board.DIALECTS[board.load(sys.argv[1])['dialect']][0])
    gc.collect()
    print('heap imports %d' % gc.mem_alloc())
    app_run = telemetry.Telemetry.run

    def run(self):
        sent = yield app_run(self)
        gc.collect()
        print('heap live %d' % gc.mem_alloc())
        raise Return(sent)

    telemetry.Telemetry.run = run

main.main(sys.argv[1], int(sys.argv[2]))
print('modules ' + ' '.join(sorted(sys.modules)))
print('done')
