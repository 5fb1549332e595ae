"""Tenant isolation on every image endpoint, and the list query, on SQLite and
PostgreSQL (null ordering, keyset paging and the visibility SQL differ between them)."""

from __future__ import annotations

import pytest

from tests.api.image.conftest import Glance, fault


@pytest.fixture(scope="module")
def owner(controller):
    return Glance(controller, controller.new_project_user(prefix="isoa"))


@pytest.fixture(scope="module")
def stranger(controller):
    return Glance(controller, controller.new_project_user(prefix="isob"))


class TestOnEveryBackend:
    def test_another_projects_image_is_404_everywhere_and_unchanged(self, owner, stranger):
        img = owner.create(name="mine", visibility="shared", os_distro="debian", tags=["t"])
        image_id, me = img["id"], stranger.project_id
        attempts = [
            ("GET", f"/images/{image_id}", {}),
            ("PATCH", f"/images/{image_id}", {"json": [{"op": "replace", "path": "/name", "value": "x"}],
                                              "headers": {"Content-Type": "application/openstack-images-v2.1-json-patch"}}),
            ("DELETE", f"/images/{image_id}", {}),
            ("POST", f"/images/{image_id}/actions/deactivate", {}),
            ("POST", f"/images/{image_id}/actions/reactivate", {}),
            ("PUT", f"/images/{image_id}/tags/stolen", {}),
            ("DELETE", f"/images/{image_id}/tags/t", {}),
            ("GET", f"/images/{image_id}/members", {}),
            ("POST", f"/images/{image_id}/members", {"json": {"member": me}}),
            ("GET", f"/images/{image_id}/members/{me}", {}),
            ("PUT", f"/images/{image_id}/members/{me}", {"json": {"status": "accepted"}}),
            ("DELETE", f"/images/{image_id}/members/{owner.project_id}", {}),
        ]
        for method, path, kw in attempts:
            fault(stranger(method, path, **kw), 404, image_id)
            assert owner.show(image_id) == img, (method, path)
            assert owner("GET", f"/images/{image_id}/members").json()["members"] == []
        assert image_id not in stranger.ids(visibility="all", member_status="all")
        assert image_id not in stranger.ids(id=image_id)
        # a marker the caller cannot see is refused as Glance refuses an unknown one
        fault(stranger("GET", "/images", params={"marker": image_id}), 400, f"No image found with ID {image_id}")
        assert owner("DELETE", f"/images/{image_id}").status_code == 204

    def test_filters_sort_and_paging(self, owner):
        specs = [dict(name="b", disk_format="raw", tags=["x"], os_type="linux"),
                 dict(name=None, disk_format="qcow2"),
                 dict(name="a", disk_format=None, tags=["x", "y"], os_type="linux"),
                 dict(name="c", disk_format="qcow2", protected=True)]
        made = [owner.create(container_format="bare", **s) for s in specs]
        by = {i["name"]: i["id"] for i in made}
        try:
            def names(**p):
                p.setdefault("owner", owner.project_id)
                return [i["name"] for i in owner("GET", "/images", params=p).json()["images"]]

            assert names(sort="name:asc") == [None, "a", "b", "c"]
            assert names(sort="name:desc") == ["c", "b", "a", None]
            assert names(sort="disk_format:asc,name:asc") == ["a", None, "c", "b"]
            pages, marker = [], None
            while True:
                params = {"sort": "name:asc", "limit": "3", "owner": owner.project_id}
                if marker:
                    params["marker"] = marker
                body = owner("GET", "/images", params=params).json()
                pages.append([i["name"] for i in body["images"]])
                if "next" not in body:
                    break
                marker = body["images"][-1]["id"]
            assert pages == [[None, "a", "b"], ["c"]]
            assert set(owner.ids(os_type="linux")) == {by["a"], by["b"]}
            assert owner.ids(tag="y") == [by["a"]]
            assert set(owner.ids(disk_format="in:raw,qcow2", protected="false")) == {by["b"], by[None]}
            assert set(owner.ids(name='in:a,"c"')) == {by["a"], by["c"]}
            oldest = min(i["created_at"] for i in made)
            assert set(owner.ids(created_at=f"gte:{oldest}", owner=owner.project_id)) == set(by.values())
            assert owner.ids(created_at=f"lt:{oldest}", owner=owner.project_id) == []
        finally:
            owner.patch(by["c"], [{"op": "replace", "path": "/protected", "value": False}])
            for i in made:
                owner("DELETE", f"/images/{i['id']}")
