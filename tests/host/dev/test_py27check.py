"""The Python 2.7 check rejects what Telit's Python 2.7 would reject or run differently."""
import pytest

from mktools.checks.py27 import check_source

BAD = {
    'f-string': "x = f'{y}'\n",
    'nonlocal': "def f():\n    x = 1\n    def g():\n        nonlocal x\n",
    'keyword-only': "def f(a, *, b):\n    pass\n",
    'keyword-only after *args': "def f(a, *args, b):\n    pass\n",
    'annotation': "def f(a: int):\n    pass\n",
    'return annotation': "def f(a) -> int:\n    pass\n",
    'yield from': "def f():\n    yield from g()\n",
    'async': "async def f():\n    pass\n",
    'await': "def f():\n    await g()\n",
    'walrus': "if (n := 3):\n    pass\n",
    'starred assignment': "a, *b = [1, 2]\n",
    'raise from': "raise ValueError() from None\n",
    'digit separator': "x = 1_000\n",
    'print end=': "print('x', end='')\n",
    'print several': "print('a', 1)\n",
    'return value in generator': "def f():\n    yield 1\n    return 5\n",
    'index bytes literal': "c = b'abc'[0]\n",
    'index bytes name': "b = b'abc'\nc = b[1]\n",
    'index memoryview': "m = memoryview(buf)\nc = m[0]\n",
}

GOOD = {
    'plain generator return': "def f():\n    yield 1\n    return\n",
    'return None in generator': "def f():\n    yield 1\n    return None\n",
    'return in nested non-generator': "def f():\n    def g():\n        return 3\n    yield g()\n",
    'print one': "print('a %d' % 1)\n",
    'slice bytes': "b = b'abc'\nc = b[1:2]\n",
    'index bytearray': "b = bytearray(b'abc')\nc = b[1]\n",
    'varargs and kwargs': "def f(a, *args, **kw):\n    pass\n",
    'bytes literal': "x = b'\\r\\n'\n",
    'except as': "try:\n    pass\nexcept ValueError as e:\n    pass\n",
    'class object': "class A(object):\n    pass\n",
}


@pytest.mark.parametrize('name', sorted(BAD))
def test_rejects(name):
    assert check_source(BAD[name], name), name


@pytest.mark.parametrize('name', sorted(GOOD))
def test_accepts(name):
    assert check_source(GOOD[name], name) == []


def test_non_ascii_is_refused_with_its_line():
    problems = check_source("x = 1\n# T-RUN \u00a73.9\n", 'lib/modemkit/x.py')
    assert problems and problems[0].startswith('lib/modemkit/x.py:2: non-ASCII'), problems
