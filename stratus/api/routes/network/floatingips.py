"""Floating IPs: ``/v2.0/floatingips`` CRUD (allocate, associate, disassociate, release)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: floatingips"])
