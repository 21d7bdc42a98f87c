"""The outbox retry policy (capped exponential back-off, dead letter after N attempts), pure."""

from __future__ import annotations

from datetime import timedelta

import pytest

from backend.domain.outbox import RetryPolicy

MIN = timedelta(minutes=1)


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (4, 8), (5, 16), (6, 30), (7, 30),
                                                    (60, 30), (10_000, 30)])
def test_delay_doubles_up_to_the_cap(attempts, minutes):
    policy = RetryPolicy(first_delay=MIN, factor=2, max_delay=30 * MIN)
    assert policy.delay(attempts) == minutes * MIN


def test_default_policy_is_a_minute_doubling_to_six_hours_ten_tries():
    policy = RetryPolicy()
    assert [policy.delay(n) for n in (1, 2, 9, 10)] == [MIN, 2 * MIN, 256 * MIN, 6 * 60 * MIN]
    assert not policy.exhausted(9)
    assert policy.exhausted(10)


def test_factor_one_is_a_fixed_delay():
    assert {RetryPolicy(first_delay=5 * MIN, factor=1).delay(n) for n in range(1, 20)} == {5 * MIN}


@pytest.mark.parametrize("kw", [{"max_attempts": 0}, {"factor": 0.5}, {"first_delay": timedelta(0)}])
def test_nonsense_policies_are_refused(kw):
    with pytest.raises(ValueError, match="RetryPolicy"):
        RetryPolicy(**kw)
