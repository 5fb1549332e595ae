"""Cinder v3: services (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: services"])
