"""Heat's stack list in SQL (stratus.stacks.listing) on a real SQLite database: tag
filters exact even for tags with quotes, % and _, both status spellings, nested,
deleted and hidden stacks, sort keys, and keyset pages that give every stack once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from starlette.datastructures import QueryParams

from stratus.db.base import Base
from stratus.db.models.orchestration import Stack
from stratus.db.session import Database
from stratus.db.types import utcnow
from stratus.errors import BadRequest
from stratus.stacks import listing, views

pytestmark = [pytest.mark.orchestration]


class Ctx:
    project_id = "p1"
    is_admin = False


@pytest.fixture
def db(tmp_path):
    database = Database(f"sqlite:///{tmp_path}/stratus.db")
    Base.metadata.create_all(database.engine)
    start = utcnow() - timedelta(hours=1)
    specs = [  # name, tags, action, status, project, nested, deleted
        ("alpha", ["a", "b"], "CREATE", "COMPLETE", "p1", False, False),
        ("beta", ['q"x', "50%", "a_b"], "UPDATE", "FAILED", "p1", False, False),
        ("gamma", [], "CREATE", "IN_PROGRESS", "p1", False, False),
        ("delta", ["a"], "DELETE", "COMPLETE", "p1", False, True),
        ("eps", ["data-processing-cluster"], "CREATE", "COMPLETE", "p1", False, False),
        ("nested", [], "CREATE", "COMPLETE", "p1", True, False),
        ("other", ["a"], "CREATE", "COMPLETE", "p2", False, False),
    ]
    with database.session() as s:
        parent = None
        for i, (name, tags, action, status, project, nested, deleted) in enumerate(specs):
            sid = str(uuid.uuid4())
            s.add(Stack(id=sid, name=name, project_id=project, tags=tags, action=action, status=status,
                        parent_id=parent if nested else None, created_at=start + timedelta(minutes=i),
                        deleted_at=utcnow() if deleted else None))
            s.flush()
            parent = parent or sid
    yield database
    database.dispose()


def names(db, query: str, **kw) -> list[str]:
    with db.session() as s:
        return [r.name for r in listing.page(s, Ctx, QueryParams(query), **kw).rows]


def test_defaults_hide_nested_deleted_hidden_and_other_projects(db):
    assert names(db, "") == ["gamma", "beta", "alpha"]  # newest first
    assert names(db, "show_nested=true&show_deleted=true&show_hidden=true&sort_dir=asc") == [
        "alpha", "beta", "gamma", "delta", "eps", "nested"]
    assert sorted(names(db, "global_tenant=true", global_tenant=True)) == ["alpha", "beta", "gamma", "other"]


def test_tags_are_exact(db):
    assert names(db, "tags=a") == ["alpha"]
    assert names(db, "tags=a_b") == ["beta"] and names(db, "tags=ab") == []
    assert names(db, 'tags=q"x,50%') == ["beta"] and names(db, "tags=50") == []
    assert names(db, "tags_any=b,50%") == ["beta", "alpha"]
    assert names(db, "not_tags_any=a,a_b") == ["gamma"]
    assert names(db, "not_tags=a,b") == ["gamma", "beta"]


def test_status_either_spelling_and_sorts(db):
    assert names(db, "status=FAILED") == ["beta"] and names(db, "status=UPDATE_FAILED") == ["beta"]
    assert names(db, "status=CREATE_COMPLETE&status=IN_PROGRESS") == ["gamma", "alpha"]
    assert names(db, "sort_keys=stack_name&sort_dir=asc") == ["alpha", "beta", "gamma"]
    assert names(db, "sort_keys=stack_status&sort_dir=asc") == ["alpha", "gamma", "beta"]
    for bad in ("sort_keys=nope", "sort_dir=up", "limit=x", "show_nested=perhaps", "marker=nope"):
        with pytest.raises(BadRequest):
            names(db, bad)


def test_keyset_pages_give_every_stack_once(db):
    for order in ("", "sort_keys=stack_name&sort_dir=asc", "sort_keys=updated_time"):
        seen, marker = [], None
        while True:
            q = f"{order}&limit=2&show_deleted=true" + (f"&marker={marker}" if marker else "")
            with db.session() as s:
                rows = listing.page(s, Ctx, QueryParams(q)).rows
            seen += [r.name for r in rows]
            if len(rows) < 2:
                break
            marker = rows[-1].id
        assert sorted(seen) == ["alpha", "beta", "delta", "gamma"], (order, seen)
        assert len(seen) == len(set(seen))


def test_summary_view_of_a_row(db):
    with db.session() as s:
        (row,) = listing.page(s, Ctx, QueryParams("name=alpha")).rows
    got = views.stack_summary(row, "http://c/orchestration/v1")
    assert got["stack_status"] == "CREATE_COMPLETE" and got["tags"] == ["a", "b"]
    assert got["links"] == [{"href": f"http://c/orchestration/v1/p1/stacks/alpha/{row.id}", "rel": "self"}]
    assert listing.next_link("http://c/s", QueryParams("limit=1&tags=a"), [row]) == [
        {"rel": "next", "href": f"http://c/s?limit=1&tags=a&marker={row.id}"}]
