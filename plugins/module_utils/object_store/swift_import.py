"""Importing OpenStack Swift without changing the standard library under the importer.

Swift imports eventlet, whose green modules re-execute ``http.server``, ``http.client``
and ``urllib.request`` with eventlet's sockets (``patcher.inject``). eventlet puts the
original modules back in ``sys.modules`` but leaves the green copies as attributes of
their packages, so ``http.server.ThreadingHTTPServer`` looked up afterwards is a green
server whose threads never run outside eventlet's hub, and a module imported for the
first time during the import (``http.client``) keeps eventlet's socket. A test run or
any other process that uses Swift's libraries in-process then hangs in the hub.
"""

from __future__ import annotations

import contextlib
import http.client  # noqa: F401  pylint: disable=unused-import
import http.server  # noqa: F401  pylint: disable=unused-import
import sys
import urllib.request  # noqa: F401  pylint: disable=unused-import


@contextlib.contextmanager
def standard_library_kept():
    """Run an import of Swift; afterwards every module that was loaded before is again
    the attribute of its package (the modules eventlet patches are loaded first)."""
    before = dict(sys.modules)
    try:
        yield
    finally:
        for name, module in before.items():
            parent, _, leaf = name.rpartition(".")
            package = sys.modules.get(parent) if parent else None
            if package is not None and sys.modules.get(name) is module and getattr(package, leaf, module) is not module:
                setattr(package, leaf, module)
