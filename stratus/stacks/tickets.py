"""Signal tickets: how a guest (or the controller's own wait task) signals or reads one
stack resource without a user's token.

A ticket is an image ticket (``stratus.image.tickets``: an HMAC of purpose, id and
expiry with a key derived from the controller's Fernet keys, so tickets rotate with
them and any controller of the cloud checks any controller's ticket) issued for a
resource id and one of the purposes below. Heat hands a WaitConditionHandle's
``token`` and a deployment's ``deploy_signal_id`` out for the resource's life: a
ticket lives as long (:data:`LIFETIME`), and the routes refuse it once the resource is
gone. It travels in ``X-Auth-Token`` (Heat's ``curl_cli``) or as ``?signature=`` (a
pre-signed URL).
"""

from __future__ import annotations

from stratus.image import tickets as _tickets

SIGNAL = "signal"  # POST a signal to the resource
WAIT = "wait"  # read the resource's wait state (the controller's wait task)
RELAY = "relay"  # a network's metadata relay vouches for the guest address it forwards
LIFETIME = 10 * 365 * 24 * 3600  # as long as the resource lives: the routes check it exists


def issue(keys, resource_id: str, purpose: str = SIGNAL) -> str:
    """A ticket for ``purpose`` on ``resource_id``."""
    return _tickets.issue(keys, resource_id, f"stack-{purpose}", LIFETIME)


def verify(keys, resource_id: str, ticket: str | None, purpose: str = SIGNAL) -> bool:
    """True when ``ticket`` was issued by this cloud for ``purpose`` on ``resource_id``."""
    return bool(ticket) and _tickets.verify(keys, resource_id, f"stack-{purpose}", ticket)


def looks_like_ticket(value: str | None) -> bool:
    """A ticket's shape (``<expiry>.<64 hex>``), unlike a Keystone token's."""
    if not value:
        return False
    expires, _, sig = value.partition(".")
    return expires.isdigit() and len(sig) == 64 and all(c in "0123456789abcdef" for c in sig)


def resource_url(base: str, project_id: str | None, resource_id: str) -> str:
    """The resource's signal URL under ``base`` (``settings.signal_url`` for guests,
    ``settings.endpoint_url`` for the controller's own wait task): POST (or a CFN
    handle's PUT) signals it, GET reads its wait state."""
    return f"{base}/orchestration/v1/{project_id or '-'}/signals/{resource_id}"


def presigned_url(base: str, project_id: str | None, resource_id: str, keys) -> str:
    """:func:`resource_url` with the signal ticket as ``?signature=`` (a CFN
    WaitConditionHandle's reference, a deployment's ``deploy_signal_id``)."""
    return f"{resource_url(base, project_id, resource_id)}?signature={issue(keys, resource_id)}"
