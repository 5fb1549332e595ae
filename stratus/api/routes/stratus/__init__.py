"""Stratus' own admin API under ``/stratus/v1`` (not an OpenStack service): jobs,
their events, the resources they made, and the host registry."""
