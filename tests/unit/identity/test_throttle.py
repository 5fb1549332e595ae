"""LoginThrottle's counting with a fake clock, and the dummy hash's cost."""

from __future__ import annotations

import pytest

from stratus.identity.passwords import check_password_or_dummy, dummy_hash, hash_password
from stratus.identity.throttle import LoginThrottle

pytestmark = pytest.mark.identity


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_failures_within_the_window_lock_the_pair_for_the_window():
    clock = Clock()
    t = LoginThrottle(3, 60, clock=clock)
    for _ in range(2):
        t.failed("id:u", "10.0.0.1")
    assert t.locked_for("id:u", "10.0.0.1") == 0
    t.failed("id:u", "10.0.0.1")
    assert t.locked_for("id:u", "10.0.0.1") == 60
    assert t.locked_for("id:u", "10.0.0.2") == 0
    assert t.locked_for("id:v", "10.0.0.1") == 0
    clock.now += 59.5
    assert t.locked_for("id:u", "10.0.0.1") == 1
    clock.now += 1
    assert t.locked_for("id:u", "10.0.0.1") == 0
    t.failed("id:u", "10.0.0.1")  # a fresh count after the lock
    assert t.locked_for("id:u", "10.0.0.1") == 0


def test_failures_older_than_the_window_do_not_count_and_success_resets():
    clock = Clock()
    t = LoginThrottle(3, 60, clock=clock)
    t.failed("k", "s")
    t.failed("k", "s")
    clock.now += 61
    t.failed("k", "s")
    assert t.locked_for("k", "s") == 0
    t.failed("k", "s")
    t.succeeded("k", "s")
    t.failed("k", "s")
    t.failed("k", "s")
    assert t.locked_for("k", "s") == 0


def test_the_table_is_bounded_and_keeps_locks_before_counts():
    clock = Clock()
    t = LoginThrottle(2, 60, clock=clock, max_keys=4)
    t.failed("locked", "s")
    t.failed("locked", "s")
    for i in range(10):
        t.failed(f"spray-{i}", "s")
    assert len(t._pairs) <= 4
    assert t.locked_for("locked", "s") == 60


def test_the_dummy_check_costs_a_hash_of_the_configured_rounds():
    assert dummy_hash(5).startswith("$2b$05$")
    assert dummy_hash(5) is dummy_hash(5)
    assert check_password_or_dummy("x", None, 5) is False
    assert check_password_or_dummy("x", "", 5) is False
    assert check_password_or_dummy("x", hash_password("x", 4), 5) is True
