"""The store interface: where an image's bytes are kept (Glance's ``glance_store``).

A store keeps whole images under a key of its own and names each by a URL (the
``image_locations.url`` of the image). Contracts every store keeps:

- ``add`` / ``add_file`` write the complete image or nothing: a failed write leaves no
  partial object behind;
- ``open(url, start, length)`` yields the bytes in chunks (never the whole image at once);
- ``delete`` of an object that is already gone succeeds (returns False), so removing an
  image whose data was lost never fails;
- ``scratch_dir()`` is a local directory on the same filesystem as the store when it has
  one, where a receive writes its temporary file so that ``add_file`` is a rename.
"""

from __future__ import annotations

import os
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from pathlib import Path

CHUNK = 1 << 20


class StoreError(Exception):
    """A store could not keep, read or delete an object (the message names which)."""


class Store(ABC):
    kind: str = ""

    def __init__(self, name: str, description: str = "") -> None:
        self.name = name
        self.description = description or f"{self.kind} store {name}"

    @abstractmethod
    def add(self, image_id: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        """Keep the bytes of ``chunks`` as ``image_id``; (url, size)."""

    def add_file(self, image_id: str, path: Path) -> tuple[str, int]:
        """Keep the local file ``path`` as ``image_id`` (the file is consumed)."""
        try:
            return self.add(image_id, read_chunks(path))
        finally:
            path.unlink(missing_ok=True)

    @abstractmethod
    def open(self, url: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        """The bytes of ``url`` from ``start``, ``length`` of them (all when None)."""

    @abstractmethod
    def delete(self, url: str) -> bool:
        """Remove ``url``; False when it was already gone."""

    def holds(self, url: str) -> bool:
        """Whether ``url`` names an object of this store."""
        return False

    @abstractmethod
    def scratch_dir(self) -> Path:
        """A private local directory for temporary files of this store's receives."""

    def info(self, default: bool) -> dict:
        """The entry of ``GET /v2/info/stores``."""
        out = {"id": self.name, "description": self.description}
        if default:
            out["default"] = "true"  # Glance sends the string
        return out


def read_chunks(path: Path, start: int = 0, length: int | None = None,
                chunk: int = CHUNK) -> Iterator[bytes]:
    """``length`` bytes of ``path`` from ``start`` (to the end when None), in chunks. The
    file is opened now, so a missing file fails here and not in the middle of a response."""
    return _chunks(open(path, "rb"), start, length, chunk)  # noqa: SIM115 - closed by _chunks


def _chunks(f, start: int, length: int | None, chunk: int) -> Iterator[bytes]:
    with f:
        f.seek(start)
        left = length
        while left is None or left > 0:
            data = f.read(chunk if left is None else min(chunk, left))
            if not data:
                return
            if left is not None:
                left -= len(data)
            yield data


def private_dir(path: Path) -> Path:
    """``path`` made (0700, parents as needed) and returned."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.chmod(path, 0o700)
    return path
