"""A full disk: writes answer 503 with Retry-After and change nothing, /health says so, and once space is
back the service takes writes again without a restart; nothing acknowledged is lost.

The service runs on a 6 MiB tmpfs in a private mount namespace (``unshare -m``); the test fills that
filesystem through ``/proc/<pid>/root``, which sees the service's own mounts.
"""

from __future__ import annotations

import errno
import os
import shutil
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.support.journeys import PARIS_SITE, repair_request
from tests.support.process import CASE_KEY, free_port, logistics_command, running, service_environment

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare for a private tmpfs"
)


def _fill(folder: Path) -> Path:
    filler = folder / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError as exc:
            if exc.errno != errno.ENOSPC:
                raise
    return filler


async def test_a_full_disk_is_503_then_recovers_without_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "disk"
    folder.mkdir()
    port = free_port()
    env = service_environment(folder, port, workers_enabled="false")
    env["LOGISTICS_CARRIERS"] = '{"sim": {}, "colissimo": {}}'  # the simulated carrier keeps bookings in memory
    script = f'mount -t tmpfs -o size=6m tmpfs "{folder}" && exec "$0" "$@"'
    command = ["unshare", "-m", "sh", "-c", script, *logistics_command("serve")]
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {CASE_KEY}"}
    acknowledged: list[str] = []

    async def create(http: aiohttp.ClientSession, n: int) -> tuple[int, dict[str, Any], str | None]:
        body = repair_request(PARIS_SITE, f"C-DISK-{n}")
        async with http.post(f"{base}/v1/repairs", json=body, headers=auth) as answer:
            data = await answer.json(content_type=None)
            if answer.status == 201:
                acknowledged.append(data["repair"]["id"])
            return answer.status, data, answer.headers.get("Retry-After")

    try:
        with running(command, env, tmp_path / "service.log") as process:
            mounted = Path(f"/proc/{process.pid}/root") / folder.relative_to("/")
            async with aiohttp.ClientSession() as http:
                for n in range(3):
                    assert (await create(http, n))[0] == 201
                filler = _fill(mounted)
                answers = [await create(http, n) for n in range(3, 13)]
                refused = [a for a in answers if a[0] == 503]
                print(f"{len(refused)} of {len(answers)} creates refused on the full disk")
                assert refused, [a[0] for a in answers]
                assert all(status in (201, 503) for status, _, _ in answers)
                for _, problem, retry_after in refused:
                    assert problem["code"] == "storage.unavailable" and retry_after is not None
                async with http.get(f"{base}/health") as health:
                    report = await health.json()
                    assert health.status == 503 and report["checks"]["database"] == "failing", report
                    assert health.headers.get("Retry-After")

                filler.unlink()
                async with http.get(f"{base}/health") as health:
                    assert health.status == 200, await health.text()
                status, _, _ = await create(http, 99)
                assert status == 201
                for repair_id in acknowledged:
                    async with http.get(f"{base}/v1/repairs/{repair_id}", headers=auth) as answer:
                        assert answer.status == 200, repair_id
                async with http.get(f"{base}/v1/repairs", headers=auth, params={"limit": "200"}) as answer:
                    listed = {item["id"] for item in (await answer.json())["items"]}
                assert listed == set(acknowledged)
    except RuntimeError as exc:
        if "mount" in str(exc) and "denied" in str(exc).lower() and not os.environ.get("CI"):
            pytest.skip("this machine allows no private mounts")
        raise
