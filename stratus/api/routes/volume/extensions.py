"""Cinder v3: extensions (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: extensions"])
