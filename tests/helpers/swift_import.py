"""Importing Swift's own modules (rings, middlewares) into a test or bench process.

Swift imports eventlet, which imports pyOpenSSL when it can, for its exception names
only. Debian's python3-openssl 23.0, seen through the venv's system site packages, fails
against the venv's newer cryptography with an AttributeError instead of the ImportError
eventlet expects, so ``import swift.common.utils`` fails. Until the venv has its own
pyOpenSSL (requirements.txt), :func:`without_broken_pyopenssl` makes that pyOpenSSL
absent in this process: nothing here can use it anyway.
"""

from __future__ import annotations

import sys


def without_broken_pyopenssl() -> None:
    """Make ``from OpenSSL import SSL`` an ImportError if importing it is broken."""
    try:
        import OpenSSL.SSL  # noqa: F401
    except AttributeError:
        sys.modules["OpenSSL"] = None
