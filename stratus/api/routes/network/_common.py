"""What every Neutron route module shares: the JSON body (any value; the services check
its shape in Neutron's words; the request guard refused non-JSON already), the commit
that hands a job to the worker, and ``fields`` on a single resource."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from stratus.api.routes._submit import done, jobs  # noqa: F401 - re-exported for the network routes
from stratus.api.routes.compute._body import json_body
from stratus.network import query

# ``def route(body: JsonBody): ...``: any JSON value, None when empty (compute's reader;
# the request guard on /network refused what does not parse before any route runs)
JsonBody = Annotated[Any, Depends(json_body)]




def one(request: Request, name: str, doc: dict[str, Any]) -> dict[str, Any]:
    """``{name: doc}`` with only the ``fields`` asked for."""
    fields = [f for k, v in request.query_params.multi_items() if k == "fields" for f in v.split(",") if f]
    return {name: query.project(doc, fields)}
