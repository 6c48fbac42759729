"""Routing decisions per second: the compiled, indexed rule table against a first-match scan.

    python bench/routing.py [--seconds S] [--rules 10,100,1000,10000] [--agents 300]

For each rule count, builds a creator-support stack (15 languages x genres of teams on shifts in
their own time zones, 300 agents, rules on channel, language, genre and keywords, a catch-all)
and, in one run and on one core, measures on the same sample of inquiries:

- rule lookup: `RuleTable.first_match` (indexed) against `first_match_by_scan` (every rule in
  order, the naive implementation), and the ratio between them;
- whole decisions: `Router.decide` (rule, fallbacks, who is on shift, assignment, escalations)
  with the indexed table, and the same with the scan, on an hour of live traffic;
- whole decisions on inquiries spread over a week (`week/s`), as `diff` samples them: nearly
  every one falls in another minute, so the per-minute cache of who is on shift rarely helps.

The goal (issue 3): at least 100,000 decisions/s at 1,000 rules, and a lead over the scan that
grows with the number of rules. Times are best of three runs of `--seconds` each.
"""

from __future__ import annotations

import argparse
import itertools
import random
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from supportctl.config.model.stack import StackBase, build_stack_model
from supportctl.plugins import load_plugins
from supportctl.routing.assignment import RoutingState
from supportctl.routing.conditions import Inquiry
from supportctl.routing.engine import Router

LANGUAGES = (("en", "America/New_York"), ("es", "America/Mexico_City"),
             ("pt", "America/Sao_Paulo"), ("fr", "Europe/Paris"), ("de", "Europe/Berlin"),
             ("it", "Europe/Rome"), ("ru", "Europe/Moscow"), ("tr", "Europe/Istanbul"),
             ("ar", "Asia/Riyadh"), ("hi", "Asia/Kolkata"), ("th", "Asia/Bangkok"),
             ("id", "Asia/Jakarta"), ("zh", "Asia/Shanghai"), ("ja", "Asia/Tokyo"),
             ("ko", "Asia/Seoul"))
GENRES = ("gaming", "music", "education", "lifestyle", "sports", "comedy", "news", "tech",
          "food")
CHANNELS = {"wa": "whatsapp", "wechat": "wechat", "tg": "telegram", "web": "webchat"}
KEYWORDS = ("refund", "payout", "copyright", "hacked", "invoice", "strike", "verify")


def build_stack(rules: int, agents: int) -> StackBase:
    """A valid stack with `rules` routing rules (the last one a catch-all)."""
    schedules: dict[str, Any] = {"always": {"hours": [{"days": "mon-sun",
                                                        "time": "00:00-24:00"}]}}
    for language, zone in LANGUAGES:
        schedules[f"day-{language}"] = {"timezone": zone,
                                        "hours": [{"days": "mon-fri", "time": "08:00-20:00"}]}
    people = [f"agent{i:03d}" for i in range(agents)]
    agent_models = {name: {"name": name.title(),
                           "languages": [LANGUAGES[i % len(LANGUAGES)][0], "en"],
                           "max_open": 5}
                    for i, name in enumerate(people)}
    teams: dict[str, Any] = {"general": {"shifts": [{"schedule": "always",
                                                     "agents": people[:10]}]}}
    team_ids = []
    for index, (language, genre) in enumerate(itertools.product(
            [code for code, _ in LANGUAGES], GENRES)):
        members = [people[(index * 2 + k) % agents] for k in range(3)]
        team_id = f"{genre}-{language}"
        teams[team_id] = {"assign": ("round_robin", "least_open")[index % 2],
                          "shifts": [{"schedule": f"day-{language}", "agents": members}]}
        team_ids.append((team_id, language, genre))
    routing = []
    for index in range(rules - 1):
        team_id, language, genre = team_ids[index % len(team_ids)]
        when: dict[str, Any] = {"contact.language": language, "contact.genre": genre}
        shape = index // len(team_ids)
        if shape % 3 == 1:
            when["channel"] = list(CHANNELS)[index % len(CHANNELS)]
        elif shape % 3 == 2:
            when["text"] = {"keywords": [KEYWORDS[index % len(KEYWORDS)]]}
        routing.append({"name": f"r{index}", "when": when, "to": team_id,
                        "fallback": "general"})
    routing.append({"name": "everyone-else", "to": "general"})
    document = {
        "version": 1,
        "workspace": {"name": "Bench", "timezone": "Europe/Berlin",
                      "languages": [code for code, _ in LANGUAGES],
                      "contact_attributes": ["genre"]},
        "channels": {cid: _channel(kind) for cid, kind in CHANNELS.items()},
        "schedules": schedules, "agents": agent_models, "teams": teams, "routing": routing,
    }
    return build_stack_model(load_plugins(builtin_only=True)).model_validate(document)


def _channel(kind: str) -> dict[str, Any]:
    secrets = {"whatsapp": {"phone_number_id": "1098765432", "access_token": "x",
                            "app_secret": "x", "verify_token": "x"},
               "wechat": {"app_id": "wx0123456789abcdef", "app_secret": "x", "token": "x"},
               "telegram": {"bot_token": "x", "secret_token": "x"}}
    return {"type": kind, **secrets.get(kind, {})}


def inquiries(router: Router, count: int, minutes: int, seed: int = 7) -> list[Inquiry]:
    """A mixed sample: known languages and genres, strangers, keywords, arriving over
    `minutes` from Monday 12 January 2026 10:00 UTC."""
    pick = random.Random(seed)
    start = datetime(2026, 1, 12, 10, tzinfo=UTC)
    sample = []
    for _ in range(count):
        contact: dict[str, Any] = {}
        if pick.random() < 0.9:
            contact["language"] = pick.choice(LANGUAGES)[0]
        if pick.random() < 0.8:
            contact["genre"] = pick.choice(GENRES)
        text = pick.choice(("", "hello", "I want a refund", "my payout is late", "hi there"))
        at = start + timedelta(seconds=pick.randrange(minutes * 60))
        sample.append(router.inquiry(at, pick.choice(list(CHANNELS)), contact, text))
    return sample


def rate(work: Callable[[Inquiry], object], sample: Sequence[Inquiry], seconds: float) -> float:
    """Calls per second, best of three timed rounds of about `seconds` each."""
    best = 0.0
    for _ in range(3):
        done, began = 0, time.perf_counter()
        while True:
            for item in sample:
                work(item)
            done += len(sample)
            elapsed = time.perf_counter() - began
            if elapsed >= seconds:
                break
        best = max(best, done / elapsed)
    return best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=0.5)
    parser.add_argument("--rules", default="10,100,1000,10000")
    parser.add_argument("--agents", type=int, default=300)
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.rules.split(",")]
    state = RoutingState()
    print(f"{'rules':>6} {'lookup/s':>10} {'scan/s':>9} {'lead':>7} {'decide/s':>9} "
          f"{'scanning':>9} {'lead':>6} {'week/s':>8}")
    for count in counts:
        router = Router(build_stack(count, args.agents))
        live = inquiries(router, 2000, 60)  # an hour of traffic
        week = inquiries(router, 2000, 7 * 24 * 60)  # spread over a week, as diff samples
        for item in live + week:  # the index must not change any answer
            indexed = router.table.first_match(item)
            scanned = router.table.first_match_by_scan(item)
            assert (indexed and indexed.index) == (scanned and scanned.index)
        lookup = rate(router.table.first_match, live, args.seconds)
        scan = rate(router.table.first_match_by_scan, live, args.seconds)
        decide = rate(partial(router.decide, state=state), live, args.seconds)
        spread = rate(partial(router.decide, state=state), week, args.seconds)
        table = router.table
        table.first_match = table.first_match_by_scan  # type: ignore[method-assign]
        decide_scan = rate(partial(router.decide, state=state), live, args.seconds)
        print(f"{count:>6} {lookup:>10,.0f} {scan:>9,.0f} {lookup / scan:>6.1f}x "
              f"{decide:>9,.0f} {decide_scan:>9,.0f} {decide / decide_scan:>5.1f}x "
              f"{spread:>8,.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
