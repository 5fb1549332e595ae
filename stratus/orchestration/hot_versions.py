"""Template versions and their function tables, as Heat has them
(``heat/engine/hot/template.py``, ``heat/engine/cfn/template.py``).

- ``VERSIONS``: every accepted version name → its canonical name: the HOT dates
  2013-05-23 … 2021-04-16, the release aliases (newton … wallaby), the API's long forms
  (``heat_template_version.2016-10-14``), and the CloudFormation versions
  (``AWSTemplateFormatVersion.2010-09-09``, ``HeatTemplateFormatVersion.2012-12-12``).
- ``hot_version(value)``: a template's ``heat_template_version`` checked and made
  canonical; ``canonical(version)``: any accepted name (the API's forms too).
- ``function_table(version)``: the functions of the resources and outputs sections;
  ``condition_table(version)``: the functions of the conditions section (and of ``if``'s
  condition). A function of another version is refused with the version it needs;
  one Heat removed is refused with what to use instead.
- ``describe(version, conditions=False)``: ``[{"functions", "description"}]`` as
  ``GET /template_versions/<version>/functions`` returns it (heatclient's fields);
  ``template_versions()``: ``[{"version", "type", "aliases"}]`` for
  ``GET /template_versions``.
"""

from __future__ import annotations

import datetime
from typing import Any

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import Function, FunctionTable
from stratus.orchestration.functions_cfn import (
    Base64,
    CfnNot,
    FindInMap,
    GetAtt,
    GetAZs,
    ParamRef,
    Ref,
    Replace,
    Select,
    Split,
)
from stratus.orchestration.functions_conditions import And, Equals, If, IfNullable, Not, Or
from stratus.orchestration.functions_lists import (
    Contains,
    Filter,
    ListConcat,
    ListConcatUnique,
    MapMerge,
    MapReplace,
    Repeat,
    RepeatWithMaps,
    RepeatWithPermutations,
)
from stratus.orchestration.functions_refs import (
    GetAttr,
    GetAttrNamed,
    GetFile,
    GetParam,
    GetResource,
    ResourceFacade,
)
from stratus.orchestration.functions_strings import (
    Digest,
    Join,
    ListJoin,
    MakeURL,
    StrReplace,
    StrReplaceOld,
    StrReplaceStrict,
    StrReplaceVeryStrict,
    StrSplit,
)
from stratus.orchestration.functions_yaql import Yaql

HOT_DATES = ["2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08", "2016-10-14",
             "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16"]
ALIASES = {"newton": "2016-10-14", "ocata": "2017-02-24", "pike": "2017-09-01",
           "queens": "2018-03-02", "rocky": "2018-08-31", "wallaby": "2021-04-16"}
CFN = "AWSTemplateFormatVersion.2010-09-09"
HEAT_CFN = "HeatTemplateFormatVersion.2012-12-12"
LATEST = HOT_DATES[-1]
CONDITIONS_SINCE = "2016-10-14"

VERSIONS: dict[str, str] = {
    **{d: d for d in HOT_DATES}, **ALIASES,
    **{f"heat_template_version.{d}": d for d in HOT_DATES},
    **{f"heat_template_version.{a}": d for a, d in ALIASES.items()},
    CFN: CFN, HEAT_CFN: HEAT_CFN,
}

# What each HOT version changes from the one before: name → class (None: removed).
_HOT_CHANGES: dict[str, dict[str, type[Function] | None]] = {
    "2013-05-23": {
        "get_param": GetParam, "get_resource": GetResource, "get_attr": GetAttrNamed,
        "get_file": GetFile, "list_join": Join, "str_replace": StrReplaceOld,
        "resource_facade": ResourceFacade,
        "Ref": Ref, "Fn::GetAZs": GetAZs, "Fn::Select": Select, "Fn::Join": Join,
        "Fn::Split": Split, "Fn::Replace": Replace, "Fn::Base64": Base64,
    },
    "2014-10-16": {"Ref": None, "Fn::GetAZs": None, "Fn::Join": None, "Fn::Split": None,
                   "Fn::Replace": None, "Fn::Base64": None},
    "2015-04-30": {"repeat": Repeat, "digest": Digest},
    "2015-10-15": {"get_attr": GetAttr, "list_join": ListJoin, "str_replace": StrReplace,
                   "str_split": StrSplit, "Fn::Select": None},
    "2016-04-08": {"map_merge": MapMerge},
    "2016-10-14": {"repeat": RepeatWithMaps, "yaql": Yaql, "map_replace": MapReplace, "if": If},
    "2017-02-24": {"filter": Filter, "str_replace_strict": StrReplaceStrict},
    "2017-09-01": {"repeat": RepeatWithPermutations, "make_url": MakeURL, "list_concat": ListConcat,
                   "str_replace_vstrict": StrReplaceVeryStrict,
                   "list_concat_unique": ListConcatUnique, "contains": Contains},
    "2018-03-02": {},
    "2018-08-31": {},
    "2021-04-16": {"if": IfNullable},
}
_HOT_CONDITIONS: dict[str, dict[str, type[Function]]] = {
    "2016-10-14": {"get_param": GetParam, "equals": Equals, "not": Not, "and": And, "or": Or},
    "2017-09-01": {"yaql": Yaql, "contains": Contains},
}
_REMOVED_HINTS = {
    "Ref": "use get_resource for a resource's id or get_param for a parameter",
    "Fn::GetAZs": "Stratus has one availability zone, 'nova'",
    "Fn::Join": "use list_join", "Fn::Split": "use str_split", "Fn::Replace": "use str_replace",
    "Fn::Base64": "give the text as it is (user_data is plain text)",
    "Fn::Select": "use a path in get_param/get_attr ([name, index]) or str_split's index",
}
_UNSUPPORTED = {
    "Fn::MemberListToMap": "Fn::MemberListToMap is not supported by Stratus",
    "Fn::ResourceFacade": "Fn::ResourceFacade is not supported by Stratus; use resource_facade in HOT",
}
_CFN_FUNCTIONS: dict[str, type[Function]] = {
    "Ref": Ref, "Fn::GetAtt": GetAtt, "Fn::Join": Join, "Fn::Base64": Base64,
    "Fn::Select": Select, "Fn::Split": Split, "Fn::Replace": Replace,
    "Fn::FindInMap": FindInMap, "Fn::GetAZs": GetAZs,
}
_CFN_CONDITIONS: dict[str, type[Function]] = {
    "Fn::Equals": Equals, "Ref": ParamRef, "Fn::FindInMap": FindInMap,
    "Fn::Not": CfnNot, "Fn::And": And, "Fn::Or": Or,
}


def canonical(version: Any) -> str:
    """The canonical name of ``version`` (a date, alias, long form, or a ``date`` that
    YAML made of an unquoted date); a clear error for an unknown one."""
    if isinstance(version, datetime.date):
        version = version.isoformat()
    name = VERSIONS.get(str(version))
    if name is None:
        raise TemplateError(
            f"template version {version!r} is not supported; use one of "
            + ", ".join([*HOT_DATES, *ALIASES, CFN]),
            ("heat_template_version",),
        )
    return name


def hot_version(value: Any) -> str:
    """The canonical date of a template's ``heat_template_version`` (a date, an alias, or
    the ``date`` YAML makes of an unquoted date); a clear error naming the section."""
    if isinstance(value, datetime.date):
        value = value.isoformat()
    if str(value) in HOT_DATES or str(value) in ALIASES:
        return VERSIONS[str(value)]
    raise TemplateError(
        f"heat_template_version {value!r} is not supported; use one of "
        + ", ".join([*HOT_DATES, *ALIASES]),
        ("heat_template_version",),
    )


def _hot_functions(date: str) -> dict[str, type[Function] | None]:
    out: dict[str, type[Function] | None] = {}
    for d in HOT_DATES[: HOT_DATES.index(date) + 1]:
        out.update(_HOT_CHANGES[d])
    return out


def _first_version(name: str) -> str | None:
    for d in HOT_DATES:
        if _HOT_CHANGES[d].get(name) is not None:
            return d
    return None


_TABLES: dict[tuple[str, str], FunctionTable] = {}


def function_table(version: Any) -> FunctionTable:
    """The functions of the resources and outputs sections of ``version``."""
    v = canonical(version)
    key = (v, "functions")
    if key not in _TABLES:
        _TABLES[key] = _cfn_table(v) if v in (CFN, HEAT_CFN) else _hot_table(v)
    return _TABLES[key]


def _hot_table(v: str) -> FunctionTable:
    funcs = _hot_functions(v)
    refused = dict(_UNSUPPORTED)
    for name, cls in funcs.items():
        if cls is None:
            refused[name] = (f"the function {name} is not supported in heat_template_version {v}; "
                             + _REMOVED_HINTS.get(name, "see the HOT guide"))
    everything = {n for d in HOT_DATES for n in _HOT_CHANGES[d]} | {"equals", "not", "and", "or"}
    for name in everything - set(funcs):
        since = _first_version(name)
        if since is not None and since > v:
            refused[name] = (f"the function {name} needs heat_template_version {since} or later; "
                             f"this template is {v}")
        elif name in ("equals", "not", "and", "or"):
            refused[name] = (f"{name} is a condition function: use it under 'conditions' "
                             "(or in the first argument of if)")
    return FunctionTable(v, {n: c for n, c in funcs.items() if c is not None}, refused)


def _cfn_table(v: str) -> FunctionTable:
    funcs = dict(_CFN_FUNCTIONS)
    if v == CFN:
        funcs["Fn::If"] = If
    refused = dict(_UNSUPPORTED)
    hot_names = {n for d in HOT_DATES for n in _HOT_CHANGES[d]} - set(funcs)
    for name in hot_names:
        refused[name] = f"{name} is a HOT function; a CloudFormation template uses Ref and Fn::* functions"
    return FunctionTable(v, funcs, refused)


def condition_table(version: Any) -> FunctionTable:
    """The functions of the conditions section of ``version`` (empty before
    2016-10-14, which has no conditions)."""
    v = canonical(version)
    key = (v, "conditions")
    if key in _TABLES:
        return _TABLES[key]
    if v in (CFN, HEAT_CFN):
        funcs = dict(_CFN_CONDITIONS) if v == CFN else {}
    else:
        funcs = {}
        for d in HOT_DATES[: HOT_DATES.index(v) + 1]:
            funcs.update(_HOT_CONDITIONS.get(d, {}))
    allowed = ", ".join(funcs) or "none"
    refused = {}
    for name in function_table(v):
        if name not in funcs:
            refused[name] = (f"the function {name} cannot be used in a condition; conditions "
                             f"take: {allowed}" if funcs else
                             f"template version {v} has no conditions; they need "
                             f"heat_template_version {CONDITIONS_SINCE} or later")
    for name, why in function_table(v).refused.items():
        refused.setdefault(name, why)
    _TABLES[key] = FunctionTable(v, funcs, refused, kind="conditions")
    return _TABLES[key]


def _summary(cls: type[Function]) -> str:
    return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""


def describe(version: Any, conditions: bool = False) -> list[dict[str, str]]:
    """``[{"functions": name, "description": ...}]`` for the API (heatclient shows these
    fields); ``conditions``: the condition functions too (``with_condition_func``).
    An unknown version raises TemplateError (the API answers 404)."""
    funcs: dict[str, type[Function]] = dict(function_table(version))
    if conditions:
        funcs.update(condition_table(version))
    return [{"functions": name, "description": _summary(cls)} for name, cls in funcs.items()]


def template_versions() -> list[dict[str, Any]]:
    """``[{"version", "type", "aliases"}]`` as ``GET /template_versions`` returns it."""
    out = [{"version": CFN, "type": "cfn", "aliases": []},
           {"version": HEAT_CFN, "type": "cfn", "aliases": []}]
    for d in HOT_DATES:
        aliases = [f"heat_template_version.{a}" for a, t in ALIASES.items() if t == d]
        out.append({"version": f"heat_template_version.{d}", "type": "hot", "aliases": aliases})
    return out
