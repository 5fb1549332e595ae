"""The one result of a driver's ``ensure_present`` / ``ensure_absent``.

Every area's driver returns an ``Outcome``; a module reports it with
:func:`exit_with`. The diff policy is one for all modules: the result always carries
``diff`` (before/after facts) and Ansible's own display shows it only under
``--diff``, so no module reads the private ``module._diff``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What ``ensure_*`` did (or, in check mode, would do).

    ``before`` / ``after`` are the resource's facts (``{}`` when absent); ``actions``
    are short sentences of the steps taken, in order.
    """

    changed: bool
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] = field(default_factory=dict)
    actions: list[str] = field(default_factory=list)

    def __iter__(self):
        # Old callers unpack (changed, before, after).
        return iter((self.changed, self.before, self.after))

    def diff(self) -> dict[str, Any]:
        return {"before": self.before, "after": self.after}


def exit_with(module, outcome: Outcome, **facts: Any) -> None:
    """``module.exit_json`` with the outcome: ``changed``, ``actions``, ``diff`` and
    ``facts`` (the module's RETURN keys)."""
    module.exit_json(changed=outcome.changed, actions=list(outcome.actions),
                     diff=outcome.diff(), **facts)
