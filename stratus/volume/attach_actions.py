"""The volume actions Nova and the legacy attach flow use: ``os-reserve``,
``os-unreserve``, ``os-begin_detaching``, ``os-roll_detaching``,
``os-initialize_connection``, ``os-terminate_connection``, ``os-attach``, ``os-detach``
(see :mod:`stratus.volume.actions` for the handler signature)."""

from __future__ import annotations

from stratus.volume.actions import Handler

HANDLERS: dict[str, Handler] = {}
