"""The ``nft`` tool: apply a script atomically (``nft -f -``) and read JSON (``nft -j``).

``Nft(run, namespace=None)``; the namespace makes it run under ``ip netns exec``.
A script given to ``apply`` is one kernel transaction: all of it or nothing.
"""

from __future__ import annotations

import hashlib
import json

from ansible_collections.stratus.cloud.plugins.module_utils.net.ip_lib import (
    CommandFailed,
    Runner,
    check_output,
    netns_exec,
    subprocess_run,
)


class NftError(CommandFailed):
    """nft rejected a script or a command."""


class Nft:
    def __init__(self, run: Runner | None = None, namespace: str | None = None):
        self.run: Runner = run or subprocess_run
        self.namespace = namespace or None

    def _argv(self, *args: str) -> list[str]:
        return netns_exec(["nft", *args], self.namespace)

    def apply(self, script: str) -> None:
        """Run ``script`` with ``nft -f -`` as one atomic transaction."""
        argv = self._argv("-f", "-")
        try:
            check_output(self.run, argv, script)
        except CommandFailed as exc:
            raise NftError(exc.argv, exc.rc, exc.stderr, exc.stdout) from None

    def list_json(self, *what: str, terse: bool = False) -> list[dict]:
        """``nft -j list WHAT`` as the list under "nftables" (metainfo dropped).

        ``terse`` leaves set elements out. A missing table/chain/map gives ``[]``.
        """
        argv = self._argv("-j", *(["-t"] if terse else []), "list", *what)
        rc, out, err = self.run(argv)
        if rc != 0:
            if "No such file or directory" in err or "does not exist" in err:
                return []
            raise NftError(argv, rc, err, out)
        items = json.loads(out or "{}").get("nftables", [])
        return [i for i in items if "metainfo" not in i]

    def list_text(self, *what: str) -> str:
        rc, out, _err = self.run(self._argv("list", *what))
        return out if rc == 0 else ""

    def table_exists(self, family: str, table: str) -> bool:
        return bool(self.list_json("table", family, table))

    def chain_rules(self, family: str, table: str, chain: str) -> list[dict] | None:
        """The chain's rules (JSON objects), or None when the chain does not exist."""
        items = self.list_json("chain", family, table, chain)
        if not items:
            return None
        return [i["rule"] for i in items if "rule" in i]

    def map_elements(self, family: str, table: str, name: str) -> dict:
        """A map's elements as {key: value} (values as nft gives them)."""
        for item in self.list_json("map", family, table, name):
            if "map" in item:
                result = {}
                for key, value in item["map"].get("elem", []):
                    result[key if not isinstance(key, dict) else json.dumps(key)] = value
                return result
        return {}


def quote(name: str) -> str:
    """A name as an nft string literal."""
    return '"' + str(name).replace('"', "") + '"'


def digest(text: str) -> str:
    """Short digest of a rule's text; stored as the rule's comment to read it back."""
    return hashlib.sha1(text.encode()).hexdigest()[:12]


def rule_line(family: str, table: str, chain: str, text: str) -> str:
    """``add rule`` with a digest comment, so "changed" can be read back from nft -j."""
    return f"add rule {family} {table} {chain} {text} comment {quote(digest(text))}"


def dispatch_table(family: str, table: str, priority: int, key_type: str,
                   egress_key: str, ingress_key: str, extra_maps: tuple = ()) -> str:
    """A table whose ``forward`` base chain jumps through the verdict maps ``@egress``
    and ``@ingress`` (looked up by ``egress_key``/``ingress_key``). Idempotent: every
    object is added, the base chain flushed and its two rules re-added."""
    t = f"{family} {table}"
    lines = [
        f"add table {t}",
        f"add chain {t} forward {{ type filter hook forward priority {priority}; "
        "policy accept; }",
        f"add map {t} egress {{ type {key_type} : verdict; }}",
        f"add map {t} ingress {{ type {key_type} : verdict; }}",
        *(f"add map {t} {name} {{ type {kind}; }}" for name, kind in extra_maps),
        f"flush chain {t} forward",
        f"add rule {t} forward {egress_key} vmap @egress",
        f"add rule {t} forward {ingress_key} vmap @ingress",
    ]
    return "\n".join(lines) + "\n"


def replace_chain(family: str, table: str, chain: str, rules: list[str]) -> list[str]:
    """Script lines that make ``chain`` hold exactly ``rules`` (with digest comments)."""
    t = f"{family} {table}"
    return [f"add chain {t} {chain}", f"flush chain {t} {chain}",
            *(rule_line(family, table, chain, r) for r in rules)]


def delete_chain(family: str, table: str, chain: str) -> list[str]:
    t = f"{family} {table}"
    return [f"flush chain {t} {chain}", f"delete chain {t} {chain}"]
