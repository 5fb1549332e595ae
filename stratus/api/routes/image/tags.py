"""Image tags: PUT/DELETE /images/{image_id}/tags/{tag}."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter()
