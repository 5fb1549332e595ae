"""Keystone v3 routes (mounted under /identity/v3)."""
