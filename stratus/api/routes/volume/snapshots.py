"""Cinder v3: snapshots (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: snapshots"])
