"""Cinder v3: volumes (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: volumes"])
