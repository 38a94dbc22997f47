"""docs/grafana-dashboard.json and the compose `monitoring` profile stay true to what the
bot exports."""

from __future__ import annotations

import re

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.edits.events import EditEvent, Outcome
from bot.edits.order import Requester
from bot.metrics.edit_metrics import EditMetrics
from tests.metrics.promql import metric_names
from tests.support.dashboard import DASHBOARD, ROOT, queries

COMPOSE = (ROOT / "docker-compose.yml").read_text()


def exported_names() -> set[str]:
    """Every series name the bot's registry exposes (histograms: _bucket, _sum, _count)."""
    metrics = EditMetrics(queue_sizes=lambda: (0, 0), latencies=lambda: [(0, 0.05)])
    requester = Requester(guild_id=1, user_id=2, role_ids=())
    metrics.edit_ended(EditEvent(Outcome.DELIVERED, requester, "/edit", model="m", images=1, cost_usd=0.1, seconds=3.0))
    metrics.edit_ended(EditEvent(Outcome.REFUSED, requester, "/edit", reason_code="quota"))
    metrics.provider_answered("500")
    names = set()
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        names.add(family.name)
        names.update(sample.name for sample in family.samples)
    return names


def test_promql_names_are_read_as_prometheus_reads_them():
    assert metric_names('sum by (le, model) (rate(a_bucket{status!="200", x=~"y|z"}[5m])) * 60') == {"a_bucket"}
    assert metric_names("histogram_quantile(0.95, sum without (instance) (rate(b[1h] offset 1d))) / on (x) c") == {"b", "c"}


def test_every_query_in_the_dashboard_names_a_metric_the_bot_exports():
    exported = exported_names()
    assert queries()
    for title, expr in queries():
        names = metric_names(expr)
        assert names, f"{title}: {expr} reads no metric"
        assert names <= exported, f"{title}: {expr} reads {sorted(names - exported)}, which the bot does not export"


def test_the_dashboard_has_the_panels_owners_asked_for():
    titles = {panel["title"] for panel in DASHBOARD["panels"]}
    for wanted in ("Edits per minute by outcome", "Edit duration p50 / p95", "Queue depth", "Running edits",
                   "Provider errors per minute by status", "Estimated spend per hour by model", "Discord latency"):
        assert wanted in titles
    exprs = " ".join(expr for _, expr in queries())
    assert "histogram_quantile(0.5," in exprs and "histogram_quantile(0.95," in exprs
    # Every panel reads the data source the compose profile provisions.
    uids = {t["datasource"]["uid"] for p in DASHBOARD["panels"] for t in p["targets"]}
    datasource = (ROOT / "docs/monitoring/grafana/provisioning/datasources/prometheus.yml").read_text()
    assert uids == {"prometheus"} and "uid: prometheus" in datasource and "url: http://prometheus:9090" in datasource


def test_compose_monitoring_profile_scrapes_the_bot_and_shows_the_dashboard():
    services = dict(re.findall(r"(?ms)^  ([a-z-]+):\n(.*?)(?=^  [a-z-]+:\n|^volumes:|\Z)", COMPOSE))
    for name in ("prometheus", "grafana"):
        assert '    profiles: ["monitoring"]\n' in services[name], name
    assert "./docs/monitoring/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in services["prometheus"]
    assert "./docs/grafana-dashboard.json:/var/lib/grafana/dashboards/retouch.json:ro" in services["grafana"]
    assert "./docs/monitoring/grafana/provisioning:/etc/grafana/provisioning:ro" in services["grafana"]
    for name in ("prometheus", "grafana"):  # on this machine only
        ports = re.findall(r'- "([^"]+)"', services[name].split("ports:", 1)[1].split("\n    restart", 1)[0])
        assert ports and all(p.startswith("127.0.0.1:") for p in ports), name
    assert "profiles:" not in services["retouch"]
    assert 'METRICS_PORT: "9464"' in services["retouch"] and "METRICS_HOST: 0.0.0.0" in services["retouch"]
    assert "ports:" not in services["retouch"], "the bot's /metrics is not published on the host"
    prometheus = (ROOT / "docs/monitoring/prometheus.yml").read_text()
    assert 'targets: ["retouch:9464"]' in prometheus and "metrics_path: /metrics" in prometheus
    provider = (ROOT / "docs/monitoring/grafana/provisioning/dashboards/retouch.yml").read_text()
    assert "path: /var/lib/grafana/dashboards" in provider
