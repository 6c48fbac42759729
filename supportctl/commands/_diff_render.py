"""How `supportctl diff` shows its result: terminal summary, JSON, or markdown for a PR comment."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from supportctl.config.entity_diff import EntityChange
from supportctl.routing.outcome_diff import STEP, OutcomeDiff


@dataclass
class DiffReport:
    """Everything `diff` found, with the names the user gave the two sides."""

    old: str
    new: str
    entities: list[EntityChange]
    outcomes: OutcomeDiff
    default_week: bool

    @property
    def changed(self) -> bool:
        """Whether any sampled conversation lands elsewhere: what the exit code says."""
        return bool(self.outcomes.changes)


def _week(report: DiffReport) -> str:
    outcomes = report.outcomes
    chosen = "the reference week" if report.default_week else "the week"
    classes = "class" if outcomes.probes == 1 else "classes"
    return (f"{chosen} of Monday {outcomes.monday.isoformat()} ({outcomes.timezone}), every "
            f"{STEP} minutes, {_counted(len(outcomes.channels), 'channel')} × "
            f"{outcomes.probes} contact {classes}")


def _entity_line(change: EntityChange) -> str:
    mark = {"added": "+", "removed": "-", "changed": "~", "moved": "↕"}[change.change]
    line = f"{mark} {change.id}"
    if change.keys:
        line += ": " + ", ".join(change.keys)
    if change.section == "routing":
        if change.change == "added":
            line += f" (rule {change.new_position})"
        elif change.change == "removed":
            line += f" (was rule {change.old_position})"
        elif change.moved:
            line += f" (moved: rule {change.old_position} → {change.new_position})"
    return line


def _counted(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def text(report: DiffReport) -> str:
    """The terminal summary."""
    lines = [f"supportctl diff {report.old} → {report.new}", ""]
    if report.entities:
        lines.append(f"Entities: {_counted(len(report.entities), 'change')}")
        section = None
        for change in report.entities:
            if change.section != section:
                section = change.section
                lines.append(f"  {section}")
            lines.append(f"    {_entity_line(change)}")
    else:
        lines.append("Entities: no change")
    lines.append("")
    changes = report.outcomes.changes
    if changes:
        lines.append(f"Routing outcomes that change over {_week(report)}:")
        lines.extend(f"  {change}" for change in changes)
    else:
        lines.append(f"Routing outcomes: no change over {_week(report)}")
    lines.extend(f"note: {note}" for note in report.outcomes.notes)
    return "\n".join(lines)


def _cell(value: str) -> str:
    return value.replace("|", "\\|").replace("\n", " ")


def markdown(report: DiffReport) -> str:
    """A pull-request comment."""
    changes = report.outcomes.changes
    lines = ["### supportctl diff", "", f"`{report.old}` → `{report.new}`", ""]
    if changes:
        lines += [f"**{_counted(len(changes), 'routing outcome change')}** over {_week(report)}:",
                  "", "| When | Channel | Contact | Before | After |", "|---|---|---|---|---|"]
        for change in changes:
            channels = "every channel" if change.every_channel else ", ".join(change.channels)
            contact = ", ".join(d.describe(chosen) for d, chosen in change.contact)
            lines.append(f"| {_cell(change.window)} | {_cell(channels)} | "
                         f"{_cell(contact or 'every contact')} | {_cell(str(change.before))} | "
                         f"{_cell(str(change.after))} |")
    else:
        lines.append(f"**No routing outcome changes** over {_week(report)}.")
    lines += ["", "#### Entities", ""]
    if report.entities:
        lines += ["| Section | Id | Change | Keys |", "|---|---|---|---|"]
        for entity in report.entities:
            what = entity.change
            if entity.section == "routing" and entity.moved:
                what += f" (rule {entity.old_position} → {entity.new_position})"
            keys = ", ".join(f"`{key}`" for key in entity.keys)
            lines.append(f"| {entity.section} | `{_cell(entity.id)}` | {_cell(what)} | "
                         f"{_cell(keys)} |")
    else:
        lines.append("No entity changed.")
    if report.outcomes.notes:
        lines += ["", *(f"> {_cell(note)}" for note in report.outcomes.notes)]
    return "\n".join(lines)


def as_json(report: DiffReport) -> str:
    """The whole result as one JSON document."""
    outcomes = report.outcomes
    data: dict[str, Any] = {
        "old": report.old,
        "new": report.new,
        "outcome_changed": report.changed,
        "week": {"monday": outcomes.monday.isoformat(), "timezone": outcomes.timezone,
                 "step_minutes": STEP, "reference": report.default_week},
        "channels": list(outcomes.channels),
        "contact_classes": {d.name: [{"label": c.label, "values": list(c.values)}
                                     for c in d.classes] for d in outcomes.dimensions},
        "every_combination": outcomes.every_combination,
        "entities": [change.as_dict() for change in report.entities],
        "outcomes": [change.as_dict() for change in outcomes.changes],
        "notes": outcomes.notes,
    }
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
