"""fast_litellm._draws: the shuffle and the pick latency-based routing takes, drawn as
random.sample and random.choice draw them, from the same generator."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from fast_litellm import _draws


def test_the_inline_shuffle_is_checked_exact_on_this_python():
    assert _draws.check() is True


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**64), n=st.integers(0, 300))
def test_sample_order_and_sample_draws_take_random_samples_draws(seed, n):
    """From the module generator: the positions random.sample takes, and the generator left
    where it leaves it (sample_draws: only the latter)."""
    state = random.getstate()
    try:
        population = [f"dep-{i}" for i in range(n)]
        random.seed(seed)
        expected = random.sample(population, n)
        expected_state = random.getstate()
        random.seed(seed)
        order = _draws.sample_order(n)
        assert [population[i] for i in order] == expected
        assert random.getstate() == expected_state
        random.seed(seed)
        _draws.sample_draws(n)
        assert random.getstate() == expected_state
    finally:
        random.setstate(state)


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**64), n=st.integers(1, 3000))
def test_choice_index_takes_random_choices_draw(seed, n):
    state = random.getstate()
    try:
        population = [f"dep-{i}" for i in range(n)]
        random.seed(seed)
        expected = random.choice(population)
        expected_state = random.getstate()
        random.seed(seed)
        assert population[_draws.choice_index(n)] == expected
        assert random.getstate() == expected_state
    finally:
        random.setstate(state)


def test_a_generator_of_another_type_is_left_to_random_sample(monkeypatch):
    class Other(random.Random):
        def random(self):  # a subclass's draws need not be getrandbits'
            return 0.5

    monkeypatch.setattr(_draws, "_random", Other(1))
    try:
        assert _draws.check() is False
        assert _draws.sample_order(5) == Other(1).sample(range(5), 5)
        _draws._random.seed(2)
        theirs = Other(2)
        assert [_draws.choice_index(7) for _ in range(20)] == [theirs.choice(range(7)) for _ in range(20)]
        expected = Other(1)
        expected.sample(range(5), 5)
        _draws._random.seed(1)
        _draws.sample_draws(5)
        assert _draws._random.getstate() == expected.getstate()
    finally:
        monkeypatch.undo()
        assert _draws.check() is True

