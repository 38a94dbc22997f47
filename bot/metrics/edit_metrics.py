"""The bot's Prometheus metrics, on a registry of its own (one per bot, so tests that run
several bots in one process do not collide, and nothing global leaks in).

Counters are per process and start at zero with it; images and spend are also in the
database (`/quota report`). Label values come from closed sets the owner or the code
controls (entry points, outcomes, models the bot offers, HTTP statuses, refusal codes),
never from what a member typed.
"""

from __future__ import annotations

from typing import Callable

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from bot.edits.events import EditEvent, Outcome

# Seconds an edit runs: a fast model answers in a few seconds, a large one in one to three
# minutes, and IMAGE_API_TIMEOUT defaults to 10 minutes.
DURATION_BUCKETS = (1, 2.5, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300, 600)

# Refusals that come from the quota store's limits and money caps (their reason codes).
QUOTA_REASONS = frozenset({"quota", "global_budget", "server_budget", "global_spend", "unpriced_model"})

QueueSizes = Callable[[], "tuple[int, int] | None"]  # (waiting, running), None before the service exists
Latencies = Callable[[], "list[tuple[int, float]]"]  # (shard id, seconds) per connected shard


class _LiveValues(Collector):
    """Gauges read when Prometheus scrapes (on the event loop, like everything else that
    touches the queue), instead of being kept up to date on every change."""

    def __init__(self, queue_sizes: QueueSizes, latencies: Latencies) -> None:
        self._queue_sizes = queue_sizes
        self._latencies = latencies

    def collect(self):  # type: ignore[no-untyped-def]
        sizes = self._queue_sizes()
        waiting = GaugeMetricFamily("retouch_queue_waiting", "Edits waiting for a free slot in the queue")
        running = GaugeMetricFamily("retouch_edits_running", "Edits holding a slot of the queue now (calling the provider)")
        if sizes is not None:
            waiting.add_metric([], sizes[0])
            running.add_metric([], sizes[1])
        yield waiting
        yield running
        latency = GaugeMetricFamily(
            "retouch_discord_latency_seconds",
            "Time between a gateway heartbeat and Discord's acknowledgement, per shard",
            labels=["shard"],
        )
        for shard, seconds in self._latencies():
            if seconds == seconds and seconds != float("inf"):  # no heartbeat answered yet: NaN/inf
                latency.add_metric([str(shard)], seconds)
        yield latency


class EditMetrics:
    """Owns the registry; an `EditListener` for the edit service and a status hook for the
    image client."""

    def __init__(self, *, queue_sizes: QueueSizes = lambda: None, latencies: Latencies = list) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.edits = Counter("retouch_edits", "Edits that ended, by entry point and outcome", ["entry", "outcome"], registry=r)
        self.images = Counter("retouch_images", "Images delivered to members, by model", ["model"], registry=r)
        self.duration = Histogram(
            "retouch_edit_duration_seconds",
            "Seconds from the provider call's start to the edit's end (posted, failed or cancelled); "
            "queueing is not included",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.provider_requests = Counter(
            "retouch_provider_requests",
            "Attempts at the image API, by HTTP status (timeout/connection/bad_answer: no usable status)",
            ["status"],
            registry=r,
        )
        self.spend = Counter("retouch_spend_usd", "Estimated provider spend in US dollars, by model", ["model"], registry=r)
        self.quota_refusals = Counter(
            "retouch_quota_refusals", "Edits refused by a quota or a money cap, by reason", ["reason"], registry=r
        )
        r.register(_LiveValues(queue_sizes, latencies))
        ProcessCollector(registry=r)  # CPU seconds, memory, open files of this process
        for outcome in Outcome:  # every series exists from the start, so rate() sees the first edit
            self.edits.labels(entry="/edit", outcome=outcome.value)

    # -- EditListener ----------------------------------------------------------------

    def edit_ended(self, event: EditEvent) -> None:
        self.edits.labels(entry=event.entry, outcome=event.outcome.value).inc()
        model = event.model or "unknown"
        if event.outcome is Outcome.DELIVERED and event.images:
            self.images.labels(model=model).inc(event.images)
        if event.cost_usd:
            self.spend.labels(model=model).inc(event.cost_usd)
        if event.seconds is not None:
            self.duration.observe(event.seconds)
        if event.outcome is Outcome.REFUSED and event.reason_code in QUOTA_REASONS:
            self.quota_refusals.labels(reason=event.reason_code).inc()

    # -- ImageEditClient's hook ------------------------------------------------------

    def provider_answered(self, status: str) -> None:
        self.provider_requests.labels(status=status).inc()
