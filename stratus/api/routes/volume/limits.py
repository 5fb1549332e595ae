"""Cinder v3: limits (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: limits"])
