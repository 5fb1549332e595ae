"""An API microversion (``2.53``): parsed, compared with versions and ``(2, 53)``
tuples. A plain value shared by the API (which reads it from the request) and the
services (whose answers change with it)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_VERSION = re.compile(r"^([1-9]\d*)\.(0|[1-9]\d*)$")


@total_ordering
@dataclass(frozen=True)
class APIVersion:
    major: int
    minor: int

    @classmethod
    def parse(cls, text: str) -> APIVersion:
        m = _VERSION.match(text.strip())
        if not m:
            raise ValueError(text)
        return cls(int(m.group(1)), int(m.group(2)))

    def _key(self, other) -> tuple[int, int]:
        if isinstance(other, APIVersion):
            return other.major, other.minor
        if isinstance(other, tuple):
            return other
        if isinstance(other, str):
            v = APIVersion.parse(other)
            return v.major, v.minor
        return NotImplemented

    def __eq__(self, other) -> bool:
        key = self._key(other)
        return key is not NotImplemented and (self.major, self.minor) == key

    def __lt__(self, other) -> bool:
        return (self.major, self.minor) < self._key(other)

    def __hash__(self) -> int:
        return hash((self.major, self.minor))

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"
