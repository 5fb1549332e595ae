"""A Neutron record's job: the one-resource template of its ``OS::Neutron::*`` type.

The service writes the record first; these submit the job whose resource has the
record's id (the type's ``check`` finds the row and records the host state):

- ``create(db, type_name, row, properties, *, settings, context, request_id)``;
- ``update(db, row_id, properties, *, settings, context, request_id)``;
- ``delete(db, row_ids, *, project_id, context, request_id)``: ids without a resource
  row are skipped (records made before their type existed, or by the system).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from stratus.db.models.jobs import DELETED, DELETING, Resource
from stratus.orchestration import submit as pipeline

TEMPLATE_VERSION = "2018-08-31"


def _name(type_name: str) -> str:
    return type_name.rsplit("::", 1)[-1].lower()


def create(db: Session, type_name: str, row: Any, properties: Mapping[str, Any], *, settings,
           context=None, request_id: str | None = None, cloud_admin: bool = False):
    name = _name(type_name)
    template = {"heat_template_version": TEMPLATE_VERSION,
                "resources": {name: {"type": type_name, "properties": dict(properties)}}}
    return pipeline.submit(db, template, project_id=row.project_id, cloud_admin=cloud_admin,
                           request_id=request_id, resource_ids={name: row.id},
                           quota_defaults=settings.quota_defaults, context=context,
                           max_attempts=settings.job_max_attempts, timeout=settings.job_timeout)


def update(db: Session, row_id: str, properties: Mapping[str, Any], *, settings, context=None,
           request_id: str | None = None):
    if db.get(Resource, row_id) is None:
        return None
    return pipeline.submit_update(db, row_id, dict(properties), request_id=request_id,
                                  quota_defaults=settings.quota_defaults, context=context,
                                  timeout=settings.job_timeout)


def delete(db: Session, row_ids: Iterable[str], *, project_id: str | None, context=None,
           request_id: str | None = None, settings=None):
    ids = [i for i in row_ids if (r := db.get(Resource, i)) is not None and r.status not in (DELETING, DELETED)]
    if not ids:
        return None
    return pipeline.submit_delete(db, ids, project_id=project_id, request_id=request_id, context=context)
