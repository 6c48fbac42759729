"""The load generator of `bench/ingest.py`, run as its own process so that it never shares an
event loop (or a core's worth of Python) with the server it measures:

    python bench/ingest_client.py JOB_JSON

JOB_JSON names the endpoint (`host`, `port`, `path`), the WhatsApp app secret and phone number id,
where this round's contacts and message ids start, and the load: `{"mode": "closed",
"concurrency": 64, "seconds": 10}` or `{"mode": "open", "rate": 1000, "seconds": 10,
"connections": 256}`. The client writes JSON lines to standard output: `started` and `stopped`
(wall-clock times of the offered load's start and end, so the caller can read the server's
progress at those moments), then one `result`.

Every delivery is a signed WhatsApp Cloud API webhook (`X-Hub-Signature-256: sha256=<HMAC-SHA256
of the raw body with the app secret>`) with one text message, in the shape of
tests/fixtures/payloads/whatsapp/text.json, from a contact that follows a three-step script: a
first message (a new contact: the entry menu is queued), `3` (the menu's handoff: the
conversation is routed and assigned), a follow-up (added to the assigned conversation). Message
ids are always new. The steps of one contact are `spread` deliveries apart, so a contact's next
message is sent only after its previous one was answered.

HTTP is spoken by a minimal HTTP/1.1 keep-alive client on asyncio's protocols (one request at a
time per connection, Content-Length bodies) rather than aiohttp's client: it costs a few
microseconds a request, so the client is not what limits the bare endpoint. The cyclic garbage
collector is paused while the load runs, so the client's own pauses do not show as latency.

- closed loop: `concurrency` connections, each sending its next delivery as soon as the previous
  one is answered, for `seconds`; answered/s and latency from send to answer.
- open loop: deliveries due at a fixed `rate` (the i-th at start + i / rate) whether or not the
  server keeps up, over at most `connections` connections, later ones waiting for a free one;
  latency is measured from the due time, so waiting in the client counts (no coordinated
  omission).
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import hmac
import itertools
import json
import sys
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

STEPS = ("Hello, where is my order #{order}?", "3", "It is order #{order}. Thank you!")
NAMES = ("Sheena Nelson", "Jonas Weber", "Aiko Tanaka", "Mateo Garcia", "Priya Singh",
         "Lena Horvat", "Kofi Okafor", "Sofia Rossi")


class Deliveries:
    """The signed WhatsApp deliveries of one round, numbered from 0."""

    def __init__(self, secret: str, phone_number_id: str, *, first_contact: int, tag: str,
                 spread: int, host: str, path: str) -> None:
        self.key = secret.encode()
        self.phone_number_id = phone_number_id
        self.first_contact = first_contact
        self.tag = tag
        self.spread = max(1, spread)
        self.head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                     "Content-Type: application/json\r\nUser-Agent: facebookexternalua\r\n")

    def step(self, n: int) -> tuple[int, int]:
        """(contact, step) of the n-th delivery: contacts in blocks of `spread`, each block
        sending its first messages, then its second, then its third."""
        block, within = divmod(n, self.spread * len(STEPS))
        step, offset = divmod(within, self.spread)
        return self.first_contact + block * self.spread + offset, step

    def body(self, n: int, now: float) -> bytes:
        contact, step = self.step(n)
        wa_id = f"49{contact:011d}"
        message_id = "wamid." + base64.b64encode(
            f"HBgN{wa_id}FQIAEhgU{self.tag}{n:010d}".encode()).decode()
        document = {"object": "whatsapp_business_account", "entry": [{
            "id": "102290129340398", "changes": [{"value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": "15550783881",
                             "phone_number_id": self.phone_number_id},
                "contacts": [{"profile": {"name": NAMES[contact % len(NAMES)]},
                              "wa_id": wa_id, "user_id": f"DE.{contact:020d}"}],
                "messages": [{"from": wa_id, "from_user_id": f"DE.{contact:020d}",
                              "id": message_id, "timestamp": str(int(now)), "type": "text",
                              "text": {"body": STEPS[step].format(order=4000 + contact)}}]},
                "field": "messages"}]}]}
        return json.dumps(document, separators=(",", ":")).encode()

    def request(self, n: int, now: float) -> bytes:
        """The whole HTTP request of the n-th delivery, signed."""
        body = self.body(n, now)
        sign = hmac.new(self.key, body, hashlib.sha256).hexdigest()
        return (f"{self.head}X-Hub-Signature-256: sha256={sign}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode() + body


class Closed(Exception):
    """The connection closed before the answer came."""


class Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[int] | None = None
        self.timer: asyncio.TimerHandle | None = None
        self.open = False

    @classmethod
    async def connect(cls, host: str, port: int, timeout: float) -> Connection:
        loop = asyncio.get_running_loop()
        _, protocol = await asyncio.wait_for(loop.create_connection(cls, host, port), timeout)
        return protocol

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.open = True

    def connection_lost(self, exc: Exception | None) -> None:
        self.open = False
        self._finish(error=Closed(str(exc) if exc else "closed by the server"))

    def send(self, data: bytes, timeout: float) -> asyncio.Future[int]:
        """The answer's status, or Closed / TimeoutError."""
        assert self.transport is not None and self.waiter is None
        loop = asyncio.get_running_loop()
        self.waiter = loop.create_future()
        self.timer = loop.call_later(timeout, self._timed_out)
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.open = False
        if self.transport is not None:
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0 or self.waiter is None:
            return
        lines = bytes(self.buffer[:end]).split(b"\r\n")
        status = int(lines[0].split(b" ", 2)[1])
        length, chunked, keep = 0, False, True
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
            elif name == b"connection" and value.strip().lower() == b"close":
                keep = False
        if chunked:
            last = self.buffer.find(b"0\r\n\r\n", end + 4)
            if last < 0:
                return
            total = last + 5
        else:
            total = end + 4 + length
            if len(self.buffer) < total:
                return
        del self.buffer[:total]
        if not keep:
            self.close()
        self._finish(status=status)

    def _timed_out(self) -> None:
        self._finish(error=TimeoutError("no answer in time"))
        self.close()

    def _finish(self, status: int = 0, error: Exception | None = None) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(status)


@dataclass
class Tally:
    """What one round's requests did."""

    latencies: list[float]
    errors: Counter[str]
    answered_in_window: int = 0
    acknowledged: int = 0
    sent: int = 0

    def failed(self, what: str) -> None:
        self.errors[what] += 1


def percentiles(values: Sequence[float], missing: int = 0) -> dict[str, float | None]:
    """p50/p90/p99/p99.9/max in milliseconds (nearest rank); `missing` requests that never got
    an answer count as infinitely slow, so they push the high percentiles to None."""
    ordered = sorted(values)
    count = len(ordered) + missing

    def rank(p: float) -> float | None:
        if not count:
            return None
        index = max(0, min(count - 1, int(p * count + 0.999999) - 1))
        return ordered[index] * 1000 if index < len(ordered) else None

    return {"p50": rank(0.50), "p90": rank(0.90), "p99": rank(0.99), "p999": rank(0.999),
            "max": (ordered[-1] * 1000 if ordered and not missing else None),
            "mean": (sum(ordered) / len(ordered) * 1000 if ordered else None)}


def emit(event: str, **data: Any) -> None:
    print(json.dumps({"event": event, **data}), flush=True)


async def exchange(conn: Connection, data: bytes, timeout: float, tally: Tally) -> bool:
    """Send one request; True when the connection can carry the next one."""
    try:
        status = await conn.send(data, timeout)
    except TimeoutError:
        tally.failed("timeout")
        return False
    except Closed:
        tally.failed("connection closed")
        return False
    if 200 <= status < 300:
        tally.acknowledged += 1
        return conn.open
    tally.failed(f"HTTP {status}")
    return conn.open


async def closed_loop(job: dict[str, Any], deliveries: Deliveries) -> dict[str, Any]:
    host, port, timeout = job["host"], job["port"], job["timeout"]
    tally = Tally([], Counter())
    numbers = itertools.count()
    start = time.perf_counter()
    end = start + job["seconds"]

    async def worker() -> None:
        conn: Connection | None = None
        while time.perf_counter() < end:
            if conn is None or not conn.open:
                try:
                    conn = await Connection.connect(host, port, timeout)
                except (OSError, TimeoutError) as exc:
                    tally.failed(f"connect: {type(exc).__name__}")
                    await asyncio.sleep(0.05)
                    continue
            data = deliveries.request(next(numbers), time.time())
            tally.sent += 1
            began = time.perf_counter()
            before = tally.acknowledged
            if not await exchange(conn, data, timeout, tally):
                conn.close()
            answered = time.perf_counter()
            if tally.acknowledged > before:
                tally.latencies.append(answered - began)
                if answered <= end:
                    tally.answered_in_window += 1
        if conn is not None:
            conn.close()

    emit("started", at=time.time())
    workers = [asyncio.create_task(worker()) for _ in range(job["concurrency"])]
    await asyncio.sleep(max(0.0, end - time.perf_counter()))
    emit("stopped", at=time.time())
    _, pending = await asyncio.wait(workers, timeout=timeout + 5)
    for task in pending:
        task.cancel()
    return {"mode": "closed", "concurrency": job["concurrency"], "seconds": job["seconds"],
            "sent": tally.sent, "acknowledged": tally.acknowledged,
            "rate": tally.answered_in_window / job["seconds"],
            "latency_ms": percentiles(tally.latencies), "errors": dict(tally.errors),
            "unanswered": len(pending)}


class Pool:
    """At most `size` connections; a request waits for a free one, first come first served."""

    def __init__(self, host: str, port: int, size: int, timeout: float) -> None:
        self.host, self.port, self.size, self.timeout = host, port, size, timeout
        self.idle: list[Connection] = []
        self.waiting: deque[asyncio.Future[Connection | None]] = deque()
        self.opened = 0
        self.peak = 0

    async def acquire(self) -> Connection:
        while self.idle:
            conn = self.idle.pop()
            if conn.open:
                return conn
            self.opened -= 1
        if self.opened < self.size:
            self.opened += 1
            self.peak = max(self.peak, self.opened)
            try:
                return await Connection.connect(self.host, self.port, self.timeout)
            except BaseException:
                self.opened -= 1
                self._hand_over(None)
                raise
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self.waiting.append(waiter)
        handed = await waiter
        return handed if handed is not None else await self.acquire()

    def release(self, conn: Connection, healthy: bool) -> None:
        if not healthy:
            conn.close()
            self.opened -= 1
            self._hand_over(None)  # a waiter may open a new one
        elif not self._hand_over(conn):
            self.idle.append(conn)

    def _hand_over(self, conn: Connection | None) -> bool:
        while self.waiting:
            waiter = self.waiting.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        return False

    def close(self) -> None:
        for conn in self.idle:
            conn.close()


async def open_loop(job: dict[str, Any], deliveries: Deliveries) -> dict[str, Any]:
    rate, seconds, timeout = job["rate"], job["seconds"], job["timeout"]
    pool = Pool(job["host"], job["port"], job["connections"], timeout)
    tally = Tally([], Counter())
    total = max(1, int(rate * seconds))
    lag = 0.0

    async def one(n: int, due: float) -> None:
        try:
            conn = await pool.acquire()
        except (OSError, TimeoutError) as exc:
            tally.failed(f"connect: {type(exc).__name__}")
            return
        data = deliveries.request(n, time.time())
        before = tally.acknowledged
        healthy = await exchange(conn, data, timeout, tally)
        if tally.acknowledged > before:
            tally.latencies.append(time.perf_counter() - due)
        pool.release(conn, healthy)

    tasks: set[asyncio.Task[None]] = set()
    start = time.perf_counter() + 0.01
    emit("started", at=time.time() + 0.01)
    n = 0
    while n < total:
        now = time.perf_counter()
        due = start + n / rate
        if due > now:
            await asyncio.sleep(due - now)
            continue
        while n < total and start + n / rate <= now:  # everything due by now, at once
            due = start + n / rate
            lag = max(lag, now - due)
            task = asyncio.create_task(one(n, due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            tally.sent += 1
            n += 1
    emit("stopped", at=time.time())
    offered_end = time.perf_counter()
    if tasks:
        _, pending = await asyncio.wait(set(tasks), timeout=job["drain"])
        for task in pending:
            task.cancel()
    else:
        pending = set()
    finished = time.perf_counter()
    pool.close()
    answered = len(tally.latencies)
    return {"mode": "open", "offered": rate, "seconds": seconds, "sent": tally.sent,
            "acknowledged": tally.acknowledged,
            "rate": answered / max(finished - start, offered_end - start),
            "latency_ms": percentiles(tally.latencies, missing=total - answered),
            "errors": dict(tally.errors), "unanswered": len(pending),
            "client_lag_ms": lag * 1000, "connections": pool.peak}


async def run(job: dict[str, Any]) -> dict[str, Any]:
    deliveries = Deliveries(job["secret"], job["phone_number_id"],
                            first_contact=job["first_contact"], tag=job["tag"],
                            spread=job.get("spread", 200), host=f"{job['host']}:{job['port']}",
                            path=job["path"])
    cpu = time.process_time()
    gc.collect()
    gc.disable()
    try:
        if job["mode"] == "closed":
            result = await closed_loop(job, deliveries)
        else:
            result = await open_loop(job, deliveries)
    finally:
        gc.enable()
    result["client_cpu_seconds"] = time.process_time() - cpu
    return result


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: ingest_client.py JOB_JSON", file=sys.stderr)
        return 2
    job = json.loads(argv[0])
    if job["host"] != "127.0.0.1":
        print("ingest_client.py only talks to 127.0.0.1", file=sys.stderr)
        return 2
    emit("result", **asyncio.run(run(job)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
