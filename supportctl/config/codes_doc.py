"""`docs/diagnostics.md`: every diagnostic code, rendered from the catalogue, with an example.

The examples are data so that a test can check that each one really gives its code. A line
`# file: NAME` starts another file of the same stack (the first is `stack.yaml`); the test adds
`version` and `workspace` to `stack.yaml` when the example leaves them out.
"""

from __future__ import annotations

from collections.abc import Sequence

from supportctl.config.codes import CATALOGUE, Code

GENERATED_NOTE = ("Generated from `supportctl/config/codes.py` by `python tools/generate.py`; "
                  "do not edit by hand.")

FAMILIES: dict[str, tuple[str, str]] = {
    "L": ("Loading", "YAML itself, environment variables and `include:`."),
    "S": ("Structure", "The shape of the stack, checked against its JSON Schema."),
    "R": ("References", "Ids that name agents, teams, schedules, templates, menus, notify "
                        "targets, channels, contact attributes and languages."),
    "M": ("Menus", "How FAQ menus link to each other and to people."),
    "U": ("Routing rules", "Rules that can never match, and what happens to conversations no "
                           "rule matches."),
    "T": ("Templates", "Placeholders and texts per language."),
    "H": ("Time", "Time zones, time ranges, days, dates, durations, shifts and coverage."),
    "C": ("Channels", "What a channel's API would refuse at runtime, and literal secrets."),
}

_BOMB = "\n".join(
    f"x-{name}: &{name} [{', '.join([f'*{prev}' if prev else 'lol'] * 10)}]"
    for prev, name in zip(["", *"abcdef"], "abcdefg", strict=True))

EXAMPLES: dict[str, str] = {
    "L101": """\
templates:
  welcome: {text: "Hi {{contact.name}}!}    # the closing quote is missing
""",
    "L102": """\
schedules:
  day:
    hours: [{days: mon-fri, time: "08:00-16:00"}]
    hours: [{days: sat, time: "10:00-14:00"}]    # plain YAML would drop the line above
""",
    "L103": """\
version: 1
workspace: {name: Acme Support, timezone: Europe/Berlin}
---
templates:
  welcome: {text: Hello!}
""",
    "L104": """\
# version: 1
# workspace: {name: Acme Support, timezone: Europe/Berlin}
""",
    "L105": """\
notify:
  slack-support: {type: slack, webhook_url: !secret slack_url}    # write "${SLACK_URL}"
""",
    "L106": """\
agents:
  [anna, li]: {name: Anna Schmidt}    # one id per agent
""",
    "L107": f"""\
{_BOMB}
""",
    "L110": """\
notify:
  slack-support: {type: slack, webhook_url: "${SLACK_WEBHOOK_URL}"}    # not set here
""",
    "L111": """\
notify:
  slack-support: {type: slack, webhook_url: "${SLACK_WEBHOOK_URL:?unset}"}
""",
    "L120": """\
include: [team/*.yaml]    # the files are in teams/
""",
    "L121": """\
# file: stack.yaml
include: [teams/*.yaml]
# file: teams/wholesale.yaml
include: [../stack.yaml]    # leads back to the file that includes this one
""",
    "L122": """\
# file: stack.yaml
include: [teams/*.yaml]
schedules:
  office: {hours: [{days: mon-fri, time: "09:00-17:00"}]}
# file: teams/wholesale.yaml
schedules:
  office: {hours: [{days: mon-thu, time: "08:00-12:00"}]}    # stack.yaml has an office
""",
    "L123": """\
# file: stack.yaml
include: [teams/*.yaml]
# file: teams/wholesale.yaml (saved as Latin-1, not UTF-8)
teams:
  wholesale: {name: Großhandel}
""",
    "L124": """\
# file: stack.yaml
include: [teams/*.yaml]
# file: teams/wholesale.yaml
workspace: {name: Wholesale, timezone: Europe/Berlin}    # only the root file has one
""",
    "S201": """\
teams:
  general: {close_on: [holidays]}    # the key is closed_on
""",
    "S202": """\
agents:
  anna: {languages: [de, en]}    # name is required
""",
    "S203": """\
conversations:
  auto_close_after: 24    # a duration has a unit: 24h
""",
    "S204": """\
teams:
  general: {assign: round-robin}    # round_robin
""",
    "S205": """\
schedules:
  late shift: {hours: [{days: mon-fri, time: "16:00-24:00"}]}    # ids have no spaces
""",
    "S206": """\
agents:
  anna: {name: Anna Schmidt, max_open: 0}    # at least 1
""",
    "S207": """\
channels:
  line: {type: line}    # no installed plugin provides `line`
""",
    "S208": """\
menus:
  main:
    prompt: welcome
    options:
      - {label: Talk to a person, answer: Please wait., handoff: true}    # one or the other
""",
    "R301": """\
agents:
  anna: {name: Anna Schmidt}
teams:
  general: {shifts: [{schedule: day, agents: [anna, bob]}]}    # bob is not an agent
""",
    "R302": """\
routing:
  - {name: everyone-else, to: suport}    # the team is support
""",
    "R303": """\
teams:
  general: {closed_on: [holiday]}    # the schedule is holidays
""",
    "R304": """\
menus:
  main:
    prompt: welcom    # the template is welcome
    options: [{label: Talk to a person, handoff: true}]
""",
    "R305": """\
channels:
  web: {type: webchat, menu: mian}    # the menu is main
""",
    "R306": """\
routing:
  - name: everyone-else
    to: general
    escalate: [{after: 15m, notify: slack}]    # the notify target is slack-support
""",
    "R307": """\
routing:
  - {name: wechat-users, when: {channel: wechat}, to: chinese}    # no channel wechat
""",
    "R308": """\
agents:
  anna: {name: Anna Schmidt}
  li: {name: Li Wei}
teams:
  general:
    members: [anna]
    shifts: [{schedule: day, agents: [anna, li]}]    # li is no member
""",
    "R309": """\
routing:
  - {name: vip, when: {contact.tier: gold}, to: vip}    # declare tier in contact_attributes
""",
    "R310": """\
workspace: {name: Acme Support, timezone: Europe/Berlin, languages: [en]}
templates:
  welcome: {text: {en: Hello!, fr: Bonjour !}}    # fr is not a workspace language
""",
    "R311": """\
schedules:
  summer: {hours: [{days: sat, time: "10:00-14:00"}]}    # no shift or rule uses it
""",
    "M401": """\
menus:
  main:
    prompt: welcome
    options: [{label: Payments, menu: payments}]
  payments:
    prompt: welcome
    options: [{label: Back, menu: main}]    # customers go back with 0
""",
    "M402": """\
channels:
  web: {type: webchat, menu: main}
  shop: {type: webchat}
menus:
  main:
    prompt: welcome
    options: [{label: Talk to a person, handoff: true}]
routing:
  - {name: shop-visitors, when: {channel: shop}, to: general}    # no rule for web
""",
    "U501": """\
routing:
  - {name: everyone-else, to: general}
  - {name: wholesale, when: {contact.segment: wholesale}, to: wholesale}    # never reached
""",
    "U502": """\
routing:
  - {name: complaints, when: {text: {keywords: [complaint, refund]}}, to: complaints}
  - {name: refunds, when: {text: {keywords: [complaint, refund]}}, to: billing}
  - {name: everyone-else, to: general}
""",
    "U503": """\
routing:
  - {name: chinese, when: {contact.language: zh}, to: chinese}
  - {name: german, when: {contact.language: de}, to: general}
  # and everyone else?
""",
    "U504": """\
routing:
  - {name: complaints, when: {channel: wa-main}, to: complaints}
  - {name: complaints, when: {channel: web}, to: complaints}
  - {name: everyone-else, to: general}
""",
    "U505": """\
routing:
  - {name: china, when: {contact.phone: {regex: "+86"}}, to: chinese}    # write '^\\+86'
  - {name: everyone-else, to: general}
""",
    "U506": """\
routing:
  - {name: complaints, when: {text: {keywords: [complaint]}}, to: complaints,
     fallback: [complaints, general]}    # complaints is the rule's own team
  - {name: everyone-else, to: general}
""",
    "T601": """\
templates:
  welcome: {text: "Hi {{customer.name}}!"}    # the variable is contact.name
""",
    "T602": """\
workspace: {name: Acme Support, timezone: Europe/Berlin, languages: [en, de]}
templates:
  welcome: {text: {en: Hello!}}    # no German text
""",
    "T603": """\
templates:
  welcome: {text: "Hi {{contact.name}!"}    # }} closes a placeholder
""",
    "T604": """\
workspace: {name: Acme Support, timezone: Europe/Berlin, languages: [de, en]}
templates:
  out_of_hours: {text: {en: We are offline.}}    # de, the default language, is missing
""",
    "H701": """\
schedules:
  day: {timezone: Berlin, hours: [{days: mon-fri, time: "08:00-16:00"}]}    # Europe/Berlin
""",
    "H702": """\
schedules:
  night: {hours: [{days: mon-fri, time: "24:00-06:00"}]}    # 24:00 only ends a range
""",
    "H703": """\
schedules:
  day: {hours: [{days: monday-friday, time: "08:00-16:00"}]}    # mon-fri
""",
    "H704": """\
schedules:
  holidays: {dates: ["2027-02-29"]}    # 2027 is no leap year
""",
    "H705": """\
agents:
  lena: {name: Lena Vogel}
teams:
  wholesale: {members: [lena]}    # no shifts: never on duty
""",
    "H706": """\
agents:
  lena: {name: Lena Vogel}
  tom: {name: Tom Berg}
schedules:
  mornings: {hours: [{days: mon-thu, time: "09:00-13:00"}]}
  office: {hours: [{days: mon-fri, time: "09:00-17:00"}]}
teams:
  wholesale: {shifts: [{schedule: mornings, agents: [lena]}]}
  general: {shifts: [{schedule: office, agents: [tom]}]}
routing:
  - {name: wholesale, when: {text: {keywords: [wholesale]}}, to: wholesale}    # no fallback
  - {name: everyone-else, to: general}
""",
    "H707": """\
routing:
  - name: everyone-else
    to: general
    escalate:
      - {after: 1h, to: supervisors}
      - {after: 15m, notify: slack-support}    # steps come in order of time
""",
    "H708": """\
schedules:
  holidays: {dates: ["2026-12-25", "2026-12-24..2026-12-26"]}    # the 25th twice
""",
    "C801": """\
channels:
  web: {type: webchat, menu: main}    # web chat shows at most 10 buttons
menus:
  main:
    prompt: welcome
    options: [{label: A, answer: a}, {label: B, answer: b}, {label: C, answer: c},
              {label: D, answer: d}, {label: E, answer: e}, {label: F, answer: f},
              {label: G, answer: g}, {label: H, answer: h}, {label: I, answer: i},
              {label: J, answer: j}, {label: K, answer: k}]
""",
    "C802": """\
channels:
  web: {type: webchat, menu: main}    # web chat buttons hold 40 characters
menus:
  main:
    prompt: welcome
    options:
      - {label: Where is my order and when will it reach me?, answer: See the tracking link.}
""",
    "C803": """\
channels:
  wechat: {type: wechat, app_id: wx0123456789abcdef, app_secret: "${WECHAT_APP_SECRET}",
           token: "${WECHAT_TOKEN}"}
templates:
  terms: {text: "…"}    # the full terms, 6,000 characters; WeChat accepts 2,048
""",
    "C804": """\
notify:
  slack-support: {type: slack, webhook_url: "https://hooks.slack.com/services/T0/B0/abc"}
""",
    "C805": """\
channels:
  wechat-cn: {type: wechat, app_id: wx0123456789abcdef, app_secret: "${WECHAT_APP_SECRET}",
              token: "${WECHAT_TOKEN}"}
  wechat-hk: {type: wechat, app_id: wx0123456789abcdef, app_secret: "${WECHAT_APP_SECRET}",
              token: "${WECHAT_TOKEN}"}    # the same account twice
""",
    "C806": """\
channels:
  whatsapp: {type: whatsapp, phone_number_id: "1098765432", access_token: "${WA_TOKEN}",
             app_secret: "${WA_APP_SECRET}", verify_token: "${WA_VERIFY_TOKEN}"}
templates:
  csat: {text: "How did we do? Reply 1 to 5."}   # no `whatsapp:` template
conversations:
  csat: {template: csat}    # asked at close, often after the 24-hour window
""",
}


def _intro() -> list[str]:
    return [
        "# Diagnostics",
        "",
        f"<!-- {GENERATED_NOTE} -->",
        "",
        "`supportctl validate` reports every problem of a stack in one run, each at the line "
        "and column where it is, with a stable code. This page lists every code.",
        "",
        "## Reading a diagnostic",
        "",
        "```text",
        "stack.yaml:43:9: error[R302]: routing[1].to: unknown team 'suport'",
        "    hint: did you mean 'support'?",
        "stack.yaml: invalid (1 error)",
        "```",
        "",
        "- `FILE:LINE:COL`: the file (an included file when the problem is there), and the "
        "1-based line and column of the value or key at fault.",
        "- `error` or `warning`: the severity. Errors make the stack invalid. Warnings point at "
        "something that works but is probably not what you meant; they fail only with "
        "`--strict`.",
        "- `[CODE]`: a letter for the family and three digits. A code never changes meaning, so "
        "scripts and tests may match on it.",
        "- the YAML path of the value (`routing[1].to` is the `to` of the second rule), then "
        "the message.",
        "- `hint:` how to fix it, when there is something better to say than the message.",
        "- a closing summary line, on standard error.",
        "",
        "## Options, formats and exit codes",
        "",
        "- `--strict`: warnings fail the check too (use it in CI once the warnings are fixed).",
        "- `--format text` (the default): as above; coloured only on a terminal.",
        "- `--format json`: a JSON list of objects with the keys `file`, `line`, `column`, "
        "`path`, `code`, `severity`, `message` and `hint`.",
        "- `--format github`: GitHub Actions workflow commands "
        "(`::error file=stack.yaml,line=43,col=9,title=R302 routing[1].to::...`), which show "
        "as annotations on the pull request. Chosen by default when `GITHUB_ACTIONS=true`.",
        "",
        "| exit code | meaning |",
        "|---|---|",
        "| 0 | valid: no errors (and no warnings under `--strict`) |",
        "| 1 | invalid: at least one error, or a warning under `--strict` |",
        "| 2 | usage error, or a stack file that cannot be read |",
        "| 3 | internal error: a bug in supportctl, not in your stack |",
        "",
        "Each code below shows its default severity and a short YAML example that gives it "
        "(a part of a stack; a line `# file: NAME` starts another file of it). The folders "
        "of [`examples/broken/`](../examples/broken/) hold complete broken stacks with the "
        "exact output of `validate` for each.",
        "",
    ]


def _family_of(code: Code) -> str:
    return code.code[0]


def render_diagnostics(catalogue: Sequence[Code] = CATALOGUE,
                       examples: dict[str, str] | None = None) -> str:
    """The Markdown page of every diagnostic code, grouped by family in catalogue order."""
    examples = EXAMPLES if examples is None else examples
    lines = _intro()
    families = list(dict.fromkeys(_family_of(code) for code in catalogue))
    lines += ["| family | codes | what it checks |", "|---|---|---|"]
    for family in families:
        title, about = FAMILIES[family]
        codes = [c.code for c in catalogue if _family_of(c) == family]
        lines.append(f"| [{family}: {title}](#{family.lower()}-{title.lower().replace(' ', '-')})"
                     f" | {codes[0]}–{codes[-1]} | {about} |")
    lines.append("")
    for family in families:
        title, about = FAMILIES[family]
        lines += [f"## {family}: {title}", "", about, ""]
        for code in (c for c in catalogue if _family_of(c) == family):
            lines += [f"### {code.code} {code.name}", "",
                      f"**{code.title}** · {code.severity.value} by default", "",
                      code.explanation, ""]
            if code.code in examples:
                lines += ["```yaml", *examples[code.code].rstrip("\n").split("\n"), "```", ""]
    return "\n".join(lines).rstrip() + "\n"
