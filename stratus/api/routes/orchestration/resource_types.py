"""Heat v1: resource_types (to be written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
