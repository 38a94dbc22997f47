"""A real Prometheus scrapes a real `python -m bot` process driven through the fakes.

Prometheus is Debian's package (.ci/run installs it when missing). Under CI (CI=true) a
missing binary FAILS this test; on a developer's machine without it, it is skipped.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.support.process import start_bot
from tests.fakes.discord_server import FakeAttachment
from tests.fakes.image_api import Reply, make_image
from tests.support.dashboard import queries

PROVIDER_DELAY = 1.2  # the fake image API answers after this long: bucket (1, 2.5]


def prometheus_binary() -> str:
    found = shutil.which("prometheus") or ("/usr/bin/prometheus" if Path("/usr/bin/prometheus").exists() else None)
    if found:
        return found
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("prometheus is not installed: .ci/run installs Debian's package (apt-get install prometheus)")
    pytest.skip("prometheus is not installed here (apt-get install prometheus); CI runs this test")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Prometheus:
    def __init__(self, binary: str, workdir: Path, target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = workdir / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n  - job_name: retouch\n    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = open(workdir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [binary, f"--config.file={config}", f"--storage.tsdb.path={workdir / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT,
        )

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.log.close()

    async def get(self, session: aiohttp.ClientSession, path: str, **params: str) -> dict:
        async with session.get(self.url + path, params=params) as resp:
            return await resp.json()

    async def query(self, session: aiohttp.ClientSession, expr: str) -> list[dict]:
        answer = await self.get(session, "/api/v1/query", query=expr)
        assert answer["status"] == "success", (expr, answer)
        return answer["data"]["result"]

    async def wait(self, session: aiohttp.ClientSession, what: str, check, timeout: float = 45.0):  # type: ignore[no-untyped-def]
        """Polls the HTTP API until `check` says yes (bounded): Prometheus has no push."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            assert self.proc.poll() is None, f"prometheus exited: {(Path(self.log.name)).read_text()[-2000:]}"
            try:
                result = await check()
            except aiohttp.ClientError:
                result = None
            if result:
                return result
            assert asyncio.get_running_loop().time() < deadline, f"prometheus: {what} not seen within {timeout:g} s"
            await asyncio.sleep(0.2)


def value(result: list[dict]) -> float:
    return sum(float(r["value"][1]) for r in result)


async def test_prometheus_sees_the_edit_the_fakes_saw(fakes, tmp_path):  # noqa: F811
    binary = prometheus_binary()
    discord_fake, api = fakes
    metrics_port = free_port()
    proc = await start_bot(tmp_path, discord_fake, api, METRICS_PORT=str(metrics_port), LOG_FORMAT="json")
    prometheus = Prometheus(binary, tmp_path, f"127.0.0.1:{metrics_port}")
    try:
        async with aiohttp.ClientSession() as session:
            await prometheus.wait(session, "ready", lambda: _ready(session, prometheus))
            await prometheus.wait(session, "the bot as a healthy target", lambda: _target_up(session, prometheus))

            api.queue(Reply.images(3, delay=PROVIDER_DELAY))
            rec = await discord_fake.invoke("edit", by=discord_fake.member("alice"), image=FakeAttachment.image(make_image(32, 32)), prompt="x", n=3)
            reply = await rec.wait_result(timeout=30)
            assert len(reply.files) == 3 and len(api.edits) == 1

            async def delivered() -> list[dict]:
                return [r for r in await prometheus.query(session, 'retouch_edits_total{outcome="delivered"}') if float(r["value"][1]) >= 1]

            [series] = await prometheus.wait(session, "retouch_edits_total", delivered)
            assert series["metric"]["entry"] == "/edit" and series["metric"]["job"] == "retouch"
            assert float(series["value"][1]) == 1
            assert value(await prometheus.query(session, 'retouch_images_total{model="gpt-image-2"}')) == len(reply.files)
            assert value(await prometheus.query(session, 'retouch_provider_requests_total{status="200"}')) == len(api.edits)
            assert value(await prometheus.query(session, "retouch_edit_duration_seconds_count")) == 1
            seconds = value(await prometheus.query(session, "retouch_edit_duration_seconds_sum"))
            assert PROVIDER_DELAY <= seconds < 2.5, "the fake waited 1.2 s before answering; posting takes far less than 1.3 s"
            # One observation in the bucket (1, 2.5]: Prometheus interpolates the median to its middle.
            [median] = await prometheus.query(session, "histogram_quantile(0.5, sum by (le) (retouch_edit_duration_seconds_bucket))")
            assert float(median["value"][1]) == pytest.approx(1.75)
            [p95] = await prometheus.query(session, "histogram_quantile(0.95, sum by (le) (rate(retouch_edit_duration_seconds_bucket[1m])))")
            assert 1.0 < float(p95["value"][1]) <= 2.5
            with sqlite3.connect(tmp_path / "retouch.db") as db:
                [(cost, edit_id)] = db.execute("SELECT cost_usd, id FROM ledger").fetchall()
            assert value(await prometheus.query(session, "retouch_spend_usd_total")) == pytest.approx(cost)
            # Every query of the dashboard is PromQL Prometheus accepts, and reads data.
            for title, expr in queries():
                await prometheus.query(session, expr)
            assert await prometheus.query(session, "retouch_queue_waiting") and await prometheus.query(session, "retouch_discord_latency_seconds")
    finally:
        prometheus.stop()
        proc.send_signal(signal.SIGTERM)
        _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0
    # LOG_FORMAT=json: every line an object; the provider's line for this edit carries its id.
    records = [json.loads(line) for line in err.decode().splitlines()]
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    [done] = [r for r in records if r["message"].startswith("image edit ok")]
    assert done["edit_id"] == edit_id and done["logger"] == "retouch.provider"
    assert any(r["message"].startswith("Prometheus metrics at http://127.0.0.1:") for r in records)
    assert api.api_key not in err.decode()


async def _ready(session: aiohttp.ClientSession, prometheus: Prometheus) -> bool:
    async with session.get(prometheus.url + "/-/ready") as resp:
        return resp.status == 200


async def _target_up(session: aiohttp.ClientSession, prometheus: Prometheus) -> bool:
    return value(await prometheus.query(session, 'up{job="retouch"}')) == 1
