"""The one qemu-img runner at the argv level: compute's and block storage's options, typed errors."""

from __future__ import annotations

import json

import pytest

from ansible_collections.stratus.cloud.plugins.module_utils.common.command import CommandFailed
from ansible_collections.stratus.cloud.plugins.module_utils.common.qemu_img import QemuImg
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import (
    CommandFailed as ComputeCommandFailed,
)
from ansible_collections.stratus.cloud.plugins.module_utils.compute.errors import InvalidInput
from ansible_collections.stratus.cloud.plugins.module_utils.storage import errors as storage_errors


class Recorder:
    def __init__(self, rc: int = 0, out: str = '{"virtual-size": 7, "format": "raw"}'):
        self.calls: list[list[str]] = []
        self.rc, self.out = rc, out

    def __call__(self, argv):
        self.calls.append(list(argv))
        return self.rc, self.out, "boom" if self.rc else ""


def test_compute_argv():
    rec = Recorder(out=json.dumps({"virtual-size": 5, "format": "qcow2"}))
    q = QemuImg(rec)
    q.create_overlay("/i/disk", "/b/img", "raw", 2 * 1024**3)
    q.create("/i/disk.swap", 1024, "qcow2")
    q.convert("/a", "/b", "raw", src_format="qcow2")
    assert q.virtual_size("/i/disk") == 5
    assert rec.calls == [
        ["qemu-img", "create", "-q", "-f", "qcow2", "-b", "/b/img", "-F", "raw", "/i/disk", str(2 * 1024**3)],
        ["qemu-img", "create", "-q", "-f", "qcow2", "/i/disk.swap", "1024"],
        ["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", "/a", "/b"],
        ["qemu-img", "info", "--output=json", "-U", "/i/disk"],
    ]


def test_compute_errors_are_typed():
    with pytest.raises(ComputeCommandFailed) as exc:
        QemuImg(Recorder(rc=1), error=ComputeCommandFailed, invalid=InvalidInput).info("/nope")
    assert exc.value.rc == 1 and exc.value.argv[0] == "qemu-img" and "boom" in str(exc.value)
    with pytest.raises(InvalidInput):
        QemuImg(Recorder(), error=ComputeCommandFailed, invalid=InvalidInput).create("/x", 1, "vmdk")


def test_storage_options_argv():
    rec = Recorder()
    q = QemuImg(rec)
    q.create("/v/volume-a", 4096, "raw", preallocation="off")
    q.convert("/img", "/dev/vg/volume-b", "raw", "qcow2", existing=True, target_is_zero=True)
    q.convert("/v/volume-a", "/v/snapshot-s", "qcow2", "qcow2", force_share=True)
    q.convert("/a", "/b", "raw", target_is_zero=True)  # --target-is-zero only with -n
    q.resize("/v/volume-a", 8192, "raw")
    assert q.virtual_size("/v/volume-a", "raw") == 7
    assert rec.calls == [
        ["qemu-img", "create", "-q", "-f", "raw", "-o", "preallocation=off", "/v/volume-a", "4096"],
        ["qemu-img", "convert", "-q", "-f", "qcow2", "-O", "raw", "-n", "--target-is-zero", "/img", "/dev/vg/volume-b"],
        ["qemu-img", "convert", "-q", "-U", "-f", "qcow2", "-O", "qcow2", "/v/volume-a", "/v/snapshot-s"],
        ["qemu-img", "convert", "-q", "-O", "raw", "/a", "/b"],
        ["qemu-img", "resize", "-q", "-f", "raw", "/v/volume-a", "8192"],
        ["qemu-img", "info", "--output=json", "-U", "-f", "raw", "/v/volume-a"],
    ]


def test_errors_are_the_callers_types():
    with pytest.raises(CommandFailed) as exc:
        QemuImg(Recorder(rc=1)).info("/nope")
    assert type(exc.value) is CommandFailed and exc.value.rc == 1 and "boom" in str(exc.value)
    with pytest.raises(storage_errors.CommandFailed) as exc:
        QemuImg(Recorder(rc=1), error=storage_errors.CommandFailed).resize("/nope", 1)
    assert isinstance(exc.value, storage_errors.StorageError) and exc.value.argv[:2] == ["qemu-img", "resize"]
    with pytest.raises(storage_errors.InvalidRequest, match="vmdk"):
        QemuImg(Recorder(), invalid=storage_errors.InvalidRequest).create("/x", 1, "vmdk")
    with pytest.raises(ValueError):
        QemuImg(Recorder()).convert("/a", "/b", "vmdk")
