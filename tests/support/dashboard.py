"""The Grafana dashboard the repository ships, and the queries its panels run."""

from __future__ import annotations

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = json.loads((ROOT / "docs" / "grafana-dashboard.json").read_text())


def queries() -> list[tuple[str, str]]:
    """(panel title, PromQL expression) for every target of every panel."""
    return [(panel["title"], target["expr"]) for panel in DASHBOARD["panels"] for target in panel["targets"]]
