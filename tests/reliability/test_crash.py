"""`supportctl serve` killed with SIGKILL in the middle of a load of signed WhatsApp deliveries,
then started again: every delivery it acknowledged is stored once and processed once, the
restarted process takes over the dead one's claims at once, and the provider's redeliveries
(of everything, acknowledged or not) change nothing twice."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import sqlite3
import threading
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import aiohttp
from load_stack import APP_SECRET, ENV, STACK, WA_PAYLOAD
from serve_process import GRACE, environment, free_port, get, output, serving, wait_for
from supportctl_plugins.whatsapp_runtime import signature

CUSTOMERS = 300
KILL_AFTER = 120  # acknowledged deliveries before the SIGKILL
CONCURRENCY = 32
# seconds: less than the 60-second lease, so the dead process's claims must be taken over at once
PROCESSED_WITHIN = 30.0


class _Graph(BaseHTTPRequestHandler):
    """The Graph API's /messages: accepts everything (the menus the desk sends)."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = json.dumps({"messaging_product": "whatsapp",
                           "messages": [{"id": f"wamid.OUT{time.monotonic_ns()}"}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: object) -> None:
        pass


@contextmanager
def graph() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Graph)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def delivery(n: int) -> bytes:
    payload = json.loads(json.dumps(WA_PAYLOAD))
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0].update(wa_id=f"4916{n:06d}", profile={"name": f"C{n}"})
    value["contacts"][0].pop("user_id", None)
    value["messages"][0].pop("from_user_id", None)
    value["messages"][0].update({"from": f"4916{n:06d}", "id": f"wamid.KILL{n}",
                                 "timestamp": str(int(time.time()))})
    return json.dumps(payload).encode()


async def deliver(url: str, numbers: list[int], stop_after: int | None = None,
                  reached: asyncio.Event | None = None) -> set[int]:
    """Post the deliveries `CONCURRENCY` at a time; the ones answered 200 (all of them, or
    until `stop_after` were: then `reached` is set, for the caller to kill the server)."""
    acknowledged: set[int] = set()
    queue = list(numbers)
    timeout = aiohttp.ClientTimeout(total=10)

    async def client(session: aiohttp.ClientSession) -> None:
        while queue and (stop_after is None or len(acknowledged) < stop_after):
            n = queue.pop(0)
            body = delivery(n)
            try:
                async with session.post(f"{url}/channels/wa/webhook", data=body, headers={
                        "Content-Type": "application/json",
                        "X-Hub-Signature-256": signature(APP_SECRET, body)}) as answer:
                    if answer.status == 200:
                        acknowledged.add(n)
                        if reached is not None and len(acknowledged) >= (stop_after or 0):
                            reached.set()
            except (aiohttp.ClientError, TimeoutError):
                return  # the server is gone

    async with aiohttp.ClientSession(timeout=timeout) as session:
        await asyncio.gather(*(client(session) for _ in range(CONCURRENCY)))
    return acknowledged


def pending_receipts(url: str) -> float | None:
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=2) as answer:
            text = answer.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith('supportctl_work_pending{queue="receipts"}'):
            return float(line.split()[-1])
    return None


def test_sigkill_under_load_loses_nothing_acknowledged_and_does_nothing_twice(
        tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACK, stack)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with graph() as api:
        env = environment(tmp_path, port, **{**ENV, "WA_API_BASE": api})
        with serving(tmp_path, stack, env) as first:
            wait_for(lambda: get(f"{url}/healthz") is not None, "the first serve")
            killer = threading.Timer(30, first.kill)  # bounded, whatever happens
            killer.start()

            async def load_then_kill() -> set[int]:
                reached = asyncio.Event()
                task = asyncio.create_task(deliver(url, list(range(CUSTOMERS)), KILL_AFTER,
                                                   reached))
                await asyncio.wait_for(reached.wait(), 30)
                first.send_signal(signal.SIGKILL)  # with requests still in flight
                return await task

            acknowledged = asyncio.run(load_then_kill())
            first.wait(timeout=10)
            killer.cancel()
        assert KILL_AFTER <= len(acknowledged) < CUSTOMERS
        (tmp_path / "first.log").write_text(output(tmp_path))
        with sqlite3.connect(f"file:{tmp_path / 'serve.db'}?mode=ro", uri=True) as db:
            held = db.execute("SELECT COUNT(*) FROM jobs WHERE claimed_by IS NOT NULL AND"
                              " state = 'pending'").fetchone()[0]

        with serving(tmp_path, stack, env) as second:
            wait_for(lambda: get(f"{url}/readyz") is not None, "the restarted serve")
            # the provider delivers again what was not acknowledged, and some of what was
            again = asyncio.run(deliver(url, list(range(CUSTOMERS))))
            assert again == set(range(CUSTOMERS))
            wait_for(lambda: pending_receipts(url) == 0, "every receipt processed",
                     PROCESSED_WITHIN)
            second.send_signal(signal.SIGTERM)
            assert second.wait(timeout=GRACE + 10) == 0
    log = output(tmp_path)
    if held:  # what the dead process held was taken over as the new one started
        assert "took over the work of a process" in log, held
    assert "Traceback" not in log and "Traceback" not in (tmp_path / "first.log").read_text()

    with sqlite3.connect(f"file:{tmp_path / 'serve.db'}?mode=ro", uri=True) as db:
        inbound = Counter(row[0] for row in db.execute(
            "SELECT external_id FROM messages WHERE direction = 'in'"))
        assert inbound == Counter({f"wamid.KILL{n}": 1 for n in range(CUSTOMERS)})
        # processed once: one conversation each, one welcome menu each, nothing left over
        menus = Counter(row[0] for row in db.execute(
            "SELECT conversation_id FROM messages WHERE direction = 'out'"))
        conversations = [row[0] for row in db.execute("SELECT id FROM conversations")]
        assert len(conversations) == CUSTOMERS
        assert set(menus.values()) == {1} and set(menus) == set(conversations)
        opened = db.execute("SELECT COUNT(*) FROM events WHERE kind = 'opened'").fetchone()
        assert opened == (CUSTOMERS,)
        states = dict(db.execute("SELECT state, COUNT(*) FROM jobs WHERE queue = 'receipts'"
                                 " GROUP BY state").fetchall())
        assert states == {"done": CUSTOMERS}
        # the dead process was found dead and its claims released; the second stopped cleanly
        assert db.execute("SELECT COUNT(*) FROM instances").fetchone() == (0,)
