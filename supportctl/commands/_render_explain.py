"""`supportctl explain` output: the text a reviewer reads, and the documented JSON structure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from supportctl.config.timespec import zone
from supportctl.routing.assignment import Availability, RoutingState
from supportctl.routing.engine import Outcome
from supportctl.routing.explanation import Explanation, Member, TeamTrace

JSON_VERSION = 1

_STATUS_WORDS = {
    Availability.ELIGIBLE: "eligible",
    Availability.OFF_SHIFT: "off shift",
    Availability.HOLIDAY: "team closed",
    Availability.AT_CAPACITY: "at capacity",
    Availability.OTHER_LANGUAGE: "other language",
}


def when(instant: datetime | None, timezone: str) -> str:
    """`Mon 23 Nov 2026 12:00 CET`: an instant on the wall clock of the time zone."""
    if instant is None:
        return "never"
    local = instant.astimezone(zone(timezone))
    clock = "%H:%M:%S" if local.second or local.microsecond else "%H:%M"
    return local.strftime(f"%a %d %b %Y {clock} %Z")


def iso(instant: datetime | None, timezone: str) -> str | None:
    """ISO 8601 with the offset of the time zone at that instant."""
    return instant.astimezone(zone(timezone)).isoformat() if instant is not None else None


def _contact(contact: Mapping[str, Any]) -> str:
    def shown(value: Any) -> str:
        return ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return ", ".join(f"{key}={shown(value)}" for key, value in contact.items()) or "(none)"


def _table(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return ["    " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths,
                                                                        strict=False))
            + "  " + row[-1] for row in rows]


def _why(member: Member, chosen: str | None, timezone: str) -> str:
    works = ", ".join(member.shifts)
    if not member.on_shift:
        reason = f"{member.detail}; " if member.availability is Availability.HOLIDAY else ""
        if not member.shifts:
            return reason + "has no shift in this team"
        return (f"{reason}works {works}; next on shift "
                f"{when(member.next_on_shift, timezone)}")
    shift = f"on shift ({', '.join(member.working)}) until {when(member.until, timezone)}"
    if member.availability is Availability.AT_CAPACITY:
        return f"{member.detail}; {shift}"
    if member.availability is Availability.OTHER_LANGUAGE:
        return f"{member.detail}; {shift}"
    return shift + ("; assigned" if member.agent == chosen else "")


def _team_lines(team: TeamTrace, explanation: Explanation, last: bool) -> list[str]:
    timezone = explanation.timezone
    role = "Team" if team.role == "team" else "Fallback"
    name = f" \"{team.name}\"" if team.name else ""
    if team.took_it:
        verdict = "takes the conversation"
    elif team.on_shift:
        verdict = ""
    elif last:
        verdict = "nobody left to try: out of hours"
    else:
        verdict = "nobody on shift: the next fallback is tried"
    lines = [f"{role} {team.team}{name} (assign: {team.assign})"
             + (f" -> {verdict}" if verdict else "")]
    if team.on_shift:
        lines.append("  on shift: " + ", ".join(team.on_shift))
    elif team.closed_by is not None:
        lines.append(f"  closed by closed_on {team.closed_by!r} until "
                     f"{when(team.reopens, timezone)}")
        lines.append(f"  next on shift {when(team.next_staffed, timezone)}")
    else:
        lines.append(f"  nobody on shift; next on shift {when(team.next_staffed, timezone)}")
    if not team.members:
        return [*lines, "    (no members)"]
    rows = [("agent", "status", "open/max", "languages", "why")]
    rows.extend((m.agent, _STATUS_WORDS[m.availability], f"{m.open}/{m.max_open}",
                 ", ".join(m.languages) or "-", _why(m, explanation.agent, timezone))
                for m in team.members)
    return lines + _table(rows)


def _state(state: RoutingState) -> str:
    parts = []
    if state.open_conversations:
        parts.append("open " + ", ".join(f"{a}={n}" for a, n in
                                         state.open_conversations.items()))
    if state.last_assigned:
        parts.append("last assigned " + ", ".join(f"{t}={a}" for t, a in
                                                  state.last_assigned.items()))
    return "; ".join(parts)


def text(explanation: Explanation) -> str:
    """The human-readable trace, in the workspace time zone."""
    tz = explanation.timezone
    inquiry = explanation.inquiry
    given = ""
    if inquiry.at.utcoffset() != inquiry.at.astimezone(zone(tz)).utcoffset():
        given = f", given as {inquiry.at.isoformat()}"
    lines = [f"At {when(inquiry.at, tz)} ({tz}{given})",
             f"  channel  {inquiry.channel} (type {inquiry.channel_type})",
             f"  contact  {_contact(inquiry.contact)}"]
    if inquiry.text:
        lines.append(f"  text     {inquiry.text!r}")
    if _state(explanation.state):
        lines.append(f"  state    {_state(explanation.state)}")
    tried = len(explanation.rules)
    lines += ["", f"Rules (first match wins; {tried} of {explanation.rules_total} tried):"]
    width = max((len(r.name) for r in explanation.rules), default=0)
    for rule in explanation.rules:
        word = "match   " if rule.matched else "no match"
        lines.append(f"  {rule.index + 1}. {rule.name.ljust(width)}  {word}  {rule.reason}")
    if explanation.rule is None:
        lines.append("  no rule matched")
    for number, team in enumerate(explanation.teams, 1):
        lines += ["", *_team_lines(team, explanation, number == len(explanation.teams))]
    if explanation.not_tried:
        lines.append(f"Fallbacks not needed: {', '.join(explanation.not_tried)}")
    lines.append("")
    if explanation.choice is not None:
        chosen = explanation.choice.agent or "nobody"
        lines.append(f"Agent: {chosen}: {explanation.choice.reason}")
    lines.append(f"Outcome: {explanation.summary}")
    if explanation.reply is not None:
        reply = explanation.reply
        language = f" ({reply.language})" if reply.language else ""
        shown = f": {reply.text!r}" if reply.text else ""
        lines.append(f"Reply: template {reply.template}{language}{shown}")
    if explanation.outcome is Outcome.OUT_OF_HOURS:
        lines.append(f"Next open: {when(explanation.next_open, tz)} (team {explanation.team}; "
                     "fills {{next_open}}, and escalation clocks start then)")
    if explanation.escalations:
        lines.append("Escalations (each unless an agent has replied by then):")
        for step in explanation.escalations:
            actions = ([f"to team {step.to}"] if step.to else []) + (
                [f"notify {', '.join(step.notify)}"] if step.notify else []) + (
                [f"reply {step.reply}"] if step.reply else [])
            lines.append(f"  after {step.after.ljust(5)} {when(step.at, tz)}: "
                         + ", ".join(actions))
    if explanation.notify:
        lines.append(f"Notify now: {', '.join(explanation.notify)}")
    return "\n".join(lines)


def _state_json(state: RoutingState) -> dict[str, Any]:
    return {"open": dict(state.open_conversations), "last_assigned": dict(state.last_assigned)}


def _member_json(member: Member, timezone: str) -> dict[str, Any]:
    return {"agent": member.agent, "name": member.name, "status": member.status,
            "open": member.open, "max_open": member.max_open,
            "languages": list(member.languages), "shifts": list(member.shifts),
            "working": list(member.working), "until": iso(member.until, timezone),
            "next_on_shift": iso(member.next_on_shift, timezone),
            "detail": member.detail or None}


def as_json(explanation: Explanation) -> dict[str, Any]:
    """The JSON structure documented in docs/explain-and-coverage.md."""
    tz = explanation.timezone
    inquiry = explanation.inquiry
    choice = explanation.choice
    reply = explanation.reply
    return {
        "version": JSON_VERSION,
        "timezone": tz,
        "input": {"at": iso(inquiry.at, tz), "channel": inquiry.channel,
                  "channel_type": inquiry.channel_type, "contact": dict(inquiry.contact),
                  "text": inquiry.text, "state": _state_json(explanation.state)},
        "rules": [{"index": r.index, "name": r.name, "matched": r.matched, "reason": r.reason,
                   "to": r.to, "fallback": list(r.fallbacks)} for r in explanation.rules],
        "rules_total": explanation.rules_total,
        "rule": explanation.rule,
        "outcome": explanation.outcome.value,
        "summary": explanation.summary,
        "team": explanation.team,
        "teams": [{"team": t.team, "name": t.name, "role": t.role, "assign": t.assign,
                   "on_shift": list(t.on_shift), "closed_by": t.closed_by,
                   "reopens": iso(t.reopens, tz), "next_on_shift": iso(t.next_staffed, tz),
                   "took_it": t.took_it, "agent": t.agent,
                   "members": [_member_json(m, tz) for m in t.members]}
                  for t in explanation.teams],
        "fallbacks_not_tried": list(explanation.not_tried),
        "agent": explanation.agent,
        "assignment": None if choice is None else {
            "method": choice.method, "agent": choice.agent, "language": choice.language,
            "speakers_preferred": choice.speakers_preferred,
            "candidates": list(choice.candidates), "order": list(choice.order),
            "last_assigned": choice.last_assigned, "open": dict(choice.open),
            "reason": choice.reason},
        "reply": None if reply is None else {"template": reply.template,
                                             "language": reply.language, "text": reply.text},
        "next_open": iso(explanation.next_open, tz),
        "escalations": [{"after": s.after, "after_seconds": int(s.delay.total_seconds()),
                         "at": iso(s.at, tz), "to": s.to, "notify": list(s.notify),
                         "reply": s.reply} for s in explanation.escalations],
        "notify": list(explanation.notify),
        "state_after": _state_json(explanation.decision.state),
    }
