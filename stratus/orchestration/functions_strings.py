"""String functions: ``str_replace`` (+ ``_strict``, ``_vstrict``), ``list_join``,
``str_split``, ``digest``, ``make_url``.

Each accepts run-time values (``Expr``) where the result can still be one Jinja
expression made of literals of the user's text and those values; elsewhere it refuses
(``Function.plan_time``)."""

from __future__ import annotations

import hashlib
import json
from typing import Any
from urllib import parse as urlparse

from stratus.orchestration.functions import (
    Expr,
    Function,
    ResolveContext,
    TextBuilder,
    expr_text,
    has_expr,
    jinja_literal,
    resolve,
)


def heat_text(fn: Function, value: Any, what: str, json_values: bool = True) -> str:
    """A plan-time value as Heat writes it into text: strings as they are, numbers and
    booleans with ``str``, None as '', lists and maps as JSON (``json_values``)."""
    if value is None:
        return ""
    if isinstance(value, str | int | float | bool):
        return str(value)
    if json_values and isinstance(value, list | dict):
        return json.dumps(value, sort_keys=True)
    kinds = "strings, numbers, lists or maps" if json_values else "strings or numbers"
    raise fn.error(f"{what} must be {kinds}, not {value!r}")


# --------------------------------------------------------------------- str_replace
class StrReplace(Function):
    """Substitutes the params' values for their placeholders in the template string."""

    name = "str_replace"
    strict = False  # every param must occur in the template
    allow_empty = True  # params may be empty or null
    json_values = True  # lists and maps are written as JSON (HOT 2015-10-15 and later)
    EXAMPLE = "{template: 'Hello NAME', params: {NAME: world}}"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        self.template, self.params = self.parse_args(args)
        if not isinstance(self.params, dict | Function):
            raise self.error(f"{self.name} params must be a map of placeholder: value")

    def parse_args(self, args: Any) -> tuple[Any, Any]:
        if not isinstance(args, dict) or set(args) != {"template", "params"}:
            raise self.usage(self.EXAMPLE)
        return args["template"], args["params"]

    def result(self, ctx: ResolveContext) -> Any:
        template = resolve(self.template, ctx)
        params = resolve(self.params, ctx)
        if isinstance(template, Expr):
            self.plan_time(template, "the template string")
        if not isinstance(template, str):
            raise self.error(f"{self.name} template must be a string, not {template!r}")
        if not isinstance(params, dict):
            raise self.error(f"{self.name} params must be a map of placeholder: value, not {params!r}")
        for key in params:
            if not isinstance(key, str):
                raise self.error(f"{self.name} placeholders must be strings, not {key!r}")
        # Longest placeholders first; equal lengths in alphabetical order (Heat's rule).
        keys = sorted(sorted(params), key=len, reverse=True)
        found: set[str] = set()
        out = TextBuilder()

        def replace(s: str, remaining: list[str]) -> None:
            if not remaining:
                out.text(s)
                return
            key, rest = remaining[0], remaining[1:]
            parts = s.split(key)
            if len(parts) > 1:
                found.add(key)
            for i, part in enumerate(parts):
                if i:
                    self.add_value(out, key, params[key])
                replace(part, rest)

        replace(template, keys)
        if self.strict and set(keys) - found:
            missing = sorted(set(keys) - found)
            raise self.error(f"the params {', '.join(missing)} do not occur in the template; "
                             f"{self.name} needs every param to be used")
        return out.result()

    def add_value(self, out: TextBuilder, key: str, value: Any) -> None:
        if isinstance(value, Expr):
            out.code(expr_text(value))
            return
        self.plan_time(value, f"the value of param {key!r}")
        if not self.allow_empty and (value is None or value in ("", [], {})):
            raise self.error(f"the param {key!r} is empty or null; {self.name} needs a value")
        out.text(heat_text(self, value, f"{self.name} params", self.json_values))


class StrReplaceOld(StrReplace):
    """Substitutes the params' values (strings or numbers) for their placeholders."""

    json_values = False  # HOT before 2015-10-15


class StrReplaceStrict(StrReplace):
    """Like str_replace, but every param must occur in the template."""

    name = "str_replace_strict"
    strict = True


class StrReplaceVeryStrict(StrReplaceStrict):
    """Like str_replace_strict, but no param may be empty or null."""

    name = "str_replace_vstrict"
    allow_empty = False


# --------------------------------------------------------------------- list_join
class ListJoin(Function):
    """Joins one or more lists of strings with a delimiter (lists and maps as JSON)."""

    name = "list_join"
    multiple = True  # several lists, items may be lists/maps (HOT 2015-10-15 and later)

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        example = ("[delimiter, [item, ...], [item, ...] ...]" if self.multiple
                   else "[delimiter, [item, ...]]")
        if not isinstance(args, list) or len(args) < 2 or (not self.multiple and len(args) != 2):
            raise self.usage(example)
        if not isinstance(args[0], str | Function):
            raise self.usage(example + " (the delimiter is a string)")
        for item in args[1:]:
            if not isinstance(item, list | Function):
                raise self.usage(example + f" ({item!r} is not a list)")

    def result(self, ctx: ResolveContext) -> Any:
        delim = self.plan_time(resolve(self.args[0], ctx), "the delimiter")
        if not isinstance(delim, str):
            raise self.error(f"the delimiter of {self.name} must be a string, not {delim!r}")
        lists = [resolve(x, ctx) for x in self.args[1:]]
        whole = [x for x in lists if isinstance(x, Expr)]
        if whole:
            if len(lists) > 1:
                self.plan_time(whole[0], "a list to join")
            return Expr(f"(({whole[0].inner}) | map('string') | join({jinja_literal(delim)}))")
        items: list[Any] = []
        for x in lists:
            if not x:  # None, '' or [] adds nothing (Heat's rule)
                continue
            if not isinstance(x, list):
                raise self.error(f"{self.name} joins lists; {x!r} is not a list")
            items.extend(x)
        out = TextBuilder()
        for i, item in enumerate(items):
            if i:
                out.text(delim)
            if isinstance(item, Expr):
                out.code(expr_text(item))
            else:
                out.text(self.item_text(self.plan_time(item, "an item to join")))
        return out.result()

    def item_text(self, item: Any) -> str:
        if item is None or isinstance(item, str):
            return item or ""
        if self.multiple and isinstance(item, list | dict):
            return json.dumps(item, sort_keys=True)
        kinds = "strings, lists or maps" if self.multiple else "strings"
        raise self.error(f"the items {self.name} joins must be {kinds}, not {item!r}")


class Join(ListJoin):
    """Joins a list of strings with a delimiter."""

    multiple = False  # HOT before 2015-10-15, Fn::Join


# --------------------------------------------------------------------- str_split
class StrSplit(Function):
    """Splits a string at a delimiter into a list (or returns the item at an index)."""

    name = "str_split"
    EXAMPLE = "[delimiter, string] or [delimiter, string, index]"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) not in (2, 3):
            raise self.usage(self.EXAMPLE)

    def result(self, ctx: ResolveContext) -> Any:
        delim = self.plan_time(resolve(self.args[0], ctx), "the delimiter")
        if not isinstance(delim, str) or not delim:
            raise self.error(f"the delimiter of {self.name} must be a non-empty string, not {delim!r}")
        text = resolve(self.args[1], ctx)
        index = None
        if len(self.args) == 3:
            raw = self.plan_time(resolve(self.args[2], ctx), "the index")
            try:
                index = int(raw)
            except (TypeError, ValueError):
                raise self.usage(self.EXAMPLE + f" (the index is an integer, not {raw!r})") from None
        if text is None:
            return None
        if isinstance(text, Expr):
            code = f"(({text.inner}) | string).split({jinja_literal(delim)})"
            return Expr(code if index is None else f"({code})[{index}]")
        if not isinstance(text, str):
            raise self.error(f"{self.name} splits a string, not {text!r}")
        parts = text.split(delim)
        if index is None:
            return parts
        if not -len(parts) <= index < len(parts):
            raise self.error(f"the index {index} is out of range: the string has {len(parts)} "
                             f"parts (0 to {len(parts) - 1})")
        return parts[index]


# --------------------------------------------------------------------- digest
class Digest(Function):
    """Returns the hex digest of a string with an algorithm (md5, sha1, sha256, sha512...)."""

    name = "digest"

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, list) or len(args) != 2:
            raise self.usage("[algorithm, value], e.g. [sha256, 'text']")
        if isinstance(args[0], str):
            self.check_algorithm(args[0])

    def check_algorithm(self, alg: Any) -> str:
        if not isinstance(alg, str) or alg.lower() not in hashlib.algorithms_available:
            raise self.error(f"unknown digest algorithm {alg!r}; use one of "
                             + ", ".join(sorted(hashlib.algorithms_guaranteed)))
        return alg.lower()

    def result(self, ctx: ResolveContext) -> Any:
        alg = self.check_algorithm(self.plan_time(resolve(self.args[0], ctx), "the algorithm"))
        value = resolve(self.args[1], ctx)
        if isinstance(value, Expr):
            return Expr(f"({expr_text(value)} | hash({jinja_literal(alg)}))")
        if not isinstance(value, str):
            raise self.error(f"{self.name} takes a string value, not {value!r}")
        try:
            data = value.encode("latin-1")  # Heat's encoding
        except UnicodeEncodeError:
            data = value.encode()
        return hashlib.new(alg, data).hexdigest()


# --------------------------------------------------------------------- make_url
class MakeURL(Function):
    """Builds a correctly quoted URL from its parts (scheme, host, port, path, query...)."""

    name = "make_url"
    KEYS = ("scheme", "username", "password", "host", "port", "path", "query", "fragment")

    def __init__(self, args: Any, path: tuple[str, ...], name: str | None = None) -> None:
        super().__init__(args, path, name)
        if not isinstance(args, dict):
            raise self.usage("a map of " + ", ".join(self.KEYS))
        bad = set(args) - set(self.KEYS)
        if bad:
            raise self.error(f"unknown key(s) {', '.join(sorted(map(str, bad)))} in {self.name}; "
                             f"allowed: {', '.join(self.KEYS)}")
        self.check(args)

    def check(self, args: dict[str, Any]) -> None:
        for key, value in args.items():
            if isinstance(value, Function | Expr) or value is None:
                continue
            if key == "query":
                if not isinstance(value, dict):
                    raise self.error(f"the 'query' of {self.name} must be a map")
            elif key == "port":
                try:
                    port = int(value)
                except (TypeError, ValueError):
                    raise self.error(f"invalid URL port {value!r}: give a number") from None
                if not 0 < port <= 65535:
                    raise self.error(f"invalid URL port {port}: it must be in 1-65535")
            elif not isinstance(value, str):
                raise self.error(f"the {key!r} of {self.name} must be a string, not {value!r}")

    def result(self, ctx: ResolveContext) -> Any:
        args = {k: v for k, v in resolve(self.args, ctx).items() if v is not None}
        self.check(args)
        scheme = self.plan_time(args.get("scheme", ""), "the scheme")
        if ":" in scheme:
            raise self.error("the scheme must not contain ':' (give 'https', not 'https:')")
        query = urlparse.urlencode(self.plan_time(args.get("query", {}), "the query")).replace("%2F", "/")
        if not has_expr(args):
            return self.plain(args, scheme, query)
        out = TextBuilder()
        if scheme:
            out.text(scheme + ":")
        netloc = any(k in args for k in ("username", "password", "host", "port"))
        if netloc or scheme in urlparse.uses_netloc:
            out.text("//")
        user, password = args.get("username", ""), args.get("password", "")
        if user or password:
            self.quoted(out, user, "")
            if password:
                out.text(":")
                self.quoted(out, password, "")
            out.text("@")
        host = args.get("host", "")
        if isinstance(host, Expr):
            h = f"(({host.inner}) | string)"
            out.code(f"(('[' ~ {h} ~ ']') if ':' in {h} else {h})")
        else:
            out.text(self.plain_host(host))
        port = args.get("port", "")
        if port != "":
            out.text(":")
            out.value(port if isinstance(port, Expr) else str(port))
        path = args.get("path", "")
        if isinstance(path, Expr) or path:
            if isinstance(path, Expr):
                p = f"(({path.inner}) | string | urlencode)"
                out.code(f"({p} if {p}[:1] == '/' or not {p} else '/' ~ {p})")
            else:
                q = urlparse.quote(path)
                out.text(q if q.startswith("/") else "/" + q)
        if query:
            out.text("?" + query)
        fragment = args.get("fragment", "")
        if isinstance(fragment, Expr):
            f = f"(({fragment.inner}) | string | urlencode)"
            out.code(f"(('#' ~ {f}) if {f} else '')")
        elif fragment:
            out.text("#" + urlparse.quote(fragment))
        return out.result()

    @staticmethod
    def quoted(out: TextBuilder, value: Any, safe: str) -> None:
        if isinstance(value, Expr):
            out.code(f"(({value.inner}) | string | urlencode | replace('/', '%2F'))")
        else:
            out.text(urlparse.quote(value, safe=safe))

    @staticmethod
    def plain_host(host: str) -> str:
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        host = urlparse.quote(host, safe=":")
        return f"[{host}]" if ":" in host else host

    def plain(self, args: dict[str, Any], scheme: str, query: str) -> str:
        netloc = ""
        user = urlparse.quote(args.get("username", ""), safe="")
        password = urlparse.quote(args.get("password", ""), safe="")
        if user or password:
            netloc = user + (":" + password if password else "") + "@"
        netloc += self.plain_host(args.get("host", ""))
        if args.get("port", "") != "":
            netloc += ":" + str(args["port"])
        return urlparse.urlunsplit((scheme, netloc, urlparse.quote(args.get("path", "")), query,
                                    urlparse.quote(args.get("fragment", ""))))
