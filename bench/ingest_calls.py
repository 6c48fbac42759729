"""What one WhatsApp delivery costs serve in store work: round trips to the SQLite thread,
transactions and SQL statements, counted per step of the bench's contact script.

    python bench/ingest_calls.py [--contacts N]

Serves the stack of bench/ingest.py in this process (the real aiohttp app on a loopback port,
a fresh SQLite file, no background workers), posts each contact's three signed deliveries
(first message: menu queued; `3`: handoff, routed and assigned; a follow-up) through HTTP, and
counts for every delivery what `count_store_work` sees. Not timed: it shows how many hops and
commits each webhook makes, which the profile of bench/ingest.py prices.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from ingest import APP_SECRET, PHONE_NUMBER_ID, WEBHOOK, stack_text
from ingest_client import STEPS, Deliveries

from supportctl.logs import configure_logging
from supportctl.runtime.app import create_app
from supportctl.settings import Settings


@contextmanager
def count_store_work(counts: Counter[str]) -> Iterator[Callable[[sqlite3.Connection], None]]:
    """Count hops to the store thread (`Database.call`) and SQL statements by kind. The one
    place that knows the SQLite store's internals: change it when they are renamed. Yields the
    function that starts counting the statements of a connection (on its own thread)."""
    from supportctl.store._sqlite_db import Database

    original = Database.call

    async def call(self: Database, work: Callable[[], Any]) -> Any:
        counts["store thread hops"] += 1
        return await original(self, work)

    def statement(sql: str) -> None:
        word = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else "?"
        if word == "BEGIN":
            counts["write transactions" if "IMMEDIATE" in sql.upper()
                   else "read transactions"] += 1
        elif word not in ("COMMIT", "ROLLBACK"):
            counts["SQL statements"] += 1
            counts[f"  {word}"] += 1

    Database.call = call  # type: ignore[method-assign]
    try:
        yield lambda conn: conn.set_trace_callback(statement)
    finally:
        Database.call = original  # type: ignore[method-assign]


async def measure(folder: Path, contacts: int) -> dict[int, list[Counter[str]]]:
    from supportctl.runtime.server import Server

    stack = folder / "stack.yaml"
    stack.write_text(stack_text(100))
    env = {"BENCH_WA_TOKEN": "t", "BENCH_WA_APP_SECRET": APP_SECRET,
           "BENCH_WA_VERIFY_TOKEN": "v", "BENCH_GRAPH_URL": "http://127.0.0.1:9"}
    settings = Settings(database_url=f"sqlite:///{folder / 'serve.db'}", admin_token=None)
    counts: Counter[str] = Counter()
    per_step: dict[int, list[Counter[str]]] = {step: [] for step in range(len(STEPS))}
    with count_store_work(counts) as trace:
        server = await Server.start(settings, stack, env)
        store_db = server.store._db  # type: ignore[attr-defined]
        await store_db.call(lambda: trace(store_db._conn))
        runner = web.AppRunner(create_app(server), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        deliveries = Deliveries(APP_SECRET, PHONE_NUMBER_ID, first_contact=0, tag="calls",
                                spread=contacts, host=f"127.0.0.1:{port}", path=WEBHOOK)
        try:
            async with ClientSession() as http:
                for n in range(contacts * len(STEPS)):
                    body = deliveries.body(n, time.time())
                    sign = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
                    counts.clear()
                    async with http.post(f"http://127.0.0.1:{port}{WEBHOOK}", data=body,
                                         headers={"X-Hub-Signature-256": f"sha256={sign}",
                                                  "Content-Type": "application/json"}) as answer:
                        assert answer.status == 200, await answer.text()
                    per_step[deliveries.step(n)[1]].append(Counter(counts))
        finally:
            await runner.cleanup()
            await server.stop()
    return per_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--contacts", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ.pop("SUPPORTCTL_DATABASE_URL", None)
    configure_logging("json", "warning")  # the counts, not a line per message
    with tempfile.TemporaryDirectory(prefix="supportctl-calls-") as folder:
        per_step = asyncio.run(measure(Path(folder), max(1, args.contacts)))
    names = ("first message (new contact: menu queued)", "'3' (handoff: routed, assigned)",
             "follow-up (assigned conversation)")
    keys = sorted({key for samples in per_step.values() for c in samples for key in c},
                  key=lambda k: (k.startswith("  "), k))
    print(f"{'per delivery (median of ' + str(args.contacts) + ' contacts)':44}"
          + "".join(f"{name.split(' (')[0]:>16}" for name in names))
    for key in keys:
        print(f"{key:44}" + "".join(
            f"{statistics.median(c[key] for c in per_step[step]):>16g}"
            for step in range(len(STEPS))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
