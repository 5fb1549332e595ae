"""Cinder v3: availability_zones (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: availability_zones"])
