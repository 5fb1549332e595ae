"""The network tests' name for the shared command double."""

from tests.helpers.commands import FakeRun

__all__ = ["FakeRun"]
