"""Subnets: ``/v2.0/subnets`` CRUD (IPv4/IPv6, pools, gateway, DNS, host routes, DHCP)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["network: subnets"])
