"""Prometheus metrics of one bot process (`METRICS_PORT`): what the edits, the queue, the
provider and Discord are doing, with no member ids, names or prompts in any label."""
