"""What a Heat create, update, preview or validate request carries, read as Heat's
``InstantiationData`` reads it: the template (an object or YAML/JSON text; ``template_url``
refused: this cloud fetches nothing), the environment (or the ``environment_files``
named in ``files``), files, parameters and the options (timeout_mins, disable_rollback,
tags as a comma-separated string); and the template loaded so that any failure to read
it is 400 StackValidationFailed, never a 500."""

from __future__ import annotations

from typing import Any

import yaml

from stratus.errors import BadRequest
from stratus.orchestration.environment import Environment
from stratus.orchestration.errors import TemplateError
from stratus.stacks import listing, load


# Heat's stack name rule (heat/engine/service.py _validate_new_stack)
def parse(value: Any, what: str) -> dict[str, Any]:
    """A template or environment given as an object or as YAML/JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            parsed = yaml.safe_load(value) if value.strip() else {}
        except yaml.YAMLError as exc:
            raise BadRequest(f"{what} not in valid format: {exc}") from None
        if isinstance(parsed, dict):
            return parsed
    raise BadRequest(f"{what} not in valid format: it must be a mapping (YAML or JSON object).")


def template_of(body: dict[str, Any], *, required: bool = True) -> dict[str, Any] | None:
    """The template of a create/update/validate body: ``template`` (object or text) or
    ``adopt_stack_data``'s; ``template_url`` is refused (send the template itself)."""
    if "adopt_stack_data" in body:
        data = parse(body["adopt_stack_data"], "Adopt data")
        if not isinstance(data.get("template"), dict):
            raise BadRequest("Invalid adopt data: it has no 'template' (give the output of 'stack abandon').")
        return data["template"]
    if body.get("template") is not None:
        return parse(body["template"], "Template")
    if body.get("template_url"):
        raise BadRequest(f"template_url is not supported: this cloud does not fetch templates "
                         f"({body['template_url']}); send the template itself in 'template' "
                         "(openstack stack create -t FILE reads the file or URL and sends it).")
    if required:
        raise BadRequest("No template specified: give the template in 'template'.")
    return None


def environment_of(body: dict[str, Any]) -> dict[str, Any]:
    """The environment: ``environment`` (object or text), else the ``environment_files``
    (names in ``files``) merged in order, later ones winning; ``parameters`` are given
    apart."""
    if body.get("environment") not in (None, "", {}):
        return parse(body["environment"], "Environment")
    names = body.get("environment_files") or []
    if not names:
        return {}
    files = files_of(body)
    missing = [n for n in names if n not in files]
    if missing:
        raise BadRequest(f"The environment file(s) {', '.join(missing)} are not in 'files': send their content.")
    return Environment.merge(*(parse(files[n], "Environment") for n in names)).to_dict()


def files_of(body: dict[str, Any]) -> dict[str, Any]:
    files = body.get("files") or {}
    if not isinstance(files, dict):
        raise BadRequest("files must be a mapping of file names to their contents.")
    return files


def parameters_of(body: dict[str, Any]) -> dict[str, Any]:
    params = body.get("parameters") or {}
    if not isinstance(params, dict):
        raise BadRequest("parameters must be a mapping of parameter names to values.")
    return params


def options_of(body: dict[str, Any]) -> dict[str, Any]:
    """timeout_mins, disable_rollback and tags as the services take them (only those given)."""
    out: dict[str, Any] = {}
    if body.get("timeout_mins") is not None:
        out["timeout_mins"] = listing.integer("timeout_mins", body["timeout_mins"])
    if body.get("disable_rollback") is not None:
        out["disable_rollback"] = listing.boolean("disable_rollback", body["disable_rollback"])
    if body.get("tags") is not None:
        out["tags"] = listing.tag_list(body["tags"])
    if "converge" in body and not body.get("_update"):
        raise BadRequest("converge flag only supported in stack update (or update preview) request.")
    return out


def stack_name_of(body: dict[str, Any]) -> str:
    name = body.get("stack_name")
    if not name:
        raise BadRequest("No stack name specified: give 'stack_name'.")
    from stratus.stacks.create import check_name

    check_name(name)  # Heat's rule, the one the service applies (400 StackValidationFailed)
    return name


def load_template(raw: dict[str, Any], files: dict[str, Any] | None = None,
                  environment: dict[str, Any] | None = None):
    """The parsed, validated Template of a request (as the stack engine parses it); any
    failure to read it is a TemplateError (400 StackValidationFailed), never a 500."""
    try:
        return load.parse(raw, files=files, environment=environment)
    except TemplateError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError, ValueError) as exc:
        raise TemplateError(f"the template could not be read: {exc}") from exc
