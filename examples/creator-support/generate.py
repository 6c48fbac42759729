"""Write the creator-support example stack: 9 genres x 15 languages, ~200 agents, many files.

    python examples/creator-support/generate.py [OUTDIR]

OUTDIR defaults to this script's folder. The output depends on nothing but this script and its
two data modules (no clock, no randomness), so running it twice gives the same bytes; a test
checks that the committed files are what it writes. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import textwrap
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from vidora_data import (
    COPYRIGHT_KEYWORDS,
    GENRES,
    LANGUAGES,
    PAYOUT_KEYWORDS,
    SAFETY_KEYWORDS,
    SITES,
    SPECIALISTS,
    Language,
)
from vidora_texts import ANSWERS, LABELS, TEMPLATES

WIDTH = 100
ROUND_THE_CLOCK = ("frontline", "supervisors", "trust-safety")
OFFICE_HOURS = "09:00-18:00"

# ---------------------------------------------------------------------------------------------
# A small YAML writer: block style for the structure, flow style for short leaves.


@dataclass(frozen=True)
class Note:
    """A value with a comment line written above its key or list item."""

    comment: str
    value: Any


_PLAIN = re.compile(r"[^\W\d_][\w .'&/@+()-]*[\w.)]|[^\W\d_]|[0-9]+[a-z][a-z0-9]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value: Any) -> str:
    """A scalar as YAML: plain when that reads back as the same string, else double-quoted."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _RESERVED and " #" not in text:
        return text
    return json.dumps(text, ensure_ascii=False)  # JSON strings are YAML double-quoted strings


def flow(value: Any) -> str:
    """A value in flow style on one line."""
    if isinstance(value, Note):
        value = value.value
    if isinstance(value, dict):
        return "{" + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def _wrapped_list(items: list[Any], prefix: str) -> list[str] | None:
    """A list of scalars in flow style, wrapped under its opening bracket; None if not simple."""
    if any(isinstance(v, dict | list | tuple) for v in items):
        return None
    lines, line = [], prefix + "["
    pad = " " * len(line)
    for index, item in enumerate(items):
        text = scalar(item) + ("]" if index == len(items) - 1 else ",")
        if len(line) + len(text) + 1 > WIDTH and not line.endswith("["):
            lines.append(line.rstrip())
            line = pad
        line += text + ("" if text.endswith("]") else " ")
    lines.append(line)
    return lines


def block(value: Any, indent: int, flow_depth: int, depth: int = 0) -> list[str]:
    """Lines of a mapping or list in block style; nodes at `flow_depth` and deeper go flow
    style when they fit on the line."""
    pad = " " * indent
    lines: list[str] = []
    entries = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for key, item in entries:
        if isinstance(item, Note):
            lines.extend(comment(item.comment, indent))
            item = item.value
        head = f"{pad}{scalar(key)}:" if key is not None else f"{pad}-"
        if not isinstance(item, dict | list | tuple) or not item:
            lines.append(f"{head} {flow(item)}")
            continue
        one_line = f"{head} {flow(item)}"
        can_flow = depth + 1 >= flow_depth and not any(isinstance(v, Note) for v in
                                                       (item.values() if isinstance(item, dict)
                                                        else item))
        if can_flow and len(one_line) <= WIDTH:
            lines.append(one_line)
        elif can_flow and isinstance(item, list | tuple) and (
                wrapped := _wrapped_list(list(item), head + " ")) is not None:
            lines.extend(wrapped)
        elif key is not None:
            lines.append(head)
            lines.extend(block(item, indent + 2, flow_depth, depth + 1))
        else:
            inner = block(item, indent + 2, flow_depth, depth + 1)
            lines.append(f"{pad}- " + inner[0][indent + 2:])
            lines.extend(inner[1:])
    return lines


@dataclass(frozen=True)
class Section:
    """A top-level key of a file, with the comment above it and where flow style starts."""

    key: str
    value: Any
    comment: str = ""
    flow_depth: int = 2


def comment(text: str, indent: int) -> list[str]:
    """`text` as comment lines that fit the width; blank lines and newlines are kept."""
    pad = " " * indent
    lines: list[str] = []
    for paragraph in text.splitlines():
        lines.extend(f"{pad}# {line}" for line in textwrap.wrap(paragraph, WIDTH - indent - 2))
        if not paragraph:
            lines.append(f"{pad}#")
    return lines


def render(header: list[str], sections: list[Section]) -> str:
    lines = list(header)
    for section in sections:
        lines.append("")
        lines.extend(comment(section.comment, 0))
        if isinstance(section.value, dict | list) and section.value:
            one_line = f"{section.key}: {flow(section.value)}"
            if section.flow_depth <= 1 and len(one_line) <= WIDTH:
                lines.append(one_line)
            else:
                lines.append(f"{section.key}:")
                lines.extend(block(section.value, 2, section.flow_depth, 1))
        else:
            lines.append(f"{section.key}: {flow(section.value)}")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------
# The stack.

_FOLD = str.maketrans({"ı": "i", "ß": "ss", "ł": "l", "ø": "o", "æ": "ae"})


def slug(text: str, separator: str = "-") -> str:
    """ASCII id of a name: `Ayşe Yılmaz` -> `ayse-yilmaz`."""
    folded = unicodedata.normalize("NFKD", text.translate(_FOLD))
    ascii_text = folded.encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", separator, ascii_text).strip(separator)


@dataclass(frozen=True)
class Agent:
    id: str
    name: str
    email: str
    languages: tuple[str, ...]
    max_open: int
    supervisor: bool = False


def language_agents(language: Language) -> list[Agent]:
    agents = []
    for index, (given, family) in enumerate(zip(language.given, language.family, strict=True)):
        name = f"{family} {given}" if language.family_first else f"{given} {family}"
        languages = (language.code,) if language.code == "en" else (language.code, "en")
        agents.append(Agent(slug(f"{given} {family}"), name,
                            f"{slug(given, '.')}.{slug(family, '.')}@creators.vidora.example",
                            languages, 4 + index % 4))
    return agents


def specialist_agents() -> list[tuple[Agent, str, str, str]]:
    """(agent, team, site, crew) of every specialist."""
    result = []
    for index, person in enumerate(SPECIALISTS):
        given, _, family = person.name.partition(" ")
        agent = Agent(slug(person.name), person.name,
                      f"{slug(given, '.')}.{slug(family, '.')}@creators.vidora.example",
                      person.languages, 6 + index % 3, person.supervisor)
        result.append((agent, person.team, person.site, person.crew))
    return result


def agent_entry(agent: Agent) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": agent.name, "email": agent.email,
                             "languages": list(agent.languages), "max_open": agent.max_open}
    if agent.supervisor:
        entry["supervisor"] = True
    return entry


# Each language's eleven agents: five on the early shift, four on the late one, two at weekends.
EARLY, LATE, WEEKEND = slice(0, 5), slice(5, 9), slice(9, 11)


def genre_cover(agents: list[Agent]) -> dict[str, list[str]]:
    """Genre id -> the agents of one shift who know it; every genre gets at least two."""
    per_agent = min(len(GENRES), math.ceil(2 * len(GENRES) / len(agents)))
    cover: dict[str, list[str]] = {genre: [] for genre, _ in GENRES}
    for position, agent in enumerate(agents):
        for step in range(per_agent):
            genre = GENRES[(position * per_agent + step) % len(GENRES)][0]
            cover[genre].append(agent.id)
    return cover


def schedules() -> dict[str, Any]:
    result: dict[str, Any] = {}
    for language in LANGUAGES:
        zone = language.timezone
        result[f"{language.code}-early"] = Note(
            f"{language.name}: {zone}", {"timezone": zone, "hours": [
                {"days": language.workdays, "time": "07:00-15:00"}]})
        result[f"{language.code}-late"] = {"timezone": zone, "hours": [
            {"days": language.workdays, "time": "13:00-21:00"}]}
        result[f"{language.code}-weekend"] = {"timezone": zone, "hours": [
            {"days": language.weekend, "time": "09:00-18:00"}]}
    for language in LANGUAGES:
        result[f"holidays-{language.country}"] = {
            "description": f"Public holidays where the {language.name} desk sits",
            "timezone": language.timezone, "dates": list(language.holidays)}
    for site in SITES:
        result[f"fts-{site.id}-weekdays"] = Note(
            f"Follow the sun, {site.city}: the three offices overlap in every season",
            {"timezone": site.timezone, "hours": [{"days": "mon-fri", "time": site.day}]})
        result[f"fts-{site.id}-weekends"] = {"timezone": site.timezone, "hours": [
            {"days": "sat,sun", "time": site.day}]}
    for site in SITES:
        result[f"office-{site.id}"] = {"timezone": site.timezone, "hours": [
            {"days": "mon-fri", "time": OFFICE_HOURS}]}
    return result


def genre_teams(genre: str, title: str) -> dict[str, Any]:
    teams: dict[str, Any] = {}
    for language in LANGUAGES:
        agents = language_agents(language)
        early = genre_cover(agents[EARLY])[genre]
        late = genre_cover(agents[LATE])[genre]
        teams[f"{genre}-{language.code}"] = {
            "name": f"{title} ({language.name})",
            "members": early + late,
            "assign": "least_open",
            "shifts": [{"schedule": f"{language.code}-early", "agents": early},
                       {"schedule": f"{language.code}-late", "agents": late}],
            "closed_on": [f"holidays-{language.country}"],
        }
    return teams


def desk_teams() -> dict[str, Any]:
    teams: dict[str, Any] = {}
    for language in LANGUAGES:
        ids = [agent.id for agent in language_agents(language)]
        teams[f"desk-{language.code}"] = {
            "name": f"{language.name} desk",
            "members": ids,
            "assign": "least_open",
            "shifts": [{"schedule": f"{language.code}-early", "agents": ids[EARLY]},
                       {"schedule": f"{language.code}-late", "agents": ids[LATE]},
                       {"schedule": f"{language.code}-weekend", "agents": ids[WEEKEND]}],
            "closed_on": [f"holidays-{language.country}"],
        }
    return teams


SPECIALIST_TEAMS = {
    "frontline": ("Frontline (24/7)", "Anything no other team takes; the last fallback of "
                                      "every rule. Round the clock from three offices."),
    "supervisors": ("Supervisors (24/7)", "Escalations and partner creators out of hours."),
    "trust-safety": ("Trust & safety (24/7)", "Hacked accounts, impersonation, threats."),
    "payouts": ("Payouts", "Payments, tax forms and payment methods; office hours."),
    "copyright": ("Copyright", "Content ID claims, disputes and takedowns; office hours."),
    "partner-managers": ("Partner managers", "Creators in the partner programme."),
}


def specialist_teams() -> dict[str, Any]:
    people = specialist_agents()
    teams: dict[str, Any] = {}
    for team, (title, purpose) in SPECIALIST_TEAMS.items():
        members = [(a, site, crew) for a, t, site, crew in people if t == team]
        shifts = []
        for site in SITES:
            crews = ("weekdays", "weekends") if team in ROUND_THE_CLOCK else ("office",)
            for crew in crews:
                ids = [a.id for a, s, c in members if s == site.id and c == crew]
                schedule = f"office-{site.id}" if crew == "office" else f"fts-{site.id}-{crew}"
                if ids:
                    shifts.append({"schedule": schedule, "agents": ids})
        teams[team] = Note(purpose, {"name": title, "members": [a.id for a, _, _ in members],
                                     "assign": "least_open", "shifts": shifts})
    return teams


def routing() -> list[Any]:
    escalate_to_supervisors = {"after": "4h", "to": "supervisors", "notify": "slack-escalations",
                               "reply": "still_waiting"}
    rules: list[Any] = [
        Note("Safety first: these words go to trust & safety wherever they come from.", {
            "name": "trust-and-safety",
            "when": {"text": {"keywords": list(SAFETY_KEYWORDS)}},
            "to": "trust-safety", "fallback": "supervisors", "notify": "slack-trust-safety",
            "escalate": [{"after": "10m", "to": "supervisors",
                          "notify": ["slack-trust-safety", "incidents"],
                          "reply": "safety_escalated"}]}),
        Note("Creators in the partner programme have their own managers.", {
            "name": "partner-creators", "when": {"contact.tier": "partner"},
            "to": "partner-managers", "fallback": "supervisors",
            "escalate": [{"after": "30m", "to": "supervisors", "notify": "slack-escalations",
                          "reply": "still_waiting"}]}),
        Note("Money and rights questions need specialists, in any language.", {
            "name": "payouts",
            "when": {"any": [{"contact.topic": "payouts"},
                             {"text": {"keywords": list(PAYOUT_KEYWORDS)}}]},
            "to": "payouts", "fallback": "frontline", "escalate": [escalate_to_supervisors]}),
        {"name": "copyright",
         "when": {"any": [{"contact.topic": "copyright"},
                          {"text": {"keywords": list(COPYRIGHT_KEYWORDS)}}]},
         "to": "copyright", "fallback": "frontline", "escalate": [escalate_to_supervisors]},
    ]
    for genre, title in GENRES:
        for index, language in enumerate(LANGUAGES):
            rule = {
                "name": f"{genre}-{language.code}",
                "when": {"contact.genre": genre, "contact.language": language.code},
                "to": f"{genre}-{language.code}",
                "fallback": [f"desk-{language.code}", "frontline"],
                "escalate": [{"after": "1h", "to": f"desk-{language.code}",
                              "reply": "still_waiting"},
                             {"after": "4h", "to": "supervisors",
                              "notify": "slack-escalations"}],
            }
            rules.append(Note(f"{title}: the genre team of the creator's language, then "
                              "that language's desk, then frontline.", rule)
                         if index == 0 else rule)
    for index, language in enumerate(LANGUAGES):
        rule = {"name": f"{language.code}-speakers",
                "when": {"contact.language": language.code},
                "to": f"desk-{language.code}", "fallback": "frontline",
                "escalate": [escalate_to_supervisors]}
        rules.append(Note("No genre known: the desk of the creator's language.", rule)
                     if index == 0 else rule)
    rules.append(Note("WeChat contacts whose language is not known yet.", {
        "name": "wechat-contacts", "when": {"channel": "wechat"}, "to": "desk-zh",
        "fallback": "frontline", "escalate": [escalate_to_supervisors]}))
    rules.append(Note("Everything else: frontline is on duty around the clock.", {
        "name": "everyone-else", "to": "frontline",
        "escalate": [{"after": "1h", "to": "supervisors", "notify": "slack-escalations",
                      "reply": "still_waiting"}]}))
    return rules


def _text(table: dict[str, dict[str, str]], key: str) -> dict[str, str]:
    return {language.code: table[key][language.code] for language in LANGUAGES}


def message_templates() -> dict[str, Any]:
    described = {
        "welcome": "Prompt of the main menu.",
        "out_of_hours": "Sent when nobody of the team or its fallbacks is on shift.",
        "still_waiting": "Sent when an escalation step passes a conversation on.",
        "safety_escalated": "Sent when a trust & safety report waits ten minutes.",
        "csat": "Asked when a conversation closes.",
        "csat_thanks": "Sent after a valid CSAT answer.",
    }
    # sent long after the customer's last message (at close, on escalation): past the
    # messaging windows, where only the channels' approved templates may go
    late = ("still_waiting", "safety_escalated", "csat")
    return {key: {"description": description, "text": _text(TEMPLATES, key),
                  **({"whatsapp": {"name": f"creator_{key}",
                                   "language": {lang.code: lang.whatsapp for lang in LANGUAGES},
                                   "category": "utility"},
                      "wechat": {"template_id": f"Vd0rA7kQ{key}",
                                 "data": {"first": "{{contact.first_name}}"}}}
                     if key in late else {})}
            for key, description in described.items()}


def menu_templates() -> dict[str, Any]:
    return {f"{menu}_prompt": {"description": f"Prompt of the {menu} menu.",
                               "text": _text(TEMPLATES, f"{menu}_prompt")}
            for menu in ("payouts", "copyright", "account")}


def follow_up_templates() -> dict[str, Any]:
    return {"follow_up": {
        "description": "An agent's follow-up after the messaging window has closed (24 h on "
                       "WhatsApp, 48 h on WeChat): the channels send their approved template.",
        "text": _text(TEMPLATES, "follow_up"),
        "whatsapp": {"name": "creator_follow_up",
                     "language": {lang.code: lang.whatsapp for lang in LANGUAGES},
                     "category": "utility", "params": ["contact.first_name"]},
        "wechat": {"template_id": "Vd0rA7kQx2mN9pL4sT6uW8yZ1bC3eF5gH7jK9",
                   "data": {"first": "{{contact.first_name}}，你的请求有新进展。",
                            "keyword1": "{{conversation.id}}",
                            "remark": "回复此消息即可继续对话。"},
                   "url": "https://studio.vidora.example/support"},
    }}


def _option(key: str, **action: Any) -> dict[str, Any]:
    return {"id": key.replace("_", "-"), "label": _text(LABELS, key), **action}


def menus() -> dict[str, Any]:
    def faq(*keys: str) -> list[dict[str, Any]]:
        return [_option(key, answer=_text(ANSWERS, key)) for key in keys]

    person = _option("person", handoff=True)
    return {
        "main": {"prompt": "welcome", "button": _text(LABELS, "topics"), "options": [
            _option("payouts", menu="payouts"), _option("copyright", menu="copyright"),
            _option("account", menu="account"), *faq("upload", "monetization"), person]},
        "payouts": {"prompt": "payouts_prompt", "button": _text(LABELS, "options"),
                    "options": [*faq("pay_date", "tax", "methods"), person]},
        "copyright": {"prompt": "copyright_prompt", "button": _text(LABELS, "options"),
                      "options": [*faq("claim", "dispute", "report_copy"), person]},
        "account": {"prompt": "account_prompt", "button": _text(LABELS, "options"),
                    "options": [*faq("two_step", "verify", "recover"), person]},
    }


def channels() -> dict[str, Any]:
    whatsapp = {"access_token": "${WA_ACCESS_TOKEN}", "app_secret": "${WA_APP_SECRET}",
                "verify_token": "${WA_VERIFY_TOKEN}", "business_account_id": "102290129340398"}
    return {
        "wa-global": Note("One WhatsApp Business number per region; the language a number "
                          "implies is assumed until the creator's profile says otherwise.", {
                              "type": "whatsapp", "name": "Vidora Creators (global)",
                              "phone_number_id": "109876543210001", **whatsapp,
                              "menu": "main"}),
        "wa-latam": {"type": "whatsapp", "name": "Vidora Creadores",
                     "phone_number_id": "109876543210002", **whatsapp, "language": "es",
                     "menu": "main"},
        "wa-brasil": {"type": "whatsapp", "name": "Vidora Criadores",
                      "phone_number_id": "109876543210003", **whatsapp, "language": "pt",
                      "menu": "main"},
        "wa-india": {"type": "whatsapp", "name": "Vidora Creators India",
                     "phone_number_id": "109876543210004", **whatsapp, "language": "hi",
                     "menu": "main"},
        "wechat": Note("WeChat Official Account for creators in mainland China.", {
            "type": "wechat", "name": "Vidora 创作者服务", "app_id": "wx5f3c8a1d9e2b7046",
            "app_secret": "${WECHAT_APP_SECRET}", "token": "${WECHAT_TOKEN}",
            "encoding_aes_key": "${WECHAT_ENCODING_AES_KEY}", "language": "zh",
            "menu": "main"}),
        "telegram": {"type": "telegram", "name": "Vidora Creators on Telegram",
                     "bot_token": "${TELEGRAM_BOT_TOKEN}",
                     "secret_token": "${TELEGRAM_SECRET_TOKEN}",
                     "bot_username": "vidora_creators_bot", "menu": "main"},
        "studio-chat": Note("The chat inside Vidora Studio, where the app fills in the "
                            "creator's genre, tier and language.", {
                                "type": "webchat", "name": "Vidora Studio chat",
                                "allowed_origins": ["https://studio.vidora.example"],
                                "menu": "main"}),
    }


def notify() -> dict[str, Any]:
    return {
        "slack-escalations": {"type": "slack", "webhook_url": "${SLACK_ESCALATIONS_WEBHOOK_URL}"},
        "slack-trust-safety": {"type": "slack",
                               "webhook_url": "${SLACK_TRUST_SAFETY_WEBHOOK_URL}",
                               "mention": "@here"},
        "incidents": {"type": "webhook", "url": "https://incidents.vidora.example/hooks/support",
                      "secret": "${INCIDENTS_WEBHOOK_SECRET}",
                      "events": ["conversation.routed", "conversation.escalated"]},
    }


INCLUDES = ["schedules.yaml", "agents/*.yaml", "teams/*.yaml", "templates/*.yaml", "menus.yaml",
            "routing.yaml"]


def header(path: str, paragraphs: list[str]) -> list[str]:
    """The first lines of a file: the schema for editors, what the file holds, its origin."""
    schema = "stack.schema.json" if path == "stack.yaml" else "stack-fragment.schema.json"
    top = "../" * (path.count("/") + 2)
    return [f"# yaml-language-server: $schema={top}schema/{schema}", "#",
            *comment("\n".join(paragraphs), 0),
            "# Written by generate.py in examples/creator-support: change that and run it again."]


def files() -> Iterator[tuple[str, str]]:
    """(relative path, text) of every file of the stack."""
    yield "stack.yaml", render(header("stack.yaml", [
        "Vidora Creator Support: the support desk of a video platform for the people who make "
        f"its videos. {len(GENRES)} content genres x {len(LANGUAGES)} languages make "
        f"{len(GENRES) * len(LANGUAGES)} genre teams, each with a language desk and a "
        "round-the-clock frontline behind it; specialists for payouts, copyright, trust & "
        "safety and partner creators. The stack spans the files named under `include:`.",
        "",
        "Check it:   supportctl validate examples/creator-support",
    ]), [
        Section("version", 1),
        Section("workspace", {
            "name": "Vidora Creator Support", "timezone": "Etc/UTC",
            "languages": [language.code for language in LANGUAGES], "default_language": "en",
            "contact_attributes": ["genre", "tier", "topic"],
            "public_url": "https://support.vidora.example"},
            "The creator app sets genre (gaming, music, ...), tier (partner or standard) and\n"
            "topic on the contact; rules route on them."),
        Section("channels", channels(), "Secrets come from the environment.", flow_depth=3),
        Section("notify", notify(), flow_depth=3),
        Section("include", INCLUDES, "Read here, in this order: routing.yaml comes last, so "
                "its catch-all rule is the last rule.", flow_depth=1),
        Section("conversations", {
            "out_of_hours_reply": "out_of_hours", "auto_close_after": "48h",
            "reopen_within": "7d",
            "csat": {"template": "csat", "scale": 5, "wait": "24h", "thanks": "csat_thanks"}}),
    ])
    yield "schedules.yaml", render(header("schedules.yaml", [
        "Shift calendars, each in the time zone of the people who work it, and holidays. "
        "Language desks work an early (07-15) and a late (13-21) shift on the local working "
        "days and a weekend shift; the round-the-clock teams follow the sun.",
    ]), [Section("schedules", schedules())])
    for language in LANGUAGES:
        agents = language_agents(language)
        yield f"agents/{language.code}.yaml", render(header(f"agents/{language.code}.yaml", [
            f"The {language.name} desk ({language.timezone}): early shift "
            f"{', '.join(a.id for a in agents[EARLY])}; "
            f"late shift {', '.join(a.id for a in agents[LATE])}; "
            f"weekends {', '.join(a.id for a in agents[WEEKEND])}.",
        ]), [Section("agents", {a.id: agent_entry(a) for a in agents})])
    yield "agents/specialists.yaml", render(header("agents/specialists.yaml", [
        "Specialists in Tokyo, Berlin and New York.",
    ]), [Section("agents", {a.id: agent_entry(a) for a, _, _, _ in specialist_agents()})])
    for genre, title in GENRES:
        yield f"teams/{genre}.yaml", render(header(f"teams/{genre}.yaml", [
            f"{title}: one team per language, staffed by the desk agents who know the genre.",
        ]), [Section("teams", genre_teams(genre, title))])
    yield "teams/desks.yaml", render(header("teams/desks.yaml", [
        "One desk per language: every agent of the language, weekends included. The "
        "fallback of that language's genre teams.",
    ]), [Section("teams", desk_teams())])
    yield "teams/specialists.yaml", render(header("teams/specialists.yaml", [
        "Teams across the three offices.",
    ]), [Section("teams", specialist_teams())])
    yield "templates/messages.yaml", render(header("templates/messages.yaml", [
        "What the runtime says on its own, in all fifteen languages.",
    ]), [Section("templates", message_templates())])
    yield "templates/menus.yaml", render(header("templates/menus.yaml", [
        "Prompts of the submenus.",
    ]), [Section("templates", menu_templates())])
    yield "templates/follow-ups.yaml", render(header("templates/follow-ups.yaml", [
        "Templates approved by the channels, for messages outside their window.",
    ]), [Section("templates", follow_up_templates(), flow_depth=3)])
    yield "menus.yaml", render(header("menus.yaml", [
        "The FAQ menus every channel opens with. WhatsApp shows four to ten options as a list "
        "whose rows hold 24 characters, so every label stays within that in every language.",
    ]), [Section("menus", menus(), flow_depth=4)])
    yield "routing.yaml", render(header("routing.yaml", [
        "Routing rules, tried in order; the first that matches wins. Each rule's fallback "
        "chain ends with a team that is on duty around the clock.",
    ]), [Section("routing", routing(), flow_depth=3)])


# ---------------------------------------------------------------------------------------------
# Checks of the data that the validator can only see after the fact.


def check_texts() -> None:
    codes = {language.code for language in LANGUAGES}
    for table in (TEMPLATES, LABELS, ANSWERS):
        for key, texts in table.items():
            assert set(texts) == codes, f"{key}: languages {sorted(codes ^ set(texts))}"
    for key, texts in LABELS.items():
        limit = 20 if key in ("topics", "options") else 24
        for code, text in texts.items():
            assert len(text) <= limit, f"label {key}.{code} is {len(text)} characters: {text}"


def check_round_the_clock() -> None:
    """The offices' day shifts together cover every hour of 2026 and 2027."""
    spans = []
    for site in SITES:
        start, _, end = site.day.partition("-")
        spans.append((ZoneInfo(site.timezone), start, end))
    moment = datetime(2026, 1, 1, 0, 30, tzinfo=UTC)
    while moment.year < 2028:
        assert any(start <= moment.astimezone(zone).strftime("%H:%M") < end
                   for zone, start, end in spans), f"nobody on duty at {moment}"
        moment += timedelta(hours=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("outdir", nargs="?", type=Path, default=Path(__file__).resolve().parent,
                        help="where to write the stack (default: this script's folder)")
    args = parser.parse_args(argv)
    check_texts()
    check_round_the_clock()
    count = 0
    for relative, text in files():
        target = args.outdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
        count += 1
    print(f"wrote {count} files to {args.outdir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
