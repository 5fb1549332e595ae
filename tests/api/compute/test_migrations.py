"""``GET /os-migrations`` and ``/servers/{id}/migrations`` on a live controller: the
shape at each microversion (2.1, 2.23 type and links, 2.59 uuid and paging, 2.66
changes-before), filters, admin-only policy with Nova's words, and the sdk and CLI
reading them. Rows are written to the controller's database directly (the moves that
make them are tested in tests/unit/compute/test_server_moves.py)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from stratus.db.models.compute import Migration, Server
from stratus.db.session import Database

V = "/compute/v2.1"


def _hdr(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


@pytest.fixture(scope="module")
def rows(sqlite_controller):
    """A server with three migrations: a finished resize, a confirmed cold migration and
    a running live migration (created an hour apart, newest last)."""
    c = sqlite_controller
    db = Database(c.database_url)
    sid = str(uuid.uuid4())
    now = datetime.now(UTC).replace(microsecond=0)
    made = []
    with db.session() as s:
        s.add(Server(id=sid, project_id="p-mig", user_id="u", name="mig", flavor_id="1", flavor={},
                     vm_state="active", host="cmp2"))
        for n, (kind, st, src, dst) in enumerate([("resize", "finished", "cmp1", "cmp1"),
                                                  ("migration", "confirmed", "cmp1", "cmp2"),
                                                  ("live-migration", "running", "cmp2", "cmp3")]):
            m = Migration(uuid=str(uuid.uuid4()), server_id=sid, project_id="p-mig", user_id="u",
                          migration_type=kind, status=st, source_compute=src, dest_compute=dst,
                          old_flavor={"id": "1"}, new_flavor={"id": "2" if kind == "resize" else "1"},
                          created_at=now - timedelta(hours=3 - n), updated_at=now - timedelta(hours=3 - n))
            s.add(m)
            made.append(m)
        s.flush()
        ids = [(m.id, m.uuid) for m in made]
    db.dispose()
    return {"server": sid, "ids": ids, "now": now}


def _list(c, version: str, token=None, **params):
    return c.request("GET", f"{V}/os-migrations", token=token, headers=_hdr(version), params=params)


def test_shapes_by_microversion(sqlite_controller, rows):
    c = sqlite_controller
    old = _list(c, "2.1", instance_uuid=rows["server"])
    assert old.status_code == 200, old.text
    got = old.json()["migrations"]
    assert [m["id"] for m in got] == [i for i, _ in rows["ids"]]
    assert set(got[0]) == {"id", "instance_uuid", "status", "source_compute", "source_node", "dest_compute",
                           "dest_node", "dest_host", "old_instance_type_id", "new_instance_type_id",
                           "created_at", "updated_at"}
    assert (got[0]["old_instance_type_id"], got[0]["new_instance_type_id"]) == (1, 2)
    mid = _list(c, "2.23", instance_uuid=rows["server"]).json()["migrations"]
    assert [m["migration_type"] for m in mid] == ["resize", "migration", "live-migration"]
    assert "links" not in mid[0] and "links" not in mid[1]
    live_id = rows["ids"][2][0]
    assert mid[2]["links"][0]["href"].endswith(f"{V}/servers/{rows['server']}/migrations/{live_id}")
    new = _list(c, "2.59", instance_uuid=rows["server"]).json()
    assert [m["uuid"] for m in new["migrations"]] == [u for _, u in reversed(rows["ids"])]  # newest first
    assert "migrations_links" not in new


def test_filters_and_paging(sqlite_controller, rows):
    c = sqlite_controller
    sid = rows["server"]
    by = _list(c, "2.23", instance_uuid=sid, migration_type="resize").json()["migrations"]
    assert [m["migration_type"] for m in by] == ["resize"]
    host = _list(c, "2.23", instance_uuid=sid, host="cmp3").json()["migrations"]
    assert [m["dest_compute"] for m in host] == ["cmp3"]
    page = _list(c, "2.59", instance_uuid=sid, limit="2").json()
    assert len(page["migrations"]) == 2
    nxt = page["migrations_links"][0]["href"]
    marker = page["migrations"][-1]["uuid"]
    assert nxt.endswith(f"/os-migrations?limit=2&marker={marker}")
    rest = _list(c, "2.59", instance_uuid=sid, limit="2", marker=marker).json()["migrations"]
    assert [m["uuid"] for m in rest] == [rows["ids"][0][1]]
    since = (rows["now"] - timedelta(minutes=90)).isoformat()
    recent = _list(c, "2.59", instance_uuid=sid, **{"changes-since": since}).json()["migrations"]
    assert [m["migration_type"] for m in recent] == ["live-migration"]
    before = (rows["now"] - timedelta(minutes=150)).isoformat()
    assert _list(c, "2.66", instance_uuid=sid, **{"changes-before": before}).json()["migrations"][0][
        "migration_type"] == "resize"
    # before 2.66 changes-before is unknown (2.59 refuses unknown parameters), before 2.59 ignored
    assert _list(c, "2.59", **{"changes-before": before}).status_code == 400
    assert len(_list(c, "2.58", instance_uuid=sid, **{"changes-since": since}).json()["migrations"]) == 3
    bad = _list(c, "2.59", marker=str(uuid.uuid4()))
    assert bad.status_code == 400 and "could not be found" in bad.json()["badRequest"]["message"]
    wrong = _list(c, "2.66", **{"changes-since": since, "changes-before": before})
    assert wrong.status_code == 400
    assert "changes-since must be less than or equal to changes-before" in wrong.text


def test_server_migrations_and_policy(sqlite_controller, rows):
    c = sqlite_controller
    sid = rows["server"]
    live_id = rows["ids"][2][0]
    r = c.request("GET", f"{V}/servers/{sid}/migrations", headers=_hdr("2.23"))
    assert r.status_code == 200, r.text
    (m,) = r.json()["migrations"]
    assert (m["id"], m["server_uuid"], m["status"], m["dest_compute"]) == (live_id, sid, "running", "cmp3")
    assert "uuid" not in m
    one = c.request("GET", f"{V}/servers/{sid}/migrations/{live_id}", headers=_hdr("2.59")).json()["migration"]
    assert one["uuid"] == rows["ids"][2][1]
    done = c.request("GET", f"{V}/servers/{sid}/migrations/{rows['ids'][0][0]}", headers=_hdr("2.23"))
    assert done.status_code == 404
    assert "In-progress live migration" in done.json()["itemNotFound"]["message"]
    assert c.request("GET", f"{V}/servers/{sid}/migrations", headers=_hdr("2.22")).status_code == 404
    member = c.new_project_user("member", prefix="mig")
    token = c.token(member)
    r = _list(c, "2.1", token=token)
    assert r.status_code == 403
    assert r.json()["forbidden"]["message"] == \
        "Policy doesn't allow os_compute_api:os-migrations:index to be performed."


def test_sdk_and_cli_read_migrations(sqlite_controller, rows):
    c = sqlite_controller
    conn = c.conn()
    got = [m for m in conn.compute.migrations() if m.server_id == rows["server"]]
    assert sorted(m.status for m in got) == ["confirmed", "finished", "running"]
    out = c.cli("server", "migration", "list", "--host", "cmp1", "-f", "json")
    mine = [row for row in out if row["Server UUID"] == rows["server"]]
    assert sorted((row["Status"], row["Dest Compute"]) for row in mine) == [
        ("confirmed", "cmp2"), ("finished", "cmp1")]
