"""Which `serve` processes are alive, so that the claims of a dead one are taken over at once.

Every process registers an instance (host, pid and the kernel's start time of the pid) and
heartbeats every few seconds. A process of the same host whose pid no longer runs that start
time is dead: a process restarted after SIGKILL sees its predecessor so as it starts, and
releases its claims before it claims anything itself. A process of another host is dead when its
heartbeat is older than `stale_after`. Leases stay the last resort: a claim whose lease ran out
is claimable whatever its process.

Heartbeats use the wall clock, not the runtime's `Clock`: tests that move a frozen clock by days
must not make the process look dead to itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import structlog

from supportctl.store.interface import Store, StoreError
from supportctl.store.records import Instance

log = structlog.get_logger("supportctl.liveness")


def process_start(pid: int) -> str:
    """The kernel's start time of `pid` (Linux: field 22 of /proc/PID/stat), "" when unknown;
    "-" when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return "-" if Path("/proc/self/stat").exists() else ""
    except OSError:
        return ""
    # the command name is in parentheses and may hold spaces: count fields after it
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else ""


def running(pid: int, started: str) -> bool:
    """Whether `pid` still runs the process that recorded `started`."""
    now = process_start(pid)
    if now == "-":
        return False
    if now and started:
        return now == started
    try:  # no /proc: whether the pid exists at all
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Liveness:
    def __init__(self, store: Store, *, heartbeat_every: float = 5.0, stale_after: float = 30.0,
                 wall: Callable[[], float] = time.time) -> None:
        self.store = store
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.id = f"{self.host}:{self.pid}:{uuid.uuid4().hex[:8]}"
        self.heartbeat_every = heartbeat_every
        self.stale_after = stale_after
        self.wall = wall

    def _now(self) -> datetime:
        return datetime.fromtimestamp(self.wall(), UTC)

    async def start(self) -> int:
        """Register this process and take over the claims of dead ones; how many."""
        now = self._now()
        await self.store.register_instance(Instance(self.id, self.host, self.pid,
                                                    process_start(self.pid), now, now))
        return await self.reap()

    async def reap(self) -> int:
        """Release the claims of every process found dead; how many claims."""
        released = 0
        stale_before = self.wall() - self.stale_after
        for other in await self.store.instances():
            if other.id == self.id:
                continue
            same_host_gone = other.host == self.host and not running(other.pid, other.started)
            if same_host_gone or other.heartbeat_at.timestamp() < stale_before:
                count = await self.store.retire_instance(other.id)
                released += count
                log.warning("took over the claims of a process that is gone", instance=other.id,
                            claims=count, why="not running" if same_host_gone else "silent")
        return released

    async def run(self, stop: asyncio.Event) -> None:
        """Heartbeat and reap until `stop`."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self.heartbeat_every)
            if stop.is_set():
                return
            try:
                if not await self.store.heartbeat(self.id, self._now()):
                    # another process thought us dead (we were silent too long): our claims
                    # were released; register again and go on
                    log.warning("this process was taken for dead; registering again")
                    await self.start()
                await self.reap()
            except StoreError as exc:
                log.warning("heartbeat failed: database unavailable", error=str(exc))

    async def stop(self) -> None:
        """A clean stop: release every claim of this process."""
        with contextlib.suppress(StoreError):
            await self.store.retire_instance(self.id)
