"""The pipeline through the running controller: a template posted to /stratus/v1/jobs
runs with ansible-runner against localhost (registry from inventories/aio), its events
and resource states are visible through the API and `stratus job show`; a controller
killed mid-job finishes or fails the job after its restart, never leaves it stuck."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from stratus.jobs import runner
from tests.api.conftest import REPO

pytestmark = [pytest.mark.api, pytest.mark.orchestration]
FINAL = ("SUCCEEDED", "FAILED", "CANCELLED")


def task(module, args, **kw):
    return {"type": "Stratus::Ansible::Task", "properties": {"module": module, "args": args}, **kw}


def tpl(**resources):
    return {"heat_template_version": "2018-08-31", "resources": resources}


@pytest.fixture(scope="module")
def registered(controller):
    """The shared controller with this machine registered as the all-in-one's hosts, for
    this module only: the hosts leave the registry after it, so later tests on the same
    controller (networks with DHCP, ports) do not realize anything on this machine."""
    from stratus.db.models.hosts import Host
    from stratus.db.session import Database

    db = Database(controller.database_url)
    with db.session() as s:
        before = set(s.scalars(select(Host.name)))
    controller.stratus("host", "sync", "-i", str(REPO / "inventories/aio"))
    yield controller
    with db.session() as s:
        for host in s.scalars(select(Host).where(Host.name.not_in(before))):
            s.delete(host)
    db.dispose()


def wait_job(c, job_id, timeout=60, statuses=FINAL):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = c.request("GET", f"/stratus/v1/jobs/{job_id}").json()["job"]
        if job["status"] in statuses:
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job['status']} after {timeout}s")


def test_template_runs_and_events_are_visible(registered, tmp_path):
    c = registered
    body = {"template": tpl(
        folder=task("ansible.builtin.file", {"path": str(tmp_path / "d"), "state": "directory"}),
        note=task("ansible.builtin.copy", {
            "dest": {"list_join": ["/", [{"get_attr": ["folder", "result", "path"]}, "note.txt"]]},
            "content": {"get_param": "text"}}),
    ) | {"parameters": {"text": {"type": "string"}}}, "parameters": {"text": "made by a job\n"}}
    r = c.request("POST", "/stratus/v1/jobs", json=body)
    assert r.status_code == 202, r.text
    rid = r.headers["X-Openstack-Request-Id"]
    job = r.json()["job"]
    assert job["status"] == "QUEUED" and {x["status"] for x in job["resources"]} == {"BUILD"}
    job = wait_job(c, job["id"])
    assert job["status"] == "SUCCEEDED", job["status_reason"]
    assert (tmp_path / "d" / "note.txt").read_text() == "made by a job\n"
    assert {x["name"]: x["status"] for x in job["resources"]} == {"folder": "ACTIVE", "note": "ACTIVE"}
    events = c.request("GET", f"/stratus/v1/jobs/{job['id']}/events").json()["events"]
    oks = [(e["resource_name"], e["status"]) for e in events if e["event"] == "runner_on_ok"]
    assert oks == [("folder", "changed"), ("note", "changed")]
    assert {e["request_id"] for e in events} == {rid}
    res = c.request("GET", f"/stratus/v1/resources/{job['resources_by_name']['note']}").json()["resource"]
    assert res["attributes"]["result"]["dest"] == str(tmp_path / "d" / "note.txt")
    # the same through the CLI
    out = c.stratus("job", "show", job["id"]).stdout
    assert "SUCCEEDED" in out and "runner_on_ok" in out and "note" in out
    assert job["id"] in c.stratus("job", "list", "--status", "succeeded").stdout


def test_failing_task_makes_the_resource_error(registered):
    c = registered
    r = c.request("POST", "/stratus/v1/jobs", json={"template": tpl(
        broken=task("ansible.builtin.command", {"argv": ["ls", "/nonexistent-stratus-dir"]}))})
    job = wait_job(c, r.json()["job"]["id"])
    assert job["status"] == "FAILED"
    (res,) = job["resources"]
    assert res["status"] == "ERROR" and "No such file or directory" in res["status_reason"]
    assert "broken on localhost" in job["status_reason"]


def test_bad_template_and_member_are_refused(registered):
    c = registered
    r = c.request("POST", "/stratus/v1/jobs", json={"template": tpl(a={"type": "OS::Nope"})})
    assert r.status_code == 400 and "resources.a.type: unknown resource type" in r.text
    member = c.new_project_user("member", prefix="jobs")
    r = c.request("GET", "/stratus/v1/jobs", token=c.token(member))
    assert r.status_code == 403
    assert c.request("GET", "/stratus/v1/jobs/nope").status_code == 404


def test_cancel_through_the_api(registered):
    c = registered
    r = c.request("POST", "/stratus/v1/jobs", json={"template": tpl(
        nap=task("ansible.builtin.command", {"argv": ["sleep", "60"]}))})
    job_id = r.json()["job"]["id"]
    wait_job(c, job_id, 30, statuses=("RUNNING",))
    assert c.request("POST", f"/stratus/v1/jobs/{job_id}/cancel").status_code == 202
    job = wait_job(c, job_id, 30)
    assert job["status"] == "CANCELLED"


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_controller_killed_mid_job_is_never_stuck(controller_factory, backend):
    c = controller_factory(backend)
    c.stratus("host", "sync", "-i", str(REPO / "inventories/aio"))
    nap = tpl(nap=task("ansible.builtin.command", {"argv": ["sleep", "3"]}))
    again = c.request("POST", "/stratus/v1/jobs", json={"template": nap, "max_attempts": 2}).json()["job"]["id"]
    once = c.request("POST", "/stratus/v1/jobs", json={"template": nap, "max_attempts": 1}).json()["job"]["id"]
    wait_job(c, again, 30, statuses=("RUNNING",))
    wait_job(c, once, 30, statuses=("RUNNING",))
    c.proc.kill()  # SIGKILL the `stratus serve` process mid-job
    c.proc.wait()
    c.start()
    a, b = wait_job(c, again, 60), wait_job(c, once, 60)
    assert a["status"] == "SUCCEEDED" and a["attempts"] == 2
    assert b["status"] == "FAILED" and b["status_reason"] == "controller restarted while the job ran"
    events = c.request("GET", f"/stratus/v1/jobs/{again}/events").json()["events"]
    assert [e["event"] for e in events].count("job_recovered") == 1
    assert not runner.processes_of(f"{again}-1"), "a process of the killed run is left"
    assert not runner.processes_of(f"{once}-1")


def test_inventory_plugin_reads_the_registry_through_the_api(registered, tmp_path):
    import json
    import os
    import subprocess

    cfg = tmp_path / "api.stratus.yml"
    cfg.write_text(f"plugin: stratus.cloud.controller\napi_url: {registered.url}\n"
                   f"token: {registered.admin_token()}\n")
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg")}
    out = subprocess.run([str(REPO / ".venv/bin/ansible-inventory"), "-i", str(cfg), "--list"],
                         capture_output=True, text=True, env=env, cwd=REPO)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    for group in ("controller", "compute", "network", "block_storage", "object_storage"):
        assert got[group]["hosts"] == ["localhost"]
    hosts = registered.request("GET", "/stratus/v1/hosts").json()["hosts"]
    assert [h["name"] for h in hosts] == ["localhost"]
