"""Project tags as Keystone keeps them: at most 80 per project, each 1-255 characters
without ``/`` or ``,``; the ``tags``/``tags-any``/``not-tags``/``not-tags-any`` filters."""

from __future__ import annotations

from stratus.errors import BadRequest

MAX_TAGS = 80


def check_tag(tag: str) -> str:
    if not tag or len(tag) > 255 or "," in tag or "/" in tag:
        raise BadRequest(
            f"Invalid input for field 'tags': {tag!r} is not a valid tag "
            "(1 to 255 characters, no ',' or '/')."
        )
    return tag


def normalized(tags: list[str]) -> list[str]:
    """``tags`` checked, duplicates dropped (first one kept), at most MAX_TAGS."""
    out = list(dict.fromkeys(check_tag(t) for t in tags))
    if len(out) > MAX_TAGS:
        raise BadRequest(
            f"Invalid input for field 'tags': {len(out)} tags given; a project has at most {MAX_TAGS}."
        )
    return out


def _split(value: str | None) -> set[str] | None:
    return None if value is None else {t for t in value.split(",") if t}


def tag_filter(tags: str | None, tags_any: str | None, not_tags: str | None, not_tags_any: str | None):
    """A predicate on a project's tag list for the four query filters (None: no filter)."""
    all_of, any_of, not_all, not_any = map(_split, (tags, tags_any, not_tags, not_tags_any))
    if all_of is None and any_of is None and not_all is None and not_any is None:
        return None

    def keep(project_tags: list[str] | None) -> bool:
        have = set(project_tags or [])
        if all_of is not None and not all_of <= have:
            return False
        if any_of is not None and not any_of & have:
            return False
        if not_all and not_all <= have:
            return False
        return not (not_any and not_any & have)

    return keep
