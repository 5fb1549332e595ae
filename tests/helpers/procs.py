"""Processes as the tests see them."""

from __future__ import annotations


def alive(pid: int) -> bool:
    """Running: not gone and not a zombie (a killed daemon's parent, init or the test
    process that started it, may reap it late)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False
