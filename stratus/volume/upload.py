"""``os-volume_upload_image``: a volume's data uploaded to the image service as a new
image (see :mod:`stratus.volume.actions` for the handler signature)."""

from __future__ import annotations

from stratus.volume.actions import Handler

HANDLERS: dict[str, Handler] = {}
