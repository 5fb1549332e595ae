"""Tags of every resource: ``/v2.0/{resources}/{id}/tags[/{tag}]``."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: tags"])
