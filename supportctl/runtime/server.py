"""One running `supportctl serve`: the live stack, the store, the desk and the background workers.

`Server.start` loads the stack (refusing one with errors), opens the database and registers the
process (taking over the claims of a dead predecessor at once); `run_workers` starts the
receipts, outbox, notification and timer workers and the heartbeat; `reload` swaps in a new
stack only after it checked clean; `stop` lets the workers finish what they hold, releases this
process's claims and closes the database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
from aiohttp import ClientSession, ClientTimeout

from supportctl.config import reporters
from supportctl.config.sources import UnreadableStack
from supportctl.logs import register_secrets
from supportctl.plugins.channel import ChannelRuntime, SendError
from supportctl.runtime.bus import Bus
from supportctl.runtime.clock import Clock, SystemClock
from supportctl.runtime.desk import Desk
from supportctl.runtime.feed import Feed
from supportctl.runtime.host import Host
from supportctl.runtime.live import LiveStack, PluginRuntimeError, StackRefused, load_live
from supportctl.runtime.liveness import Liveness
from supportctl.runtime.metrics import Metrics
from supportctl.runtime.notifications import NotificationWorker
from supportctl.runtime.outbox import OutboxWorker
from supportctl.runtime.receipts import Receipts
from supportctl.runtime.timers import TimerWorker
from supportctl.settings import Settings
from supportctl.store import Store, open_store
from supportctl.store.records import Contact, Conversation, Message
from supportctl.store.transition import Applied

log = structlog.get_logger("supportctl.server")


@dataclass
class ReloadResult:
    ok: bool
    version: str
    diagnostics: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None


def send_rates(live: LiveStack) -> dict[str, tuple[float, int]]:
    """Each channel's provider rate limit, as its plugin declares it."""
    return {channel_id: runtime.send_rate for channel_id, runtime in live.channels.items()
            if runtime.send_rate is not None}


async def close_runtimes(live: LiveStack) -> None:
    """Let the stack's channel and notifier runtimes release what they opened."""
    for runtime in live.channels.values():
        await runtime.close()
    for notifier in live.notifiers.values():
        await notifier.close()


class Server:
    def __init__(self, settings: Settings, stack_path: Path, env: Mapping[str, str],
                 store: Store, live: LiveStack, http: ClientSession, clock: Clock,
                 metrics: Metrics) -> None:
        self.settings = settings
        self.stack_path = stack_path
        self.env = env
        self.store = store
        self.http = http
        self.clock = clock
        self.metrics = metrics
        self.bus = Bus()
        self.feed = Feed(self.bus, metrics)
        self._live = live
        self._reload_lock = asyncio.Lock()
        self.liveness = Liveness(store)
        instance = self.instance
        self.outbox = OutboxWorker(store, lambda: self._live.channels, clock, metrics,
                                   instance=instance, concurrency=settings.outbox_workers,
                                   rates=send_rates(live), on_sent=self._sent,
                                   on_window_closed=self._window_closed)
        self.notifications = NotificationWorker(store, lambda: self._live.notifiers, clock,
                                                metrics, instance=instance)
        self.desk = Desk(store, self.live, clock, self.feed, metrics,
                         public_url=settings.public_url, queued=self._queued)
        self.receipts = Receipts(store, self.desk, clock, metrics, instance=instance)
        self.host = Host(store, self.receipts, self.bus, clock)
        self.timers = TimerWorker(store, self.desk, clock, metrics, instance=instance)
        self._stop = asyncio.Event()
        self._workers: list[asyncio.Task[None]] = []
        self._background: set[asyncio.Task[None]] = set()

    @classmethod
    async def start(cls, settings: Settings, stack_path: Path, env: Mapping[str, str], *,
                    clock: Clock | None = None, store: Store | None = None) -> Server:
        """Load and check the stack, then open the database. Raises StackRefused or
        PluginRuntimeError before touching the database."""
        clock = clock or SystemClock()
        http = ClientSession(timeout=ClientTimeout(total=30))
        try:
            live = load_live(stack_path, env, clock.now(), http=http)
            register_secrets(live.secrets)
            store = store or await open_store(settings.database_url,
                                              busy_timeout=settings.database_busy_timeout)
        except BaseException:
            await http.close()
            raise
        metrics = Metrics()
        metrics.loaded(live.version, clock.now().timestamp(), reload=False)
        server = cls(settings, stack_path, env, store, live, http, clock, metrics)
        try:
            taken = await server.liveness.start()
        except BaseException:
            await http.close()
            await store.close()
            raise
        if taken:
            log.warning("took over the work of a process that stopped without finishing it",
                        claims=taken)
        log.info("stack loaded", version=live.version, files=list(live.files),
                 channels=sorted(live.stack.channels))
        for channel_id, spec in live.specs.items():
            if channel_id not in live.channels:
                log.warning("channel has no runtime in this version: its webhook answers 404 "
                            "and nothing is sent on it", channel=channel_id, type=spec.type)
        return server

    @property
    def instance(self) -> str:
        """This process, as its claims name it."""
        return self.liveness.id

    def live(self) -> LiveStack:
        """The stack now served (read once per request: a reload swaps the whole of it)."""
        return self._live

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        """Run `work` in the background; `stop` waits for it."""
        task = asyncio.create_task(work)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def run_workers(self) -> None:
        self._workers = [asyncio.create_task(self.outbox.run(self._stop), name="outbox"),
                         asyncio.create_task(self.notifications.run(self._stop),
                                             name="notifications"),
                         asyncio.create_task(self.timers.run(self._stop), name="timers"),
                         asyncio.create_task(self.receipts.run(self._stop), name="receipts"),
                         asyncio.create_task(self.liveness.run(self._stop), name="liveness")]

    async def stop(self) -> None:
        """Let the workers finish what they hold, end live streams, release this process's
        claims, close the database."""
        self._stop.set()
        self.bus.close()
        if self._workers or self._background:
            await asyncio.gather(*self._workers, *self._background, return_exceptions=True)
        await self.liveness.stop()
        await close_runtimes(self._live)
        await self.http.close()
        await self.store.close()

    async def reload(self) -> ReloadResult:
        """Check the stack file again and serve it if it has no errors; else keep the old."""
        async with self._reload_lock:
            now = self.clock.now()
            old = self._live
            try:
                # checking a large stack takes a while: off the event loop
                new = await asyncio.to_thread(load_live, self.stack_path, self.env, now,
                                              http=self.http)
            except StackRefused as refused:
                self.metrics.reload_failed()
                shown = json.loads(reporters.as_json(refused.diagnostics))
                log.error("reload refused: the stack has errors; still serving the old one",
                          version=old.version, errors=len(refused.diagnostics),
                          diagnostics=reporters.text(refused.diagnostics))
                return ReloadResult(False, old.version, shown, "the stack has errors")
            except (PluginRuntimeError, UnreadableStack) as exc:
                # a stack file gone or unreadable (mid-deploy) is refused like an invalid one
                self.metrics.reload_failed()
                log.error("reload refused; still serving the old stack", error=str(exc))
                return ReloadResult(False, old.version, [], str(exc))
            register_secrets(new.secrets)
            for channel_id in old.channels.keys() - new.channels.keys():
                self.outbox.limits.set_rate(channel_id, None)
            for channel_id, (rate, burst) in send_rates(new).items():
                self.outbox.limits.set_rate(channel_id, rate, burst)
            self._live = new
            self.metrics.loaded(new.version, now.timestamp(), reload=True)
            await close_runtimes(old)
            log.info("stack reloaded", version=new.version, previous=old.version)
            added = sorted(new.channels.keys() - old.channels.keys())
            if any(new.channels[c].routes(self.host) for c in added):
                log.warning("channels added by the reload serve their own HTTP API only after a "
                            "restart", channels=added)
            return ReloadResult(True, new.version)

    def _queued(self, applied: Applied) -> None:
        """A change queued outbound messages or notifications: their workers look now."""
        if any(m.direction.value == "out" for m in applied.messages):
            self.outbox.wake()
        if applied.notifications:
            self.notifications.wake()

    async def _sent(self, message: Message, conversation: Conversation,
                    contact: Contact) -> None:
        await self.desk.message_sent(message, conversation, contact)

    async def _window_closed(self, message: Message, error: SendError) -> None:
        await self.desk.window_closed(message, error.code, error.message)

    def channel(self, channel_id: str) -> ChannelRuntime | None:
        return self._live.channels.get(channel_id)
