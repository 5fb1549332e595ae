"""Nova ``availability_zones``: (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["compute: availability_zones"])
