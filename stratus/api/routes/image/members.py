"""Image members: share an image with projects; members accept or reject."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
