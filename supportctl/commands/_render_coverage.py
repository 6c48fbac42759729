"""`supportctl coverage` output: a grid that fits 100 columns, JSON and CSV."""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Sequence
from typing import Any

from supportctl.routing.grid import DAYS, HOURS, CoverageGrid, GridGap, Row, gap_cells

JSON_VERSION = 1
WIDTH = 100
CELL = "fewest agents on shift at any moment of the hour"
_NOBODY, _NO_SUCH_HOUR, _GAP = ".", "-", "!"


def _day_label(grid: CoverageGrid, day: int) -> str:
    date = grid.week.days[day]
    return date.strftime("%a") if grid.week.reference else date.strftime("%a %d %b")


def _width(grid: CoverageGrid) -> int:
    largest = max((n for row in (*grid.teams, *grid.languages) for day in row.hours
                   for n in day if n is not None), default=0)
    return max(3, len(str(largest)) + 1)


def _cell(value: int | None, width: int) -> str:
    shown = _NO_SUCH_HOUR if value is None else (_NOBODY if value == 0 else str(value))
    return shown.rjust(width)


def _block(title: str, hours: Sequence[Sequence[str]], grid: CoverageGrid,
           width: int) -> list[str]:
    label = 12 if not grid.week.reference else 5
    hours_line = " " * label + "".join(f"{h:02d}".rjust(width) for h in range(HOURS))
    lines = [*_wrap(title, "", "    "), hours_line]
    for day in range(DAYS):
        lines.append(f"  {_day_label(grid, day)}".ljust(label)
                     + "".join(cell.rjust(width) for cell in hours[day]))
    return lines


def _row_block(row: Row, grid: CoverageGrid, width: int) -> list[str]:
    who = ", ".join(row.agents) or "nobody"
    if row.kind == "team":
        title = f"team {row.id}" + (f" \"{row.name}\"" if row.name else "") + f": {who}"
    else:
        title = f"language {row.id} (speakers on shift in any team): {who}"
    return _block(title, [[_cell(v, width) for v in day] for day in row.hours], grid, width)


def describe_gap(gap: GridGap, timezone: str) -> str:
    """`rule 'x' -> team 'y' (no fallback): nobody on shift Mon-Fri 16:00-24:00 (zone)`."""
    found = gap.gap
    chain = (f"fallbacks {', '.join(repr(t) for t in found.fallbacks)}" if found.fallbacks
             else "no fallback")
    text = (f"rule {found.rule!r} -> team {found.team!r} ({chain}): nobody on shift "
            f"{gap.hours} ({timezone})")
    if found.suggestion:
        text += f"; team {found.suggestion!r} is on shift then"
    return text


def text(grid: CoverageGrid) -> str:
    """The grid, block by block, then the gaps."""
    week = grid.week
    if week.reference:
        heading = (f"On duty per hour in {week.timezone}, reference week (the week H706 "
                   f"checks, from Mon {week.monday:%d %b %Y}): weekly hours only; dates, "
                   "overrides and holidays are left out (--week DATE shows a real week).")
    else:
        heading = (f"On duty per hour in {week.timezone}, week of Mon {week.monday:%d %b %Y} "
                   "(with its dates, overrides, holidays and clock changes).")
    width = _width(grid)
    lines = [*_wrap(heading), *_wrap(f"Cells: the {CELL}; {_NOBODY} nobody, "
                                     f"{_NO_SUCH_HOUR} an hour the clock skips.")]
    for row in (*grid.teams, *grid.languages):
        lines += ["", *_row_block(row, grid, width)]
    lines.append("")
    if not grid.gaps:
        lines += _wrap("No gaps: whenever the stack serves customers, every rule's team or one "
                       "of its fallbacks has somebody on shift.")
        return "\n".join(line.rstrip() for line in lines)
    touched = gap_cells(grid)
    marks = [[_NO_SUCH_HOUR if week.cells[d][h] is None else _GAP if (d, h) in touched else ""
              for h in range(HOURS)] for d in range(DAYS)]
    lines += _block(f"gaps ({_GAP}: some rule's team and fallbacks have nobody on shift)",
                    marks, grid, width)
    lines += ["", *_wrap(f"Gaps ({len(grid.gaps)}): opening hours in which a rule can match "
                         "while its team and all its fallbacks have nobody on shift:")]
    for gap in grid.gaps:
        lines += _wrap(describe_gap(gap, week.timezone), "  ", "      ")
    return "\n".join(line.rstrip() for line in lines)


def _wrap(paragraph: str, first: str = "", rest: str = "") -> list[str]:
    return textwrap.wrap(paragraph, WIDTH, initial_indent=first, subsequent_indent=rest,
                         break_on_hyphens=False, break_long_words=False)


def _row_json(row: Row) -> dict[str, Any]:
    data: dict[str, Any] = {"id": row.id}
    if row.kind == "team":
        data["name"] = row.name
    data["agents"] = list(row.agents)
    data["hours"] = [list(day) for day in row.hours]
    return data


def as_json(grid: CoverageGrid) -> dict[str, Any]:
    """The JSON structure documented in docs/explain-and-coverage.md."""
    week = grid.week
    return {
        "version": JSON_VERSION,
        "timezone": week.timezone,
        "week": {"monday": week.monday.isoformat(), "reference": week.reference,
                 "start": week.instant(0).isoformat(),
                 "end": week.instant(DAYS * HOURS * 60).isoformat(),
                 "days": [d.isoformat() for d in week.days]},
        "cell": CELL,
        "teams": [_row_json(row) for row in grid.teams],
        "languages": [_row_json(row) for row in grid.languages],
        "gaps": [{"rule": g.gap.rule, "rule_index": g.gap.rule_index, "team": g.gap.team,
                  "fallback": list(g.gap.fallbacks), "hours": g.hours,
                  "intervals": [{"start": s.isoformat(), "end": e.isoformat()}
                                for s, e in g.intervals],
                  "suggestion": g.gap.suggestion} for g in grid.gaps],
    }


def as_csv(grid: CoverageGrid) -> str:
    """One line per row and hour: kind,id,date,weekday,hour,agents (empty: no such hour)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["kind", "id", "date", "weekday", "hour", "agents"])
    days = grid.week.days
    for row in (*grid.teams, *grid.languages):
        for d, day in enumerate(row.hours):
            for hour, value in enumerate(day):
                writer.writerow([row.kind, row.id, days[d].isoformat(),
                                 days[d].strftime("%a").lower(), f"{hour:02d}",
                                 "" if value is None else value])
    return out.getvalue()
