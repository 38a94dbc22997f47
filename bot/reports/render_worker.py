"""`python -m bot.reports.render_worker`: reads a chart's data (JSON) on stdin, writes the
PNG to stdout. Started by `ChartRenderer` for each chart (bot/reports/chart.py)."""

from __future__ import annotations

import sys

from bot.reports.chart import decode, render_png


def main() -> int:
    png = render_png(decode(sys.stdin.buffer.read()))
    sys.stdout.buffer.write(png)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
