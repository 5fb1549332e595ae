"""Discovery: GET /image (Glance's versions document)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
