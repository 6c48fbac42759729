"""Where `serve`'s time goes while `bench/ingest.py --profile` loads it: py-spy's samples read
into a listing by function (self and total) and by stage of the webhook path, plus a flame graph.

py-spy (`pip install py-spy`, not a project dependency) samples the running server from outside
through ptrace, every thread, 100 times a second, and writes collapsed stacks (`--format raw`:
one line per distinct stack, `frame;frame;... count`, the format flamegraph.pl, inferno and
speedscope.app read). This module turns them into:

- the top functions by self time (the leaf of the sample) and total time (anywhere on the stack);
- the stages of the webhook path (signature check, JSON, event conversion, SQLite, thread hops,
  desk, logging, aiohttp, ...): each sample goes to the first stage in `STAGES` that one of its
  frames belongs to, so a `json.dumps` inside the log renderer counts as logging, not as JSON;
- an SVG flame graph (`flame_svg`), so no Perl script is needed to look at it.

Times are per delivery: samples / rate / deliveries answered while sampling.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

SAMPLE_RATE = 100
FRAME = re.compile(r"^(?P<function>.*?) \((?P<file>[^()]*?)(?::(?P<line>\d+))?\)$")


def py_spy() -> str | None:
    """The py-spy executable: next to this Python (a venv's bin), else on PATH."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


def record(pid: int, seconds: float, output: Path, *, native: bool = False
           ) -> subprocess.Popen[bytes]:
    """Start sampling `pid` for `seconds` into `output` (collapsed stacks); the caller waits.
    `native` adds the C frames (waiting for the GIL, fsync, system calls)."""
    executable = py_spy()
    if executable is None:
        raise FileNotFoundError("py-spy is not installed (pip install py-spy)")
    return subprocess.Popen(
        [executable, "record", "--pid", str(pid), "--duration", str(max(1, round(seconds))),
         "--rate", str(SAMPLE_RATE), "--format", "raw", "--threads", "--output", str(output),
         *(["--native"] if native else [])],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


Frames = list[tuple[str, str]]  # (function, file) from the root of a sample to its leaf


@dataclass(frozen=True)
class Stage:
    name: str
    matches: Callable[[str, Frames], bool]  # (thread name, frames)


def _any(test: Callable[[str, str], bool]) -> Callable[[str, Frames], bool]:
    return lambda _thread, frames: any(test(function, file) for function, file in frames)


def _in(*parts: str) -> Callable[[str, Frames], bool]:
    return _any(lambda _function, file: any(part in file for part in parts))


def _named(*names: str) -> Callable[[str, Frames], bool]:
    return _any(lambda function, _file: function in names)


def _python_leaf(function: str, file_part: str) -> Callable[[str, Frames], bool]:
    """The sample's deepest Python frame is `function` in `file_part` (native frames below it,
    from `--native`, do not count)."""
    def test(_thread: str, frames: Frames) -> bool:
        python = [frame for frame in frames if frame[1].endswith(".py")]
        return bool(python) and python[-1][0] == function and file_part in python[-1][1]
    return test


def _gil_wait(_thread: str, frames: Frames) -> bool:
    names = {function for function, _ in frames}
    return (bool(names & {"take_gil", "PyEval_RestoreThread", "pthread_cond_timedwait"})
            and not names & {"_queue_SimpleQueue_get", "_queue_SimpleQueue_get_impl"})


HOPS = ("run_in_executor", "wrap_future", "_chain_future", "_copy_future_state",
        "_set_concurrent_future_state", "call_soon_threadsafe", "_write_to_self",
        "_read_from_self", "_process_self_data", "ThreadPoolExecutor.submit",
        "Future.set_result", "Future._invoke_callbacks", "Database.call")

# first match wins, so the order matters: waiting before working, and what a frame is *for*
# before where the leaf is (a json.dumps inside the log renderer is logging)
STAGES = (
    Stage("waiting: event loop idle in epoll (nothing else runnable)",
          _python_leaf("EpollSelector.select", "selectors.py")),
    Stage("waiting: store thread idle (no work queued)",
          _python_leaf("_worker", "concurrent/futures/thread.py")),
    Stage("waiting for the GIL (native frames only)", _gil_wait),
    Stage("cyclic garbage collector (native frames only)", _named("gc_collect_main")),
    Stage("fsync: WAL checkpoints and commits (native frames only)",
          _named("fdatasync", "fsync")),
    Stage("logging (structlog, stdlib logging, access log)",
          _in("structlog/", "logging/__init__", "supportctl/logs.py", "aiohttp/web_log.py")),
    Stage("metrics (prometheus_client)", _in("prometheus_client/")),
    Stage("signature check (HMAC of the body)",
          _any(lambda f, file: "hmac.py" in file or (f.endswith(".verify")
                                                     and "_runtime.py" in file))),
    Stage("JSON parse of the body (WebhookRequest.json)", _named("WebhookRequest.json")),
    Stage("event conversion (plugin parse, event to/from JSON)",
          _any(lambda f, file: "supportctl/runtime/inbound_json.py" in file
               or ("_runtime.py" in file and any(k in f for k in (
                   ".parse", "._message", "._value_events", "sender")))))
    ,
    Stage("SQLite thread hops (run_in_executor, futures, self-pipe wakeups)",
          _any(lambda f, file: any(hop in f for hop in HOPS)
               and ("asyncio/" in file or "concurrent/futures" in file
                    or "_sqlite_db.py" in file))),
    Stage("ids: uuid4 and new_id (os.urandom)",
          _any(lambda f, file: (f == "uuid4" and "uuid.py" in file)
               or (f == "new_id" and "supportctl/store/ids.py" in file))),
    Stage("SQLite on the store thread (SQL, BEGIN/COMMIT, rows to records)",
          lambda thread, _frames: thread.startswith("supportctl-sqlite")),
    Stage("store calls on the event loop (supportctl/store)", _in("supportctl/store/")),
    Stage("outbox worker sending menu replies (outbox.py, aiohttp client)",
          _in("supportctl/runtime/outbox.py", "aiohttp/client", "aiohttp/connector")),
    Stage("inbox: store the delivery, process it, mark it done (runtime/inbox.py)",
          _in("supportctl/runtime/inbox.py")),
    Stage("desk: conversation, menu, routing (runtime/desk.py, outgoing.py, routing/)",
          _in("supportctl/runtime/desk.py", "supportctl/runtime/outgoing.py",
              "supportctl/runtime/menu_engine.py", "supportctl/routing/",
              "supportctl/runtime/texts.py", "supportctl/runtime/bus.py")),
    Stage("webhook handler, reading the request (runtime/app.py, plugins/channel.py)",
          _in("supportctl/runtime/app.py", "supportctl/plugins/channel.py")),
    Stage("aiohttp server (HTTP parsing, responses, protocol)", _in("aiohttp/")),
    Stage("asyncio event loop (scheduling, selectors, transports)",
          _in("asyncio/", "selectors.py")),
)
OTHER = "other"


@dataclass
class Profile:
    samples: int
    by_thread: Counter[str]
    self_time: Counter[str]
    total_time: Counter[str]
    stages: Counter[str]
    stacks: list[tuple[list[str], int]]


def split_frame(frame: str) -> tuple[str, str]:
    """(function, file) of a py-spy frame `function (file:line)`."""
    found = FRAME.match(frame)
    if found is None:
        return frame, ""
    return found["function"], found["file"]


def short(frame: str) -> str:
    """`function (file)` without the line number: a function's samples counted together."""
    function, file = split_frame(frame)
    return f"{function} ({file})" if file else function


def read_collapsed(lines: Iterable[str]) -> Profile:
    """Read py-spy's `--format raw --threads` output."""
    profile = Profile(0, Counter(), Counter(), Counter(), Counter(), [])
    for line in lines:
        stack, _, count_text = line.rstrip("\n").rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = frames[0].partition(": ")[2] if frames[0].startswith("thread (") else ""
        frames = frames[1:] if frames[0].startswith("thread (") else frames
        thread = thread or "?"
        profile.samples += count
        profile.by_thread["supportctl-sqlite" if thread.startswith("supportctl-sqlite")
                          else thread] += count
        profile.stacks.append(([thread, *frames], count))
        if frames:
            profile.self_time[short(frames[-1])] += count
        for name in {short(frame) for frame in frames}:
            profile.total_time[name] += count
        profile.stages[stage_of(thread, frames)] += count
    return profile


def stage_of(thread: str, frames: list[str]) -> str:
    parsed = [split_frame(frame) for frame in frames]
    for stage in STAGES:
        if stage.matches(thread, parsed):
            return stage.name
    return OTHER


def listing(profile: Profile, deliveries: int, top: int = 30) -> Iterator[str]:
    """The profile as text: stages, threads, top functions; times per delivery."""
    def per(count: int) -> str:
        seconds = count / SAMPLE_RATE
        share = count / profile.samples if profile.samples else 0.0
        each = seconds / deliveries * 1e6 if deliveries else 0.0
        return f"{count:>7} {share:>6.1%} {each:>8.0f} µs"

    yield (f"{profile.samples} samples at {SAMPLE_RATE}/s of every busy thread, "
           f"{deliveries} deliveries answered while sampling")
    yield ""
    yield f"{'stage of the webhook path':78} {'samples':>7} {'share':>6} {'per delivery':>11}"
    for name, count in profile.stages.most_common():
        yield f"{name:78} {per(count)}"
    yield ""
    yield f"{'thread':78} {'samples':>7} {'share':>6} {'per delivery':>11}"
    for name, count in profile.by_thread.most_common():
        yield f"{name:78} {per(count)}"
    for title, counter in (("self time (the function itself)", profile.self_time),
                           ("total time (the function and what it calls)", profile.total_time)):
        yield ""
        yield f"{'top ' + str(top) + ' by ' + title:78} {'samples':>7} {'share':>6} {'µs':>11}"
        for name, count in counter.most_common(top):
            yield f"{name[:78]:78} {per(count)}"


def flame_svg(stacks: list[tuple[list[str], int]], title: str, width: int = 1600) -> str:
    """A flame graph of collapsed stacks as a standalone SVG (hover a box for its numbers)."""
    tree: dict[str, Node] = {}
    total = 0
    for frames, count in stacks:
        total += count
        children = tree
        for frame in frames:
            here = children.setdefault(frame, Node())
            here.count += count
            children = here.children
    rows = 16
    height = (max((len(frames) for frames, _ in stacks), default=0) + 1) * rows + 30
    boxes: list[str] = []

    def draw(children: dict[str, Node], x: float, depth: int) -> None:
        y = height - (depth + 1) * rows - 4  # the root at the bottom, as flame graphs are drawn
        for name, child in sorted(children.items()):
            w = child.count / total * width
            if w >= 0.5:
                hue = 15 + sum(map(ord, split_frame(name)[1])) % 45
                shown = html.escape(name[: int(w / 7)]) if w > 30 else ""
                boxes.append(
                    f"<g><title>{html.escape(name)} ({child.count} samples, "
                    f"{child.count / total:.1%})</title>"
                    f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{rows - 1}" '
                    f'fill="hsl({hue},85%,{55 + depth % 3 * 5}%)"/>'
                    f'<text x="{x + 3:.1f}" y="{y + 11}">{shown}</text></g>')
                draw(child.children, x, depth + 1)
            x += w

    if total:
        draw(tree, 0.0, 0)
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'font-family="monospace" font-size="11">\n<text x="4" y="16" font-size="14">'
            f"{html.escape(title)}</text>\n" + "\n".join(boxes) + "\n</svg>\n")


@dataclass
class Node:
    count: int = 0
    children: dict[str, Node] = field(default_factory=dict)
