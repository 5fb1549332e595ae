"""Cinder v3: versions (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: versions"])
