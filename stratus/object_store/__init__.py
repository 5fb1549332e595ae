"""The controller's own access to object storage (Swift), as the service user.

- :mod:`.auth`: the service user's token, minted in-process by :mod:`stratus.identity`
  (no HTTP call from the controller to itself) and cached until near its expiry; the
  account URL of a project (``<object_store_url>/v1/AUTH_<project id>``);
- :mod:`.client`: a small httpx client for the Swift API with that token (the image
  store's and the orchestration types' way in); a 401 re-mints the token once.

The service user (``object_store_user`` in ``object_store_project``) holds
``ResellerAdmin`` (``stratus bootstrap`` makes it), which Swift's keystoneauth lets act
in any project's account.
"""

from stratus.object_store.auth import ObjectStoreError, ServiceToken, account_url, service_token
from stratus.object_store.client import SwiftClient, SwiftError

__all__ = ["ObjectStoreError", "ServiceToken", "SwiftClient", "SwiftError", "account_url",
           "service_token"]
