"""Heat environments (``-e env.yaml``): ``parameters`` (values, as if given with -P),
``parameter_defaults`` (new defaults, also for nested templates), ``resource_registry``
(type aliases, template resources such as ``OS::Nova::Server: my_server.yaml``, and
entries scoped to resources: ``resources: {name: {type: ...}}``); ``event_sinks`` and
``encrypted_param_names`` are accepted and ignored with a warning (``warnings``). Any
other section is refused.

:meth:`Environment.resolve` gives the effective type of a resource: a registered type
name, or a template file (which the nested-stack expansion turns into a nested stack).
Several environments merge in order, the later ones winning (as ``-e a -e b``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stratus.orchestration.errors import TemplateError

SECTIONS = ("parameters", "parameter_defaults", "resource_registry", "event_sinks",
            "encrypted_param_names", "parameter_merge_strategies")
IGNORED = ("event_sinks", "encrypted_param_names", "parameter_merge_strategies")
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".template", ".json", ".hot")


def is_template_path(name: str) -> bool:
    """A type that names a template file (a template resource), not a registered type."""
    return "://" in name or name.endswith(TEMPLATE_SUFFIXES)


@dataclass
class Environment:
    parameters: dict[str, Any] = field(default_factory=dict)
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    # global entries: type name (or a glob such as "OS::Nova::*") -> type or template path
    resource_registry: dict[str, str] = field(default_factory=dict)
    # scoped entries: resource name (or glob) -> {type name -> type or template path}
    resource_scoped: dict[str, dict[str, str]] = field(default_factory=dict)
    event_sinks: list[Any] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    files: dict[str, str] = field(default_factory=dict)  # template files the registry names (load)

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_dict(cls, raw: Any, *, source: str = "environment") -> Environment:
        """An environment from its mapping; ``source`` names it in errors."""
        if raw is None:
            return cls()
        if isinstance(raw, Environment):
            return raw
        if not isinstance(raw, Mapping):
            raise TemplateError(f"{source}: an environment must be a mapping of sections "
                                f"({', '.join(SECTIONS[:4])})", ("environment",))
        unknown = sorted(str(k) for k in raw if k not in SECTIONS)
        if unknown:
            raise TemplateError(f"{source}: unknown section(s) {', '.join(unknown)}; allowed: "
                                f"{', '.join(SECTIONS)}", ("environment",))
        env = cls()
        for key in ("parameters", "parameter_defaults"):
            section = raw.get(key) or {}
            if not isinstance(section, Mapping):
                raise TemplateError(f"{source}: {key} must be a mapping of names to values", ("environment", key))
            setattr(env, key, {str(k): v for k, v in section.items()})
        registry = raw.get("resource_registry") or {}
        if not isinstance(registry, Mapping):
            raise TemplateError(f"{source}: resource_registry must be a mapping", ("environment", "resource_registry"))
        for key, value in registry.items():
            path = ("environment", "resource_registry", str(key))
            if key == "resources":
                if not isinstance(value, Mapping):
                    raise TemplateError("resources must map resource names to {type: type or template}", path)
                for rname, entries in value.items():
                    if not isinstance(entries, Mapping):
                        raise TemplateError("a scoped entry maps type names to a type or template",
                                            (*path, str(rname)))
                    if "hooks" in entries:
                        env.warnings.append(f"{'.'.join((*path, str(rname), 'hooks'))}: hooks are not "
                                            "supported; ignored")
                    scoped = {str(t): _target(t, v, (*path, str(rname), str(t)), env) for t, v in entries.items()
                              if t != "hooks"}
                    env.resource_scoped[str(rname)] = {t: v for t, v in scoped.items() if v is not None}
            elif key in ("base_url", "hooks"):
                continue
            else:
                target = _target(key, value, path, env)
                if target is not None:
                    env.resource_registry[str(key)] = target
        for key in IGNORED:
            if raw.get(key):
                env.warnings.append(f"{source}: {key} is not supported; ignored")
        sinks = raw.get("event_sinks") or []
        env.event_sinks = list(sinks) if isinstance(sinks, list) else [sinks]
        return env

    @classmethod
    def load(cls, path: str | Path) -> Environment:
        """An environment file; template files its registry names (relative to the
        file's directory, never outside it) are read into ``files``."""
        path = Path(path)
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise TemplateError(f"{path} is not valid YAML: {exc}") from None
        except OSError as exc:
            raise TemplateError(f"cannot read the environment {path}: {exc.strerror}") from None
        env = cls.from_dict(raw, source=str(path))
        targets = list(env.resource_registry.values())
        targets += [t for scoped in env.resource_scoped.values() for t in scoped.values()]
        for target in targets:
            if is_template_path(target) and "://" not in target:
                env.files[target] = read_relative(path.parent, target, ("environment", "resource_registry"))
        return env

    @classmethod
    def merge(cls, *envs: Environment | Mapping[str, Any] | None) -> Environment:
        """One environment from several, later ones winning (``-e a.yaml -e b.yaml``)."""
        out = cls()
        for env in envs:
            if env is None:
                continue
            env = cls.from_dict(env)
            out.parameters.update(env.parameters)
            out.parameter_defaults.update(env.parameter_defaults)
            out.resource_registry.update(env.resource_registry)
            for name, entries in env.resource_scoped.items():
                out.resource_scoped.setdefault(name, {}).update(entries)
            out.event_sinks.extend(env.event_sinks)
            out.warnings.extend(env.warnings)
            out.files.update(env.files)
        return out

    def to_dict(self) -> dict[str, Any]:
        """The environment as Heat records and returns it (``stack environment show``)."""
        registry: dict[str, Any] = dict(self.resource_registry)
        if self.resource_scoped:
            registry["resources"] = {k: dict(v) for k, v in self.resource_scoped.items()}
        return {"parameters": dict(self.parameters), "parameter_defaults": dict(self.parameter_defaults),
                "resource_registry": registry, "event_sinks": list(self.event_sinks)}

    # ------------------------------------------------------------------ lookups
    def resolve(self, type_name: str, resource_name: str | None = None) -> str:
        """The effective type of a resource written as ``type_name``: scoped entries for
        ``resource_name`` first, then global ones (exact names before globs), followed
        until a name maps to nothing else (a registered type) or to a template file."""
        seen = []
        current = type_name
        while True:
            target = self._lookup(current, resource_name)
            if target is None or target == current:
                return current
            if target in seen:
                raise TemplateError(f"the resource_registry maps {type_name!r} in a circle: "
                                    + " -> ".join([*seen, target]), ("environment", "resource_registry"))
            seen.append(current)
            current = target
            if is_template_path(current):
                return current

    def _lookup(self, type_name: str, resource_name: str | None) -> str | None:
        if resource_name is not None:
            for pattern, entries in self.resource_scoped.items():
                if fnmatch.fnmatchcase(resource_name, pattern) and type_name in entries:
                    return entries[type_name]
        if type_name in self.resource_registry:
            return self.resource_registry[type_name]
        for pattern, target in self.resource_registry.items():
            if "*" in pattern and fnmatch.fnmatchcase(type_name, pattern):
                if target.endswith("*"):  # "OS::Nova::*": "Custom::*"
                    return target[:-1] + type_name[len(pattern) - 1:]
                return target
        return None


def _target(key: Any, value: Any, path: tuple[str, ...], env: Environment) -> str | None:
    """A registry entry's target (a type name or template path); None for the
    ``null`` entries Heat uses to unregister a type (ignored with a warning)."""
    if value is None:
        env.warnings.append(f"{'.'.join(path)}: unregistering a type is not supported; ignored")
        return None
    if isinstance(value, Mapping):  # Heat's {hooks: ...} per-resource entries
        env.warnings.append(f"{'.'.join(path)}: hooks are not supported; ignored")
        return None
    if not isinstance(value, str) or not value:
        raise TemplateError(f"the registry entry for {key!r} must name a type or a template file", path)
    return value


def read_relative(base: Path, name: str, path: tuple[str, ...]) -> str:
    """The text of the file ``name`` relative to ``base``; refused when it leaves
    ``base`` (``../secret``, an absolute path) or cannot be read."""
    base = base.resolve()
    target = (base / name).resolve()
    if name.startswith("file://"):
        target = Path(name[len("file://"):]).resolve()
    if not target.is_relative_to(base):
        raise TemplateError(f"the file {name!r} is outside the template's directory {base}; "
                            "keep referenced files beside the template", path)
    try:
        return target.read_text()
    except OSError as exc:
        raise TemplateError(f"cannot read the file {name!r} ({target}): {exc.strerror}", path) from None
