"""Typed exceptions of the block-storage drivers; only a module's main() turns them into fail_json."""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.common import command


class StorageError(Exception):
    """Base of every block-storage driver error; ``str()`` is a sentence for a person."""


class CommandFailed(command.CommandFailed, StorageError):
    """An external tool exited non-zero (the shared ``common.command.CommandFailed``:
    argv, rc, stderr, stdout), so callers may catch either."""


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
