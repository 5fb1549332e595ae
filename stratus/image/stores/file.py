"""The file store: each image one file named by its id in a directory of the controller
(Glance's ``filesystem`` store). URLs are ``file:///<dir>/<image id>``."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import unquote, urlparse

from stratus.image.stores.base import Store, StoreError, private_dir, read_chunks


class FileStore(Store):
    kind = "file"

    def __init__(self, name: str, path: str | Path, description: str = "") -> None:
        super().__init__(name, description or f"Images in {path} on the controller")
        self.path = Path(path)

    @classmethod
    def for_url(cls, url: str) -> FileStore:
        """The file store holding ``url`` (to delete data whose store left the settings)."""
        return cls("file", _path_of(url).parent)

    def holds(self, url: str) -> bool:
        return url.startswith(self.path.as_uri() + "/")

    def scratch_dir(self) -> Path:
        return private_dir(self.path)

    def url(self, image_id: str) -> str:
        return (self.path / image_id).as_uri()

    def _file(self, url: str) -> Path:
        path = _path_of(url)
        if path.parent != self.path:
            raise StoreError(f"{url} is not in file store {self.name} ({self.path})")
        return path

    def add(self, image_id: str, chunks: Iterable[bytes]) -> tuple[str, int]:
        fd, tmp = tempfile.mkstemp(dir=self.scratch_dir(), prefix=f".{image_id}.", suffix=".part")
        try:
            size = 0
            with os.fdopen(fd, "wb") as f:
                for data in chunks:
                    f.write(data)
                    size += len(data)
            return self.add_file(image_id, Path(tmp))[0], size
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)

    def add_file(self, image_id: str, path: Path) -> tuple[str, int]:
        dest = self.scratch_dir() / image_id
        try:
            os.replace(path, dest)  # same filesystem when path came from scratch_dir()
        except OSError:  # another filesystem: copied in, then the source dropped
            return super().add_file(image_id, path)
        os.chmod(dest, 0o600)
        return dest.as_uri(), dest.stat().st_size

    def open(self, url: str, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        path = self._file(url)
        if not path.is_file():
            raise StoreError(f"the data of {url} is missing from file store {self.name}")
        return read_chunks(path, start, length)

    def size(self, url: str) -> int:
        return self._file(url).stat().st_size

    def delete(self, url: str) -> bool:
        try:
            self._file(url).unlink()
        except FileNotFoundError:
            return False
        return True


def _path_of(url: str) -> Path:
    u = urlparse(url)
    if u.scheme != "file" or u.netloc not in ("", "localhost"):
        raise StoreError(f"{url} is not a file store URL (file:///path)")
    return Path(unquote(u.path))
