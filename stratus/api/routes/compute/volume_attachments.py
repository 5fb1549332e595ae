"""Nova's ``os-volume_attachments`` (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compute: volume attachments"])
