"""Image data throughput and the controller's memory during an upload.

    .venv/bin/python bench/image.py [SIZE_MIB]

Starts a controller (as the API tests do: SQLite, its own state dir), makes a raw image
of SIZE_MIB (default 1024) random bytes on the same disk, and measures:

1. ``cp`` of the file to the controller's state dir (the baseline);
2. ``PUT /image/v2/images/{id}/file`` of the same file (``curl -T``: streamed from
   disk, with Content-Length): MB/s and the ratio to ``cp``; the upload includes md5 + sha512 of
   every byte and the format inspection;
3. ``GET .../file`` to a file on the same disk (``curl -o``): MB/s and the ratio to ``cp``;
4. the same upload to a bare ASGI app under the same uvicorn that only counts the bytes:
   the ceiling the HTTP layer sets (uvicorn parses with h11, pure Python, unless
   httptools is installed);
5. the controller's peak RSS (``VmHWM`` of /proc/<pid>/status) before and after the
   upload, and the largest RSS sampled while it ran.

All files are in the page cache or go to it (no fsync on either side), so the ratios
compare the controller's per-byte work with a plain copy.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from tests.api.conftest import Controller  # noqa: E402

MIB = 1 << 20


def status_kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def make_file(path: Path, size_mib: int) -> None:
    with open(path, "wb") as f:
        for _ in range(size_mib):
            f.write(os.urandom(MIB))


def timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


BARE_APP = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    while (await receive()).get("more_body"):
        pass
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})
"""


def bare_upload_seconds(work: Path, src: Path) -> float:
    """Seconds to PUT ``src`` to an app that drops the body, under the same uvicorn."""
    from tests.api.conftest import free_port

    (work / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--app-dir", str(work),
                             "--port", str(port), "--log-level", "warning"])
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url, timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        return timed(lambda: subprocess.run(["curl", "-sS", "-T", str(src), "-o", "/dev/null", url], check=True))
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    size_mib = int(sys.argv[1]) if len(sys.argv) > 1 else 1024
    with tempfile.TemporaryDirectory(prefix="stratus-bench-image-", dir="/var/tmp") as tmp:
        work = Path(tmp)
        src = work / "disk.raw"
        make_file(src, size_mib)
        ctl = Controller(work, f"sqlite:///{work}/stratus.db").setup()
        try:
            pid = ctl.proc.pid
            token = ctl.admin_token()

            def curl(*args: str, expect: str, url: str) -> None:
                r = subprocess.run(["curl", "-sS", "-H", f"X-Auth-Token: {token}", *args, ctl.url + url],
                                   capture_output=True, text=True, check=True)
                assert r.stdout.strip() == expect, (r.stdout, r.stderr)

            headers = {"X-Auth-Token": token}
            client = httpx.Client(base_url=ctl.url, timeout=600, headers=headers)
            r = client.post("/image/v2/images", json={"name": "bench", "disk_format": "raw",
                                                     "container_format": "bare"})
            r.raise_for_status()
            image_id = r.json()["id"]

            state = work / "state"
            state.mkdir(exist_ok=True)
            cp_s = timed(lambda: subprocess.run(["cp", str(src), str(state / "cp-copy")], check=True))
            (state / "cp-copy").unlink()

            hwm_before = status_kib(pid, "VmHWM")
            peak = [status_kib(pid, "VmRSS")]
            done = threading.Event()

            def sample():
                while not done.is_set():
                    peak[0] = max(peak[0], status_kib(pid, "VmRSS"))
                    time.sleep(0.02)

            sampler = threading.Thread(target=sample, daemon=True)
            sampler.start()

            def upload():  # curl -T streams the file (a C client: the server's cost is measured)
                curl("-T", str(src), "-H", "Content-Type: application/octet-stream", "-o", "/dev/null",
                     "-w", "%{http_code}", expect="204", url=f"/image/v2/images/{image_id}/file")

            up_s = timed(upload)
            done.set()
            sampler.join()
            hwm_after = status_kib(pid, "VmHWM")

            out = work / "down.raw"

            def download():
                curl("-o", str(out), "-w", "%{http_code}", expect="200", url=f"/image/v2/images/{image_id}/file")

            down_s = timed(download)
            assert out.stat().st_size == src.stat().st_size
            image = client.get(f"/image/v2/images/{image_id}").json()
            assert image["status"] == "active" and image["size"] == src.stat().st_size
        finally:
            ctl.close()
        bare_s = bare_upload_seconds(work, src)

    mb = size_mib * MIB / 1e6
    print(f"image data: {size_mib} MiB raw image, controller on SQLite, same disk as the source")
    print(f"  cp:        {mb / cp_s:8.0f} MB/s  ({cp_s:.2f} s)")
    print(f"  upload:    {mb / up_s:8.0f} MB/s  ({up_s:.2f} s)  {cp_s / up_s:.2f}x cp's rate "
          "(md5 + sha512 + inspection included)")
    print(f"  bare uvicorn receive (the HTTP layer's ceiling): {mb / bare_s:.0f} MB/s; the upload runs at "
          f"{bare_s / up_s:.2f}x of it")
    print(f"  download:  {mb / down_s:8.0f} MB/s  ({down_s:.2f} s)  {cp_s / down_s:.2f}x cp's rate")
    print(f"  controller RSS: peak {hwm_before / 1024:.0f} MiB before the upload, {hwm_after / 1024:.0f} MiB "
          f"after (VmHWM); largest sampled during it {peak[0] / 1024:.0f} MiB")


if __name__ == "__main__":
    main()
