"""Heat v1: software_configs (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
