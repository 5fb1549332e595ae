"""``/v2.0/availability_zones``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: availability zones"])
