"""bench/ingest.py end to end with tiny numbers: it starts serve, the bare endpoint and the fake
Graph API, drives both endpoints, reads serve's processing and reports sane numbers. No speed
is asserted (the machines are shared and noisy); only that the bench runs and adds up. Also the
pieces that must survive the runtime's renames: the pending gauge under either name, and the
reading of py-spy's collapsed stacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parent.parent.parent
BENCH = REPO / "bench"


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(BENCH))  # the bench's modules import each other
    import ingest

    return ingest


def test_ingest_bench_runs_end_to_end_and_adds_up(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    run = subprocess.run(
        [sys.executable, str(BENCH / "ingest.py"), "--seconds", "1", "--rounds", "1",
         "--warmup", "0.3", "--concurrency", "4", "--rate", "40", "--agents", "3",
         "--spread", "4", "--timeout", "5", "--drain-timeout", "20", "--json", str(results)],
        capture_output=True, text=True, timeout=180, cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Traceback" not in run.stderr
    for expected in ("closed loop, 4 connections", "open loop at 40/s", "serve/bare",
                     "peak memory (VmHWM): serve", "goal: ingest at least 50%",
                     "goal: p99 at most 25 ms", "goal: processing keeps up"):
        assert expected in run.stdout

    data = json.loads(results.read_text())
    rounds = {(r["endpoint"], r["mode"]): r for r in data["rounds"]}
    assert set(rounds) == {(e, m) for e in ("bare", "serve") for m in ("closed", "open")}
    for (endpoint, mode), r in rounds.items():
        client = r["client"]
        assert client["errors"] == {} and client["unanswered"] == 0, (endpoint, mode, client)
        assert client["acknowledged"] == client["sent"] > 0
        assert client["rate"] > 0
        latency = client["latency_ms"]
        assert 0 < latency["p50"] <= latency["p99"] <= latency["max"]
        assert r["server_cpu"] > 0
    for mode in ("closed", "open"):
        served = rounds[("serve", mode)]
        assert served["drained"] and served["drain"] is not None
        assert served["processed_rate"] > 0
        assert served["backlog"] is not None  # serve's pending gauge was found
    # the open loop offered 40/s for a second
    assert rounds[("bare", "open")]["client"]["sent"] == 40
    assert data["memory"]["serve"]["VmHWM"] > data["memory"]["bare"]["VmHWM"] > 0

    # every answered delivery was processed: one message each, first ones opened conversations
    totals = data["totals"]
    answered = sum(r["client"]["acknowledged"] for r in data["rounds"] if r["endpoint"] == "serve")
    assert totals["inbound"] >= answered  # and the warm-up's
    # one menu per conversation at least: a contact's next two messages may be in flight at
    # once (on two connections), and when the follow-up overtakes the `3` it is answered with
    # the menu again, as it would be from WhatsApp, which does not promise an order either
    assert 0 < totals["contacts"] == totals["conversations"] <= totals["outbound"]
    assert 0 < totals["assigned"] <= totals["conversations"]  # `3` hands off to an agent


def test_pending_is_read_under_the_old_and_the_new_metric_name(bench: ModuleType) -> None:
    old = "# HELP supportctl_inbox_pending x\nsupportctl_inbox_pending 3.0\n"
    new = ('supportctl_work_pending{queue="outbox"} 7.0\n'
           'supportctl_work_pending{queue="receipts"} 2.0\n' + old)
    assert bench.pending_in(old) == 3
    assert bench.pending_in(new) == 2  # the receipts queue's, not the outbox's
    assert bench.pending_in("supportctl_outbox_pending 5.0\n") is None


def test_profile_stacks_are_grouped_by_stage(bench: ModuleType) -> None:
    import ingest_profile

    main = ("thread (1): MainThread;run (supportctl/commands/serve.py:70);"
            "BaseEventLoop._run_once (asyncio/base_events.py:1922)")
    lines = [
        f"{main};webhook (supportctl/runtime/app.py:71);receive (supportctl/plugins/channel.py:9);"
        "WhatsAppChannelRuntime.verify (plugins/whatsapp_runtime.py:120);"
        "new (hmac.py:184) 3",
        f"{main};webhook (supportctl/runtime/app.py:80);"
        "Desk.receive (supportctl/runtime/desk.py:1);BoundLogger.info (structlog/_native.py:1);"
        "dumps (json/__init__.py:231) 2",
        f"{main};EpollSelector.select (selectors.py:468) 4",
        "thread (2): supportctl-sqlite_0;_worker (concurrent/futures/thread.py:83);"
        "_WorkItem.run (concurrent/futures/thread.py:58);"
        "transaction (supportctl/store/_sqlite_db.py:108) 5",
        "thread (2): supportctl-sqlite_0;_worker (concurrent/futures/thread.py:83) 1",
    ]
    profile = ingest_profile.read_collapsed(lines)
    assert profile.samples == 15
    stages = {name.split(" (")[0]: count for name, count in profile.stages.items()}
    assert stages == {"signature check": 3, "logging": 2,
                      "waiting: event loop idle in epoll": 4,
                      "SQLite on the store thread": 5, "waiting: store thread idle": 1}
    assert profile.by_thread == {"MainThread": 9, "supportctl-sqlite": 6}
    assert profile.self_time["transaction (supportctl/store/_sqlite_db.py)"] == 5
    assert profile.total_time["webhook (supportctl/runtime/app.py)"] == 5
    text = "\n".join(ingest_profile.listing(profile, deliveries=10))
    assert "signature check" in text and "µs" in text
    svg = ingest_profile.flame_svg(profile.stacks, "test")
    assert svg.startswith("<svg") and "WhatsAppChannelRuntime.verify" in svg
