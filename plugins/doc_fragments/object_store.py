"""Options shared by the object-storage modules (stratus.cloud.object_container, stratus.cloud.object):
how they reach a Swift account."""

from __future__ import annotations


class ModuleDocFragment:
    DOCUMENTATION = r"""
options:
  auth:
    description:
      - A Keystone v3 password login (the keys of C(clouds.yaml)'s C(auth), as in the
        C(openstack.cloud) collection). The token is scoped to the project and the account is
        the catalog's C(object-store) endpoint on O(interface) (in O(region_name) when given),
        unless O(storage_url) is given.
      - Exactly one of O(auth) and O(token) is given.
    type: dict
    suboptions:
      auth_url:
        description: Keystone's URL, with or without C(/v3) (e.g. C(http://controller:8700/identity)).
        type: str
        required: true
      username:
        description: The user's name.
        type: str
        required: true
      password:
        description: The user's password (never logged).
        type: str
        required: true
      project_name:
        description: The project whose account is used; or O(auth.project_id).
        type: str
      project_id:
        description: The project's id, instead of O(auth.project_name).
        type: str
      user_domain_name:
        description: The user's domain.
        type: str
        default: Default
      project_domain_name:
        description: The project's domain (with O(auth.project_name)).
        type: str
        default: Default
  token:
    description:
      - A Keystone token used as it is (e.g. a service token with C(ResellerAdmin) acting in
        another project's account); needs O(storage_url). Never logged.
    type: str
  storage_url:
    description:
      - The account's URL, C(<proxy>/v1/AUTH_<project id>). Required with O(token); with
        O(auth) it overrides the catalog's endpoint.
    type: str
  region_name:
    description: The region whose object-store endpoint is used (any region when not given).
    type: str
  interface:
    description: Which catalog endpoint is used.
    type: str
    choices: [public, internal, admin]
    default: public
  timeout:
    description: Seconds to wait for each answer of Keystone or Swift.
    type: int
    default: 60
  validate_certs:
    description: Whether HTTPS certificates of Keystone and Swift are checked.
    type: bool
    default: true
  ca_cert:
    description: A CA bundle that signed the HTTPS certificates of Keystone and Swift.
    type: path
"""
