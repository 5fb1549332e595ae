"""Logins through the live API: timing does not tell which users exist, and repeated
failures lock a user+source pair out (stratus/identity/auth.py, throttle.py).

Both controllers hash at bcrypt cost 10, so a password check (tens of ms) stands well
above a request's own cost and a missing check shows in the timings.
"""

from __future__ import annotations

import statistics
import time
import uuid

import httpx
import pytest

pytestmark = [pytest.mark.identity, pytest.mark.api]

V3 = "/identity/v3"
TRIES = 5


def _login(client: httpx.Client, user: dict, password: str) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["password"],
                                  "password": {"user": {**user, "password": password}}}}}
    return client.post(f"{V3}/auth/tokens", json=body)


def _by_name(creds, domain: str = "default") -> dict:
    return {"name": creds.username, "domain": {"id": domain}}


def _median_401(client: httpx.Client, users: list[dict], password: str) -> float:
    times = []
    for user in users:
        t0 = time.perf_counter()
        r = _login(client, user, password)
        times.append(time.perf_counter() - t0)
        assert r.status_code == 401, r.text
    return statistics.median(times)


def test_unknown_user_costs_as_much_as_a_wrong_password(controller_factory):
    c = controller_factory(bcrypt_rounds=10, auth_max_failures=1000)
    known = c.new_project_user()
    disabled = c.new_project_user()
    r = c.request("PATCH", f"{V3}/users/{disabled.user_id}", json={"user": {"enabled": False}})
    assert r.status_code == 200, r.text
    r = c.request("POST", f"{V3}/users", json={"user": {"name": "nopw-" + uuid.uuid4().hex[:8]}})
    assert r.status_code == 201, r.text
    no_password = {"id": r.json()["user"]["id"]}
    _login(c.http, {"name": "warm-up", "domain": {"id": "default"}}, "x")  # makes the dummy hash

    wrong_password = _median_401(c.http, [_by_name(known)] * TRIES, "not-the-password")
    unknown = [{"name": f"nobody-{i}", "domain": {"id": "default"}} for i in range(TRIES)]
    medians = {
        "unknown user": _median_401(c.http, unknown, "x"),
        "unknown domain": _median_401(c.http, [_by_name(known, "no-such-domain")] * TRIES, "x"),
        "unknown user id": _median_401(c.http, [{"id": uuid.uuid4().hex}] * TRIES, "x"),
        "disabled user": _median_401(c.http, [_by_name(disabled)] * TRIES, disabled.password),
        "user without password": _median_401(c.http, [no_password] * TRIES, "x"),
    }
    for case, median in medians.items():
        assert median >= 0.5 * wrong_password, (
            f"{case}: {median * 1000:.1f} ms against {wrong_password * 1000:.1f} ms for a wrong "
            "password; the login skipped the password check"
        )


def test_repeated_failures_lock_the_user_and_source_out(controller_factory):
    c = controller_factory(bcrypt_rounds=10, auth_max_failures=3, auth_failure_window=4)
    a, b = c.new_project_user(), c.new_project_user()
    other_source = httpx.Client(
        base_url=c.url, timeout=30, transport=httpx.HTTPTransport(local_address="127.0.0.2")
    )
    try:
        t0 = time.perf_counter()
        for _ in range(3):
            r = _login(c.http, _by_name(a), "wrong")
            assert r.status_code == 401
            assert "Too many" not in r.json()["error"]["message"]
        wrong_password = (time.perf_counter() - t0) / 3

        # locked: the right password is refused too, and without a password check
        t0 = time.perf_counter()
        r = _login(c.http, _by_name(a), a.password)
        locked_time = time.perf_counter() - t0
        assert r.status_code == 401
        msg = r.json()["error"]["message"]
        assert "Too many failed logins for this user from 127.0.0.1" in msg, msg
        wait = int(r.headers["Retry-After"])
        assert 1 <= wait <= 4
        assert locked_time < 0.5 * wrong_password, (locked_time, wrong_password)
        # by id too: the pair is the user, however it is named
        assert _login(c.http, {"id": a.user_id}, a.password).status_code == 401

        # another source, and another user from the same source, are not locked
        assert _login(other_source, _by_name(a), a.password).status_code == 201
        assert _login(c.http, _by_name(b), b.password).status_code == 201

        # the lock ends with the window
        time.sleep(wait + 0.2)
        assert _login(c.http, _by_name(a), a.password).status_code == 201

        # a success resets the count: 2 failures, a success, 2 failures leave it open
        for _ in range(2):
            assert _login(c.http, _by_name(a), "wrong").status_code == 401
        assert _login(c.http, _by_name(a), a.password).status_code == 201
        for _ in range(2):
            assert _login(c.http, _by_name(a), "wrong").status_code == 401
        assert _login(c.http, _by_name(a), a.password).status_code == 201

        # unknown users lock out like real ones, so a lock tells nothing about existence
        ghost = {"name": "ghost-" + uuid.uuid4().hex[:8], "domain": {"id": "default"}}
        for _ in range(3):
            assert "Too many" not in _login(c.http, ghost, "x").json()["error"]["message"]
        assert "Too many" in _login(c.http, ghost, "x").json()["error"]["message"]
    finally:
        other_source.close()
