"""Failed logins counted per user and source address; too many lock that pair out.

After ``max_failures`` failed password logins for one user from one source address
within ``window`` seconds, that pair is locked for ``window`` seconds: its logins are
refused (401, as keystone answers for a locked account) without checking the password,
so guessing costs the attacker the window. Another source, or another user from the
same source, is not affected, so a guesser cannot lock a user out of the whole cloud.
A successful login resets the pair's count. Keystone's per-user lockout
(``lockout_failure_attempts``, persistent in the DB, off by default) is the other guard:
see :mod:`stratus.identity.security` for how the two relate.

The counts live in this process's memory (one :class:`LoginThrottle` per app), not in
the database: a failed login answers 401, which rolls the request's transaction back,
so a DB count would need its own transaction and a write on every failure, and the
counts are worth little after a restart. With several controller processes behind one
address each counts on its own, so a guesser gets ``max_failures`` tries per process and
window. Unknown user names are counted like real ones (keyed by the name as given), so
a lock-out does not tell which users exist.

The table is bounded (``max_keys`` pairs, each kept as a 32-byte digest whatever the
length of the name sent): past the bound, pairs that are not locked are dropped first,
then the pairs counted first.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Pair:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


def _key(user_key: str, source: str) -> bytes:
    return hashlib.sha256(f"{user_key}\0{source}".encode(errors="replace")).digest()


class LoginThrottle:
    def __init__(
        self,
        max_failures: int,
        window: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_keys: int = 100_000,
    ) -> None:
        self.max_failures = max_failures
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        self._pairs: dict[bytes, _Pair] = {}
        self._lock = threading.Lock()

    def locked_for(self, user_key: str, source: str) -> int:
        """Whole seconds the pair stays locked; 0 when it is not locked."""
        now = self.clock()
        with self._lock:
            pair = self._pairs.get(_key(user_key, source))
            if pair is None or pair.locked_until <= now:
                return 0
            return max(1, math.ceil(pair.locked_until - now))

    def failed(self, user_key: str, source: str) -> None:
        """Count a failed login; the ``max_failures``-th within the window locks."""
        now = self.clock()
        with self._lock:
            key = _key(user_key, source)
            pair = self._pairs.get(key)
            if pair is None:
                self._make_room(now)
                pair = self._pairs[key] = _Pair()
            if pair.locked_until and pair.locked_until <= now:
                pair.locked_until = 0.0
            pair.failures = [t for t in pair.failures if t > now - self.window]
            pair.failures.append(now)
            if len(pair.failures) >= self.max_failures:
                pair.locked_until = now + self.window
                pair.failures.clear()

    def succeeded(self, user_key: str, source: str) -> None:
        with self._lock:
            self._pairs.pop(_key(user_key, source), None)

    def _make_room(self, now: float) -> None:
        if len(self._pairs) < self.max_keys:
            return
        for key, pair in list(self._pairs.items()):
            if pair.locked_until <= now and all(t <= now - self.window for t in pair.failures):
                del self._pairs[key]
        for key, pair in list(self._pairs.items()):
            if len(self._pairs) < self.max_keys:
                break
            if pair.locked_until <= now:
                del self._pairs[key]
        while len(self._pairs) >= self.max_keys:
            del self._pairs[next(iter(self._pairs))]
