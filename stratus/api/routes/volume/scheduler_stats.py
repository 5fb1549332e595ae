"""Cinder v3: scheduler_stats (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: scheduler_stats"])
