"""Cinder v3: qos_specs (being written)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["volume: qos_specs"])
