"""Collect figures per round, summarise them as medians, print tables, write JSON."""

from __future__ import annotations

import dataclasses
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from .measures import Figures, Measure, Metric


@dataclass(frozen=True)
class Summary:
    samples: list[float]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread_pct(self) -> float:
        """(max - min) / median, in percent: how far apart the rounds were."""
        if len(self.samples) < 2 or self.median == 0:
            return 0.0
        return (max(self.samples) - min(self.samples)) / self.median * 100

    def as_json(self) -> dict[str, object]:
        return {
            "samples": self.samples,
            "median": self.median,
            "min": min(self.samples),
            "max": max(self.samples),
            "spread_pct": self.spread_pct,
        }


@dataclass(frozen=True)
class Row:
    round: int
    measure: str
    server: str
    figures: Figures
    other_cpu_pct: float  # % of the machine other processes used during the measure


@dataclass
class Results:
    labels: tuple[str, str]  # ours, theirs
    measures: list[Measure]
    rows: list[Row] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)  # rounds dropped and run again

    def values(self, key: str, label: str) -> list[float]:
        return [r.figures[key] for r in self.rows if r.server == label and key in r.figures]

    def metrics(self) -> list[Metric]:
        every = [metric for measure in self.measures for metric in measure.metrics]
        keys = {key for row in self.rows for key in row.figures}
        return [metric for metric in every if metric.key in keys]

    def summary(self, key: str, label: str) -> Summary | None:
        samples = self.values(key, label)
        return Summary(samples) if samples else None

    def paired_ratios(self, metric: Metric) -> list[float]:
        """ours/theirs within each round: the two ran back to back, so slow drift cancels."""
        if not metric.comparable:
            return []
        key = metric.key
        by_round: dict[int, dict[str, float]] = {}
        for row in self.rows:
            if key in row.figures:
                by_round.setdefault(row.round, {})[row.server] = row.figures[key]
        ours, theirs = self.labels
        return [
            pair[ours] / pair[theirs]
            for pair in by_round.values()
            if ours in pair and theirs in pair and pair[theirs] != 0
        ]

    def ratio(self, metric: Metric) -> float | None:
        if not metric.comparable:
            return None
        key = metric.key
        ours, theirs = (self.summary(key, label) for label in self.labels)
        if ours is None or theirs is None or theirs.median == 0:
            return None
        return ours.median / theirs.median


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def _table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = (cell.rjust(width) for cell, width in zip(cells[1:], widths[1:], strict=True))
        return " | ".join([first, *rest])

    rule = "-+-".join("-" * width for width in widths)
    return "\n".join([line(header), rule, *(line(row) for row in rows)])


def _median(summary: Summary | None) -> str:
    return _number(summary.median if summary else None)


def _range(summary: Summary | None, metric: Metric) -> str:
    if summary is None:
        return "-"
    low, high = min(summary.samples), max(summary.samples)
    spread = f" ({summary.spread_pct:.0f}%)" if metric.comparable else ""
    return f"{_number(low)}..{_number(high)}{spread}"


def main_table(results: Results, headers: tuple[str, str]) -> str:
    rows = []
    for metric in results.metrics():
        ours, theirs = (results.summary(metric.key, label) for label in results.labels)
        ratio = results.ratio(metric)
        rows.append(
            [
                f"{metric.title} ({metric.unit})",
                _median(ours),
                _median(theirs),
                "-" if ratio is None else f"{ratio:.2f}",
            ]
        )
    return _table(["metric", *headers, "ratio"], rows)


def noise_table(results: Results, headers: tuple[str, str]) -> str:
    rows = []
    for metric in results.metrics():
        ours, theirs = (results.summary(metric.key, label) for label in results.labels)
        count = len(ours.samples) if ours else len(theirs.samples) if theirs else 0
        rows.append(
            [
                metric.title,
                str(count),
                _range(ours, metric),
                _range(theirs, metric),
                _paired(results, metric),
            ]
        )
    header = ["metric", "n", f"{headers[0]} min..max", f"{headers[1]} min..max", "paired ratio"]
    return _table(header, rows)


def _paired(results: Results, metric: Metric) -> str:
    ratios = results.paired_ratios(metric)
    if not ratios:
        return "-"
    return f"{statistics.median(ratios):.2f} ({min(ratios):.2f}..{max(ratios):.2f})"


def other_cpu_line(results: Results) -> str:
    other = [row.other_cpu_pct for row in results.rows]
    if not other:
        return ""
    median = statistics.median(other)
    return (
        f"other processes used {median:.0f}% of the machine's CPU during a median measurement "
        f"(max {max(other):.0f}%); above ~10% expect figures to move"
    )


def as_json(results: Results, meta: dict[str, object]) -> dict[str, object]:
    metrics: dict[str, object] = {}
    for metric in results.metrics():
        entry: dict[str, object] = {
            "title": metric.title,
            "unit": metric.unit,
            "higher_is_better": metric.higher_is_better,
            "ratio": results.ratio(metric),
            "paired_ratios": results.paired_ratios(metric),
        }
        for label in results.labels:
            summary = results.summary(metric.key, label)
            entry[label] = summary.as_json() if summary else None
        metrics[metric.key] = entry
    rows = [dataclasses.asdict(row) for row in results.rows]
    return {**meta, "metrics": metrics, "rows": rows, "failures": results.failures}


def write_json(path: Path, document: dict[str, object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    temporary.replace(path)
