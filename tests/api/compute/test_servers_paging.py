"""Paging ``GET /servers`` on both database backends: for each sort (including columns
that are NULL for some servers, which SQLite and PostgreSQL order differently unless
told), walking the ``next`` links yields exactly the unpaged list, in its order."""

from __future__ import annotations

import pytest

from tests.api.compute.servers_helpers import (
    Nova,
    add_flavors,
    set_state,
    start_controller,
    upload_raw_image,
)

pytestmark = [pytest.mark.api, pytest.mark.compute]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def ctl(request, tmp_path_factory):
    factory, c = start_controller(request, tmp_path_factory, request.param)
    try:
        add_flavors(c)
        c.image_id = upload_raw_image(c)
        yield c
    finally:
        factory.close()


def walk(nova: Nova, path: str, params: dict) -> list[str]:
    r = nova("GET", path, params=params)
    assert r.status_code == 200, r.text
    got = [s["id"] for s in r.json()["servers"]]
    while "servers_links" in r.json():
        href = r.json()["servers_links"][0]["href"].replace(nova.ctl.url, "")
        r = nova.ctl.http.get(href, headers={"X-Auth-Token": nova.token,
                                             "OpenStack-API-Version": f"compute {nova.version}"})
        assert r.status_code == 200, r.text
        got += [s["id"] for s in r.json()["servers"]]
    return got


def test_paging_walks_every_sort_exactly_once(ctl):
    member = ctl.new_project_user("member", prefix="page")
    nova = Nova(ctl, member)
    nova.create(imageRef=ctl.image_id, min_count=7, max_count=7)
    rows = nova("GET", "/servers/detail").json()["servers"]
    assert len(rows) == 7
    for i, s in enumerate(rows[:3]):  # some with a host and a launch time, the rest NULL
        set_state(ctl, s["id"], "active", host=f"h{i % 2}", node=f"h{i % 2}", key_name=None if i else "k")
    admin = Nova(ctl)
    sorts = [{}, {"sort_key": "display_name", "sort_dir": "asc"}, {"sort_key": "display_name"},
             {"sort_key": "host", "sort_dir": "asc"}, {"sort_key": "host", "sort_dir": "desc"},
             {"sort_key": ["vm_state", "key_name"], "sort_dir": ["asc", "desc"]},
             {"sort_key": "key_name", "sort_dir": "asc"}]
    for sort in sorts:
        params = {"all_tenants": "1", "project_id": member.project_id, **sort}
        whole = walk(admin, "/servers/detail", params)
        assert len(whole) == 7 and len(set(whole)) == 7, sort
        for limit in (1, 2, 3):
            assert walk(admin, "/servers", {**params, "limit": limit}) == whole, (sort, limit)
    names = [s["name"] for s in nova("GET", "/servers", params={"sort_key": "display_name",
                                                                 "sort_dir": "asc"}).json()["servers"]]
    assert names == [f"vm-{i}" for i in range(1, 8)]
