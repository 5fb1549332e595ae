"""Cinder v3: volume_metadata (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: volume_metadata"])
