"""The benchmark's tables: plain data while measuring, Markdown when printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Section:
    """One table: a title, column names, rows of cells (numbers or text), notes under it."""

    title: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes}


def ratio(value: float | None, baseline: float | None) -> float | None:
    """value / baseline, or None when either is missing."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return value / baseline


def cell(value: Any) -> str:
    """Numbers to 3 significant figures (ratios as 1.23x are formatted by their producers)."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:.0f}"
        if abs(value) >= 1:
            return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"
        return f"{value:.3g}"
    return str(value)


def times(value: float | None) -> str:
    """A ratio as "2.05x" ("-" when missing)."""
    return "-" if value is None else f"{value:.2f}x"


def format_section(section: Section) -> str:
    """A Markdown table with its title above and its notes below."""
    lines = [f"### {section.title}", ""]
    if section.rows:
        lines.append("| " + " | ".join(section.columns) + " |")
        lines.append("|" + "|".join("---" for _ in section.columns) + "|")
        for row in section.rows:
            lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    lines += [""] + [f"- {n}" for n in section.notes] + ([""] if section.notes else [])
    return "\n".join(lines)


def format_report(header: Sequence[str], sections: Sequence[Section]) -> str:
    return "\n".join(list(header) + [""] + [format_section(s) for s in sections])
