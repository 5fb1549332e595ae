"""Typed exceptions of the compute drivers; modules catch ``ComputeError`` in ``main()``."""

from __future__ import annotations

from ansible_collections.stratus.cloud.plugins.module_utils.common import command


class ComputeError(Exception):
    """Base of every error raised by the compute drivers."""


class InvalidInput(ComputeError, ValueError):
    """An argument is malformed or impossible (bad MAC, RAM beyond the host, ...)."""


class NotFound(ComputeError):
    """An object the request relies on does not exist (a base image, a domain)."""


class ImageNotFound(NotFound):
    """The base image is not in the host's image cache."""


class Conflict(ComputeError):
    """The request clashes with the host's state (a foreign domain of that name,
    an image still used by instance disks, a shrinking disk)."""


class ChecksumMismatch(ComputeError):
    """A downloaded or copied image does not have the expected checksum."""


class LibvirtError(ComputeError):
    """A libvirt call failed; carries the operation, the domain and libvirt's message."""

    def __init__(self, operation: str, name: str, message: str):
        self.operation = operation
        self.name = name
        self.message = message
        super().__init__(f"libvirt {operation} of {name!r} failed: {message}")


class CommandFailed(command.CommandFailed, ComputeError):
    """A command exited non-zero. Carries its argv, exit code and stderr (the shared
    ``common.command.CommandFailed``, so callers may catch either)."""


class UnsafeImage(InvalidInput):
    """An image a user supplied that must not reach qemu: a backing file, an external
    data file, a format other than the declared one or one this cloud does not take."""


class ImageTooLarge(InvalidInput):
    """An image source larger than the configured ``max_size``."""


class ActionTimeout(ComputeError):
    """A libvirt job (block copy, shutdown) did not finish in time."""


class UploadFailed(ComputeError):
    """The image service did not take an uploaded image (its HTTP status and message)."""
