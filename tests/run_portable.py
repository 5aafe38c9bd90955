"""Run the portable test modules (tests/core/test_*.py) on interpreters without pytest.

    micropython -X heapsize=64K tests/run_portable.py [--root DIR] [test_module ...]
    python tests/run_portable.py [--root DIR] --import FOLDER MODULE

--root names the tree holding lib/ and tests/core/ (default: this checkout); `make test` points it
at build/mpy, where mpy-cross has compiled both, as a device would run them. Each module's
functions named test_* run in order; a test passes if it returns, fails if it raises, and is
skipped if it raises mktest.SkipTest. With --import, the one test is loading MODULE as `import`
does, from its source file: from FOLDER of the tree with lib/ behind it, or from an absolute
FOLDER alone (a Telit bundle's flat files, as the module loads them). The last line is the
summary 'N passed, N failed, N skipped'; the exit status is 1 if anything failed.
"""
import sys
import os

import gc

ROOT = __file__.rsplit('/', 2)[0] if '/' in __file__ else '..'
if ROOT == 'tests':
    ROOT = '.'
ARGS = sys.argv[1:]
if ARGS[:1] == ['--root']:
    ROOT = ARGS[1]
    ARGS = ARGS[2:]
# an absolute --import folder is a Telit bundle's flat directory: it alone, as on the module
if not (ARGS[:1] == ['--import'] and len(ARGS) > 1 and ARGS[1].startswith('/')):
    sys.path.insert(0, ROOT + '/lib')
    sys.path.insert(0, ROOT + '/tests/core')


def load(folder, name):
    sys.path.insert(0, folder if folder.startswith('/') else ROOT + '/' + folder)
    try:
        __import__(name)
    except Exception as e:
        print('FAIL import %s from %s/' % (name, folder))
        if hasattr(sys, 'print_exception'):
            sys.print_exception(e)
        else:
            import traceback
            traceback.print_exc()
        print('0 passed, 1 failed, 0 skipped')
        return 1
    print('ok   import %s from %s/' % (name, folder))
    print('1 passed, 0 failed, 0 skipped')
    return 0


def modules(argv):
    if argv:
        return [a.split('/')[-1].split('.')[0] for a in argv]
    names = []
    for n in os.listdir(ROOT + '/tests/core'):
        base, _, ext = n.partition('.')
        if base.startswith('test_') and ext in ('py', 'mpy') and base not in names:
            names.append(base)
    names.sort()
    return names


def main(argv):
    import mktest
    passed = failed = skipped = 0
    for name in modules(argv):
        mod = __import__(name)
        tests = [k for k in dir(mod) if k.startswith('test_')]
        tests.sort()
        for k in tests:
            fn = getattr(mod, k)
            label = name + '.' + k
            gc.collect()
            try:
                fn()
            except mktest.SkipTest as e:
                skipped += 1
                print('SKIP %s - %s' % (label, e.args[0] if e.args else ''))
                continue
            except Exception as e:
                failed += 1
                print('FAIL %s' % label)
                if hasattr(sys, 'print_exception'):
                    sys.print_exception(e)
                else:
                    print(repr(e))
                continue
            passed += 1
            print('ok   %s' % label)
    print('%d passed, %d failed, %d skipped' % (passed, failed, skipped))
    return failed


if ARGS[:1] == ['--import']:
    sys.exit(load(ARGS[1], ARGS[2]))
sys.exit(1 if main(ARGS) else 0)
