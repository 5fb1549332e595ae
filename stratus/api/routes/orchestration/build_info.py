"""Heat v1: build_info (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
