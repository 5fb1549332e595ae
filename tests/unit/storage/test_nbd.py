"""NBD exporter at the argv level: the daemon's command line and the nftables allow-list."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.storage.errors import (
    CommandFailed,
    InUse,
    InvalidRequest,
)
from ansible_collections.stratus.cloud.plugins.module_utils.storage.nbd import (
    Export,
    NBDExporter,
    NftAllowList,
    export_name,
)


def exp(**kw):
    base = {"name": export_name("v1", "a1"), "volume_id": "v1", "attachment_id": "a1",
            "path": "/srv/volume-v1", "host": "198.18.0.2", "port": 10809}
    return Export(**{**base, **kw})


def test_daemon_argv_raw_and_qcow2(tmp_path, fake_run):
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path))
    argv = ex.daemon_argv(exp())
    assert argv == [
        "/usr/bin/qemu-storage-daemon",
        "--blockdev", "driver=file,node-name=file0,filename=/srv/volume-v1",
        "--nbd-server", "addr.type=inet,addr.host=198.18.0.2,addr.port=10809",
        "--export", "type=nbd,id=export0,node-name=file0,name=volume-v1-a1,writable=on",
        "--pidfile", str(tmp_path / "volume-v1-a1.pid"), "--daemonize",
    ]
    argv = ex.daemon_argv(exp(format="qcow2", multiattach=True, path="/srv/a,b"))
    assert argv[2] == "driver=file,node-name=file0,filename=/srv/a,,b,locking=off"
    assert argv[3:5] == ["--blockdev", "driver=qcow2,node-name=fmt0,file=file0"]
    assert "node-name=fmt0,name=volume-v1-a1" in argv[8]


def test_netns_prefixes_every_command(tmp_path, fake_run):
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path), netns="storage1")
    ex.nft.apply([exp(allowed=("198.18.0.1",))])
    assert fake_run.calls[-1][:5] == ["ip", "netns", "exec", "storage1", "nft"]


def test_allow_list_rules_per_port():
    text = NftAllowList(lambda argv: "").render(
        [exp(allowed=("198.18.0.1", "fd00::1")), exp(name="other", port=10810), exp(name="x", port=10811, allowed=("198.18.0.9",))]
    )
    assert "tcp dport 10809 ip saddr { 198.18.0.1 } accept" in text
    assert "tcp dport 10809 ip6 saddr { fd00::1 } accept" in text
    assert 'tcp dport 10809 reject with tcp reset comment "volume-v1-a1"' in text
    # an export without an allow-list is closed: only the reject (fail closed)
    assert "tcp dport 10810 ip" not in text and 'tcp dport 10810 reject with tcp reset comment "other"' in text
    assert text.index("10809") < text.index("10811")


def test_in_sync_reads_the_digest_comment():
    wanted = [exp(allowed=("198.18.0.1",))]
    nft = NftAllowList(lambda argv: "")
    digest = nft.digest_of(nft.render(wanted))
    listing = f'table inet stratus_nbd {{\n\tcomment "{digest}"\n}}\n'
    assert NftAllowList(lambda argv: listing).in_sync(wanted)
    assert not NftAllowList(lambda argv: listing).in_sync([exp(allowed=("198.18.0.7",))])


def test_second_attachment_of_a_single_attach_volume_is_refused(tmp_path, fake_run):
    (tmp_path / "volume-v1-a1.json").write_text(json.dumps({**exp().__dict__, "allowed": [], "running": True}))
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path))
    with pytest.raises(InUse, match="a1"):
        ex.plan(exp(name=export_name("v1", "a2"), attachment_id="a2", port=0, allowed=("198.18.0.1",)))
    assert not fake_run.calls


def test_exports_fail_closed_without_an_allow_list(tmp_path, fake_run):
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path))
    for allowed in ((), None):
        with pytest.raises(InvalidRequest, match="no 'allowed'.*fail closed"):
            ex.plan(exp(allowed=allowed or ()))
    assert not fake_run.calls and not list(tmp_path.iterdir())


@pytest.mark.parametrize(("field", "value", "match"), [
    ("allowed", ("10.0.0.1, 0.0.0.0/0",), "allowed entry"),
    ("allowed", ("1.2.3.4 accept",), "allowed entry"),
    ("allowed", ("10.0.0.1\n0.0.0.0/0",), "allowed entry"),
    ("allowed", ("fe80::1%eth0",), "scope id"),
    ("allowed", ("10.0.0.1/33",), "allowed entry"),
    ("host", "198.18.0.2,addr.port=22", "host"),
    ("host", "198.18.0.2 accept", "host"),
    ("host", "fe80::1%lo", "scope id"),
    ("attachment_id", 'a"; flush ruleset; "', "attachment id"),
    ("netns", "../../proc/1/ns/net", "netns"),
    ("port", 70000, "TCP port"),
])
def test_rule_text_never_reaches_the_daemon_or_nft(tmp_path, fake_run, field, value, match):
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path))
    with pytest.raises(InvalidRequest, match=match):
        ex.plan(exp(**{"allowed": ("198.18.0.1",), field: value}))
    assert not fake_run.calls and not list(tmp_path.iterdir())


def test_allowed_entries_are_canonical_addresses_and_prefixes(tmp_path, fake_run):
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path))
    _, _, after = ex.plan(exp(allowed=("198.18.0.1", "10.1.0.0/16", "FD00::0001", "198.18.0.1")))
    assert after.allowed == ("10.1.0.0/16", "198.18.0.1", "fd00::1")


def test_a_namespace_firewall_holds_only_its_own_exports(tmp_path, fake_run):
    """The state directory is the host's; another namespace's export (another storage
    host stand-in, same port) must not put its reject into this namespace's table."""
    other = exp(name=export_name("v2", "a2"), volume_id="v2", attachment_id="a2", netns="storage2",
                allowed=("198.18.1.1",))
    (tmp_path / f"{other.name}.json").write_text(json.dumps(
        {k: v for k, v in other.__dict__.items() if k != "running"}))
    ex = NBDExporter(fake_run.checked(CommandFailed), str(tmp_path), netns="storage1")
    assert [e.name for e in ex.here()] == []
    mine = exp(netns="storage1", allowed=("198.18.0.1",))
    (tmp_path / f"{mine.name}.json").write_text(json.dumps({k: v for k, v in mine.__dict__.items() if k != "running"}))
    assert [e.name for e in ex.here()] == [mine.name]
