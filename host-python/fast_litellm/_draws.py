"""Python's random draws as litellm's selectors make them, made cheaper.

litellm draws from the module-level generator (`random.sample`, `random.choice`,
`random.choices`); a selection served by fast-litellm must take the same draws from the
same generator, so that a seeded program picks what it picks without us and the draws
after a selection are the ones stock would leave. `random.sample(population, n)` of a
whole population (what latency-based routing shuffles with) is n `_randbelow` draws over
a shrinking pool, `random.choice` one; `sample_order` and `choice_index` take the same
draws without the method calls, and are used only once `check()` has found them equal to
this Python's `random.sample` and `random.choice` (checked on first use, not at import: it
takes a few milliseconds).
"""

from __future__ import annotations

import random

_random = random._inst  # the generator the module-level functions draw from
_exact: bool | None = None  # sample_order checked equal to random.sample on this Python (None: not yet)


def check() -> bool:
    """Whether sample_order takes random.sample's draws on this Python (its algorithm is
    CPython's, not a language rule): compared on fresh generators of the module's type."""
    global _exact
    kind = type(_random)
    try:
        if kind is not random.Random:
            _exact = False
            return _exact
        for seed in range(3):
            for n in range(40):
                theirs, ours = kind(seed), kind(seed)
                if theirs.sample(range(n), n) != _order(n, ours.getrandbits) or theirs.random() != ours.random():
                    _exact = False
                    return _exact
                if n and (theirs.choice(range(n)) != _below(n, ours.getrandbits) or theirs.random() != ours.random()):
                    _exact = False
                    return _exact
        _exact = True
    except Exception:
        _exact = False
    return _exact


def sample_order(n: int) -> list[int]:
    """The positions `random.sample(population, n)` takes from a population of n, in
    order, drawn from the module's generator."""
    if _exact is None:
        check()
    if _exact:
        return _order(n, _random.getrandbits)
    return _random.sample(range(n), n)


def sample_draws(n: int) -> None:
    """The draws of `random.sample(population, n)` from a population of n, where which
    positions they take does not matter (the generator must still move as stock moves it)."""
    if _exact is None:
        check()
    if not _exact:
        _random.sample(range(n), n)
        return
    getrandbits = _random.getrandbits
    bits = _BITS if n < len(_BITS) else [m.bit_length() for m in range(n + 1)]
    for m in range(n, 0, -1):
        k = bits[m]
        while getrandbits(k) >= m:
            pass


_BITS = [m.bit_length() for m in range(256)]  # m.bit_length(), looked up for the common pool sizes


def choice_index(n: int) -> int:
    """The position `random.choice(seq)` takes from a sequence of n > 0, drawn from the
    module's generator."""
    if _exact is None:
        check()
    if _exact:
        return _below(n, _random.getrandbits)
    return _random.choice(range(n))


def _below(n: int, getrandbits) -> int:
    # _randbelow_with_getrandbits, what choice() draws with
    k = n.bit_length()
    j = getrandbits(k)
    while j >= n:
        j = getrandbits(k)
    return j


def _order(n: int, getrandbits) -> list[int]:
    # random.sample's pool algorithm (a whole population always takes it), with
    # _randbelow_with_getrandbits inline
    pool, order = list(range(n)), []
    for i in range(n):
        m = n - i
        k = m.bit_length()
        j = getrandbits(k)
        while j >= m:
            j = getrandbits(k)
        order.append(pool[j])
        pool[j] = pool[m - 1]
    return order
