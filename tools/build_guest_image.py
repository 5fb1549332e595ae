#!/usr/bin/env python3
"""Build the tiny Stratus test guest offline from Debian packages, cached.

The guest is Debian 12's kernel plus a busybox initramfs whose /init
(``tools/guest/init``) reads an OpenStack config drive, configures its NICs, runs
user_data and prints ``STRATUS-GUEST ...`` markers on the serial console. It boots from
a raw disk (MBR + one FAT16 partition with SYSLINUX) and from the qcow2 made of it.

    python3 tools/build_guest_image.py      # prints {"raw": ..., "qcow2": ..., ...}

    from build_guest_image import build
    paths = build()                          # same dict; a cache hit returns at once

The kernel is Debian's generic ``linux-image-amd64`` flavour, not ``-cloud-amd64``:
the cloud flavour has no AHCI driver, so it cannot see a config drive on a SATA cdrom,
which is where Nova (and Stratus) attach it on q35 machines.

Output goes to ``/var/cache/stratus/guest-image/<key>/`` (``STRATUS_GUEST_IMAGE_CACHE``
overrides the base), where the key hashes this script, ``tools/guest/*`` and the
kernel and busybox versions. Needs: apt-get, dpkg-deb, depmod (kmod), mkfs.fat
(dosfstools), mcopy (mtools), syslinux, qemu-img, busybox-static.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import stat
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
GUEST_DIR = HERE / "guest"
DEFAULT_CACHE = Path("/var/cache/stratus/guest-image")
KERNEL_META_PACKAGE = "linux-image-amd64"
BUSYBOX = Path("/bin/busybox")
SYSLINUX_MBR = Path("/usr/lib/syslinux/mbr/mbr.bin")
SYSLINUX_MODULES = Path("/usr/lib/syslinux/modules/bios")
KERNEL_CMDLINE = "console=ttyS0,115200 quiet panic=-1"
DISK_MIB = 32
PART_START_SECTOR = 2048

# Loaded in this order by /init; dependencies come from modules.dep (depmod at build).
MODULES = [
    "virtio_pci", "virtio_blk", "virtio_net", "virtio_scsi", "virtio_console",
    "virtio_rng", "libata", "ahci", "ata_piix", "ata_generic", "sd_mod", "sr_mod",
    "cdrom", "isofs", "nls_cp437",
    "nls_ascii", "nls_iso8859-1", "nls_utf8", "vfat", "ext4",
    "e1000", "af_packet", "button", "evdev",
]


class BuildError(RuntimeError):
    """A step of the image build failed; the message says which and why."""


def _run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(argv, capture_output=True, **kw)
    if proc.returncode != 0:
        err = proc.stderr.decode(errors="replace") if isinstance(proc.stderr, bytes) else proc.stderr
        raise BuildError(f"{' '.join(map(str, argv))} failed (rc={proc.returncode}): {err.strip()}")
    return proc


def kernel_package(base: Path | None = None) -> str:
    """The real package name behind linux-image-amd64, e.g. linux-image-6.1.0-56-amd64.

    apt-cache takes seconds on a busy host, so the answer is remembered in ``base``
    until apt's package lists change (``apt-get update`` touches /var/lib/apt/lists).
    """
    lists = Path("/var/lib/apt/lists")
    stamp = str(lists.stat().st_mtime_ns) if lists.exists() else ""
    memo = base / "kernel-package.json" if base else None
    if memo and stamp:
        try:
            saved = json.loads(memo.read_text())
            if saved.get("lists") == stamp:
                return saved["package"]
        except (OSError, ValueError, KeyError):
            pass
    out = _run(["apt-cache", "depends", KERNEL_META_PACKAGE], text=True).stdout
    for line in out.splitlines():
        line = line.strip()
        if line.startswith("Depends:") and "linux-image-" in line:
            package = line.split()[1]
            if memo and stamp and memo.parent.is_dir():
                tmp = memo.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps({"lists": stamp, "package": package}))
                tmp.replace(memo)
            return package
    raise BuildError(f"apt-cache depends {KERNEL_META_PACKAGE} names no linux-image package")


def _busybox_version() -> str:
    out = subprocess.run([str(BUSYBOX)], capture_output=True, text=True).stdout
    return out.splitlines()[0] if out else "unknown"


def cache_key(kpkg: str) -> str:
    h = hashlib.sha256()
    h.update(Path(__file__).read_bytes())
    for f in sorted(GUEST_DIR.iterdir()):
        h.update(f.name.encode() + b"\0" + f.read_bytes())
    h.update(kpkg.encode() + b"\0" + _busybox_version().encode())
    return h.hexdigest()[:16]


def _fetch_deb(kpkg: str, debs: Path) -> Path:
    found = sorted(debs.glob(f"{kpkg}_*.deb"))
    if found:
        return found[-1]
    debs.mkdir(parents=True, exist_ok=True)
    # apt-get download writes to the current directory; _apt cannot write root's
    # private dirs, which only costs a warning.
    _run(["apt-get", "download", "-q", kpkg], cwd=debs)
    found = sorted(debs.glob(f"{kpkg}_*.deb"))
    if not found:
        raise BuildError(f"apt-get download {kpkg} left no .deb in {debs}")
    return found[-1]


class Cpio:
    """A newc cpio archive written in memory: deterministic, no root or mknod needed."""

    def __init__(self) -> None:
        self.buf = io.BytesIO()
        self.ino = 1

    def _entry(self, name: str, mode: int, data: bytes = b"", rdev: tuple[int, int] = (0, 0)):
        namez = name.encode() + b"\0"
        hdr = "070701" + "".join(
            f"{v:08x}"
            for v in (self.ino, mode, 0, 0, 1, 0, len(data), 0, 0, rdev[0], rdev[1], len(namez), 0)
        )
        self.ino += 1
        self.buf.write(hdr.encode() + namez)
        self.buf.write(b"\0" * (-(110 + len(namez)) % 4))
        self.buf.write(data)
        self.buf.write(b"\0" * (-len(data) % 4))

    def dir(self, name: str) -> None:
        self._entry(name, stat.S_IFDIR | 0o755)

    def file(self, name: str, data: bytes, perm: int = 0o644) -> None:
        self._entry(name, stat.S_IFREG | perm, data)

    def symlink(self, name: str, target: str) -> None:
        self._entry(name, stat.S_IFLNK | 0o777, target.encode())

    def chardev(self, name: str, major: int, minor: int) -> None:
        self._entry(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def finish(self) -> bytes:
        self.ino = 0
        self._entry("TRAILER!!!", 0)
        return self.buf.getvalue()


def _module_closure(modroot: Path, kver: str) -> list[Path]:
    """The .ko files of MODULES and everything they depend on (paths under modroot)."""
    files: set[Path] = set()
    for mod in MODULES:
        proc = subprocess.run(
            ["modprobe", "-d", str(modroot), "-S", kver, "--show-depends", mod],
            capture_output=True,
            text=True,
        )
        for line in proc.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "insmod":
                files.add(Path(parts[1]))
    if not files:
        raise BuildError("no kernel modules resolved; is kmod's modprobe installed?")
    return sorted(files)


def _initramfs(work: Path, kver: str) -> bytes:
    modroot = work / "kernel"
    moddir = modroot / "lib/modules" / kver
    cpio = Cpio()
    for d in ("bin", "sbin", "usr", "usr/bin", "usr/sbin", "etc", "proc", "sys", "dev", "run",
              "tmp", "mnt", "root", "lib", "lib/modules"):
        cpio.dir(d)
    cpio.chardev("dev/console", 5, 1)
    cpio.chardev("dev/null", 1, 3)
    cpio.chardev("dev/ttyS0", 4, 64)
    cpio.file("bin/busybox", BUSYBOX.read_bytes(), 0o755)
    applets = _run([str(BUSYBOX), "--list-full"], text=True).stdout.split()
    for path in applets:
        if path != "bin/busybox" and path.split("/")[0] in ("bin", "sbin", "usr"):
            cpio.symlink(path, "/bin/busybox")
    cpio.file("init", (GUEST_DIR / "init").read_bytes(), 0o755)
    cpio.file("etc/udhcpc.script", (GUEST_DIR / "udhcpc.script").read_bytes(), 0o755)
    cpio.file("etc/jsonflat.awk", (GUEST_DIR / "jsonflat.awk").read_bytes())
    # Heat's guest side: deployments (os-collect-config + heat-config) and curl_cli
    cpio.file("usr/bin/stratus-collect", (GUEST_DIR / "stratus-collect").read_bytes(), 0o755)
    cpio.file("usr/bin/curl", (GUEST_DIR / "curl").read_bytes(), 0o755)
    cpio.file("etc/modules", ("\n".join(MODULES) + "\n").encode())
    # busybox acpid runs /etc/acpi/PWRF/00000080 when the ACPI power button is pressed
    # (virsh shutdown / reboot send it): a clean, immediate power-off.
    cpio.dir("etc/acpi")
    cpio.dir("etc/acpi/PWRF")
    cpio.file("etc/acpi/PWRF/00000080", (GUEST_DIR / "power-button").read_bytes(), 0o755)
    cpio.file("etc/hosts", b"127.0.0.1 localhost\n")
    cpio.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    cpio.file("etc/group", b"root:x:0:\n")
    cpio.file("etc/profile", b"export PATH=/sbin:/bin:/usr/sbin:/usr/bin HOME=/root\nPS1='\\h:\\w# '\n")

    # The module subset, re-indexed by depmod so busybox modprobe resolves dependencies.
    sub = work / "initmods"
    subdir = sub / "lib/modules" / kver
    for ko in _module_closure(modroot, kver):
        dest = subdir / ko.relative_to(moddir)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ko, dest)
    for f in ("modules.order", "modules.builtin", "modules.builtin.modinfo"):
        if (moddir / f).exists():
            shutil.copy2(moddir / f, subdir / f)
    _run(["depmod", "-b", str(sub), kver])
    for path in sorted(sub.rglob("*")):
        rel = str(path.relative_to(sub))
        if path.is_dir():
            cpio.dir(rel)
        elif not rel.endswith(".bin"):  # busybox modprobe reads the text indexes
            cpio.file(rel, path.read_bytes())
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as gz:
        gz.write(cpio.finish())
    return out.getvalue()


def _mbr(total_sectors: int) -> bytes:
    """syslinux's MBR boot code and one active FAT16 (LBA) partition from 1 MiB."""
    code = SYSLINUX_MBR.read_bytes()[:440].ljust(440, b"\0")
    nsect = total_sectors - PART_START_SECTOR
    entry = struct.pack(
        "<B3sB3sII", 0x80, b"\xfe\xff\xff", 0x0E, b"\xfe\xff\xff", PART_START_SECTOR, nsect
    )
    return code + b"\0" * 6 + entry + b"\0" * 48 + b"\x55\xaa"


def _disk(raw: Path, vmlinuz: Path, initrd: Path) -> None:
    total = DISK_MIB * 2048
    with open(raw, "wb") as f:
        f.truncate(total * 512)
        f.write(_mbr(total))
    part_kib = (total - PART_START_SECTOR) // 2
    offset = PART_START_SECTOR * 512
    _run(["mkfs.fat", "-F", "16", "-n", "STRATUS", "-h", str(PART_START_SECTOR),
          "--offset", str(PART_START_SECTOR), str(raw), str(part_kib)])
    cfg = (
        "DEFAULT stratus\nPROMPT 0\nTIMEOUT 0\nSERIAL 0 115200\n"
        f"LABEL stratus\n  KERNEL /vmlinuz\n  INITRD /initrd.gz\n  APPEND {KERNEL_CMDLINE}\n"
    )
    cfg_path = raw.parent / "syslinux.cfg"
    cfg_path.write_text(cfg)
    img = f"{raw}@@{offset}"
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1")
    _run(["mcopy", "-i", img, str(vmlinuz), "::/vmlinuz"], env=env)
    _run(["mcopy", "-i", img, str(initrd), "::/initrd.gz"], env=env)
    _run(["mcopy", "-i", img, str(cfg_path), "::/syslinux.cfg"], env=env)
    cfg_path.unlink()
    _run(["syslinux", "--offset", str(offset), "--install", str(raw)], env=env)


def build(cache_dir: Path | None = None) -> dict:
    """Build (or find cached) the guest image; returns paths and the kernel version.

    Keys: ``raw``, ``qcow2``, ``kernel`` (vmlinuz), ``initrd`` (gzip cpio), ``version``
    (the kernel release), ``cmdline``, ``key`` (the cache key).
    """
    base = Path(cache_dir or os.environ.get("STRATUS_GUEST_IMAGE_CACHE") or DEFAULT_CACHE)
    kpkg = kernel_package(base)
    kver = kpkg.removeprefix("linux-image-")
    key = cache_key(kpkg)
    out = base / key
    manifest = out / "image.json"
    if manifest.exists():
        return json.loads(manifest.read_text())

    base.mkdir(parents=True, exist_ok=True)
    os.chmod(base, 0o755)
    deb = _fetch_deb(kpkg, base / "debs")
    with tempfile.TemporaryDirectory(dir=base, prefix=".build-") as tmp:
        work = Path(tmp)
        modroot = work / "kernel"
        modroot.mkdir()
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        _run(["tar", "-x", "-C", str(modroot), "./boot", "./lib/modules"], stdin=tar.stdout)
        if tar.wait() != 0:
            raise BuildError(f"dpkg-deb --fsys-tarfile {deb} failed (rc={tar.returncode})")
        _run(["depmod", "-b", str(modroot), kver])

        stage = work / "out"
        stage.mkdir()
        vmlinuz = stage / "vmlinuz"
        shutil.copy2(modroot / "boot" / f"vmlinuz-{kver}", vmlinuz)
        initrd = stage / "initrd.gz"
        initrd.write_bytes(_initramfs(work, kver))
        raw = stage / "disk.raw"
        _disk(raw, vmlinuz, initrd)
        _run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", "-c", str(raw),
              str(stage / "disk.qcow2")])
        for p in stage.iterdir():
            os.chmod(p, 0o644)
        os.chmod(stage, 0o755)
        result = {
            "raw": str(out / "disk.raw"),
            "qcow2": str(out / "disk.qcow2"),
            "kernel": str(out / "vmlinuz"),
            "initrd": str(out / "initrd.gz"),
            "version": kver,
            "cmdline": KERNEL_CMDLINE,
            "key": key,
        }
        (stage / "image.json").write_text(json.dumps(result, indent=2) + "\n")
        try:
            stage.rename(out)  # atomic publish; a concurrent builder may have won
        except OSError:
            if not manifest.exists():
                raise
    return json.loads(manifest.read_text())


def main() -> int:
    try:
        print(json.dumps(build(), indent=2))
    except BuildError as exc:
        print(f"build_guest_image: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
