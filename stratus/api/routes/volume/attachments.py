"""Cinder v3: attachments (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: attachments"])
