"""Benchmark: what Prometheus metrics cost per edit and per scrape, measured directly.

    python bench/metrics.py

bench/edit.py --metrics measures the same thing end to end (metrics on vs off in one run),
but a 3 % target sits inside the run-to-run noise of a shared 2-core machine; this measures
the metrics code itself, in CPU time of this thread:
- per edit: one EditEvent through the listener (edits, images, spend, duration) and one
  provider answer (the hook), as a delivered edit makes them;
- per scrape: rendering /metrics (generate_latest) with a busy bot's series: every entry
  point x outcome, 3 models, 6 provider statuses, 3 refusal reasons, 4 shards, and the
  process collector (reads /proc);
- the import of prometheus_client.
Compare with bench/edit.py's CPU per edit (~0.04-0.09 s on the development machine).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def per_call(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    runs = []
    for _ in range(5):
        t0 = time.thread_time()
        for _ in range(repeat):
            fn()
        runs.append((time.thread_time() - t0) / repeat)
    return statistics.median(runs)


def main() -> None:
    imported = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import prometheus_client; print(time.perf_counter() - t)"],
        check=True, capture_output=True, text=True,
    )
    from prometheus_client import generate_latest

    from bot.edits.events import EditEvent, Outcome
    from bot.edits.order import Requester
    from bot.metrics.edit_metrics import EditMetrics

    metrics = EditMetrics(queue_sizes=lambda: (3, 4), latencies=lambda: [(i, 0.05) for i in range(4)])
    requester = Requester(guild_id=1, user_id=2, role_ids=())
    for entry in ("/edit", "Edit image", "Re-roll", "Edit again"):
        for outcome in Outcome:
            metrics.edits.labels(entry=entry, outcome=outcome.value).inc()
    for model in ("gpt-image-2", "gpt-image-1.5", "gpt-image-1-mini"):
        metrics.images.labels(model=model).inc()
        metrics.spend.labels(model=model).inc(0.1)
    for status in ("200", "400", "429", "500", "503", "timeout"):
        metrics.provider_answered(status)
    for reason in ("quota", "server_budget", "global_spend"):
        metrics.quota_refusals.labels(reason=reason).inc()
    event = EditEvent(Outcome.DELIVERED, requester, "/edit", model="gpt-image-2", images=4, cost_usd=0.17, seconds=23.4)

    def one_edit() -> None:
        metrics.edit_ended(event)
        metrics.provider_answered("200")

    edit_s = per_call(one_edit, 20_000)
    scrape_s = per_call(lambda: generate_latest(metrics.registry), 300)
    size = len(generate_latest(metrics.registry))
    print(f"import prometheus_client: {float(imported.stdout) * 1000:.0f} ms (wall, a fresh process)")
    print(f"per edit (listener + provider hook): {edit_s * 1e6:.1f} µs CPU")
    print(f"per scrape (generate_latest, {size:,} bytes): {scrape_s * 1e3:.2f} ms CPU")
    for cpu_per_edit in (0.04, 0.09):
        print(f"  vs {cpu_per_edit:.2f} s CPU per edit: {edit_s / cpu_per_edit:.4%} per edit; "
              f"a scrape every 15 s during 20 edits in 6 s: {(scrape_s * 6 / 15) / (20 * cpu_per_edit):.4%}; "
              f"every 1 s: {(scrape_s * 6) / (20 * cpu_per_edit):.3%}")


if __name__ == "__main__":
    main()
