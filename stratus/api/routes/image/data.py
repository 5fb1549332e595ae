"""Image data: upload (PUT .../file, .../stage) and download (GET .../file)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
