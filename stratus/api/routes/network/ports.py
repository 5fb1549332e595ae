"""Ports: ``/v2.0/ports`` CRUD (fixed IPs, MAC, device, security groups, pairs, binding)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: ports"])
