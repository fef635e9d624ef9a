"""The few operations the rules use that read the same on ints and on symbolic values.

The rules (:mod:`mmspec.kernel`, ``models/``) are plain Python. The symbolic engines run
the same code with symbolic state leaves, where every Python ``if`` on a leaf is a branch
to explore (:mod:`mmspec.engine.tracer`). A scan such as "the first pageblock whose
migratetype matches and that has a free page" written as a loop with ``or`` and
``continue`` branches once per pageblock and per operand; written with these helpers it is
one expression. On ints they are the obvious Python.

A symbolic value provides the same operations as methods of its class (``first_true``,
``any_``), so this module does not depend on any engine.
"""

from __future__ import annotations

import contextlib
from itertools import compress, count
from typing import Iterable

__all__ = ["first_true", "any_", "all_", "select"]

_PLAIN = (bool, int)


#: > 0 while a tracer runs the rules on symbolic values (see :func:`tracing`)
_TRACING = [0]


@contextlib.contextmanager
def tracing():
    """While a tracer runs the rules with symbolic values: the scans below then look at
    each condition's type; otherwise they run at the speed of the ints they get."""
    _TRACING[0] += 1
    try:
        yield
    finally:
        _TRACING[0] -= 1


def first_true(conds: Iterable) -> int:
    """The index of the first true condition, or -1 (a first-match scan). ``conds`` may be
    a generator: on ints it is consumed only up to the first true condition."""
    if not _TRACING[0]:
        return next(compress(count(), conds), -1)
    it = iter(conds)
    i = 0
    for c in it:
        if c is False:              # the common case on ints, tested first
            i += 1
            continue
        if c is True:
            return i
        if type(c) in _PLAIN:
            if c:
                return i
            i += 1
            continue
        return type(c).first_true([c, *it], i)
    return -1


def any_(xs: Iterable):
    """Whether any of ``xs`` is true (without branching on each); ``xs`` may be a generator."""
    if not _TRACING[0]:
        return any(xs)
    xs = list(xs)
    for i, x in enumerate(xs):
        if type(x) in _PLAIN:
            if x:
                return True
            continue
        return type(x).any_(xs[i:])
    return False


def all_(xs: Iterable):
    """Whether all of ``xs`` are true (without branching on each); ``xs`` may be a generator."""
    if not _TRACING[0]:
        return all(xs)
    xs = list(xs)
    for i, x in enumerate(xs):
        if type(x) in _PLAIN:
            if not x:
                return False
            continue
        return type(x).all_(xs[i:])
    return True


def select(cond, if_true, if_false):
    """``if_true if cond else if_false``, without branching when ``cond`` is symbolic (a
    value chosen by a condition, e.g. a counter that grows by 1 only for full pageblocks)."""
    if type(cond) in _PLAIN:
        return if_true if cond else if_false
    return type(cond).select(cond, if_true, if_false)
