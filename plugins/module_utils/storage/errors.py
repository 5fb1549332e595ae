"""Typed exceptions of the block-storage drivers; only a module's main() turns them into fail_json."""

from __future__ import annotations


class StorageError(Exception):
    """Base of every block-storage driver error; ``str()`` is a sentence for a person."""


class CommandFailed(StorageError):
    """An external tool exited non-zero."""

    def __init__(self, argv: list[str], rc: int, stderr: str) -> None:
        self.argv = list(argv)
        self.rc = rc
        self.stderr = stderr.strip()
        super().__init__(f"{' '.join(self.argv)} failed with rc={rc}: {self.stderr}")


class NotFound(StorageError):
    """A volume, snapshot, volume group or domain does not exist."""


class InUse(StorageError):
    """The object is attached, exported or has dependants, and the request needs it free."""


class InvalidRequest(StorageError):
    """The request cannot be honoured as given (a shrinking size, a bad name, ...)."""


class NoSpace(StorageError):
    """The backend has not enough free space."""


class Unsupported(StorageError):
    """The backend cannot do this on this host (e.g. LVM snapshots without device-mapper)."""
