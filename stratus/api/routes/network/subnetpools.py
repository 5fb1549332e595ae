"""Subnet pools: ``/v2.0/subnetpools`` CRUD and add/remove prefixes."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: subnetpools"])
