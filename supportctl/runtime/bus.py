"""In-process publish/subscribe for live streams (web chat SSE, the agents' event stream).

One process only: replicas sharing PostgreSQL will carry the same topics over LISTEN/NOTIFY.
A subscriber that cannot keep up (its queue is full) is dropped rather than slowing every
publisher; its stream ends and the client reconnects and replays from its last event id.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

_END = object()


class Bus:
    def __init__(self, queue_size: int = 1000) -> None:
        self.queue_size = queue_size
        self._topics: defaultdict[str, set[asyncio.Queue[Any]]] = defaultdict(set)
        self.closed = False

    def publish(self, topic: str, item: Any) -> None:
        for queue in list(self._topics.get(topic, ())):
            try:
                queue.put_nowait(item)
            except asyncio.QueueFull:
                self._drop(topic, queue)

    def _drop(self, topic: str, queue: asyncio.Queue[Any]) -> None:
        self._topics[topic].discard(queue)
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(_END)

    def close(self) -> None:
        """End every stream (server shutdown)."""
        self.closed = True
        for topic, queues in list(self._topics.items()):
            for queue in list(queues):
                self._drop(topic, queue)

    def subscribers(self, topic: str) -> int:
        return len(self._topics.get(topic, ()))

    @asynccontextmanager
    async def subscribe(self, topic: str) -> AsyncIterator[AsyncIterator[Any]]:
        """Items published to `topic` from now on, until the bus closes or drops us."""
        queue: asyncio.Queue[Any] = asyncio.Queue(self.queue_size)
        if self.closed:
            queue.put_nowait(_END)
        else:
            self._topics[topic].add(queue)

        async def items() -> AsyncIterator[Any]:
            while (item := await queue.get()) is not _END:
                yield item

        try:
            yield items()
        finally:
            self._topics[topic].discard(queue)
            if not self._topics[topic]:
                del self._topics[topic]
