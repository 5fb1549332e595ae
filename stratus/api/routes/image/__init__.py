"""Glance v2 routes (``/image`` and ``/image/v2``)."""
