"""The aiohttp application: channel webhooks and APIs, the agent API, and operations endpoints.

| path | what |
|---|---|
| `/channels/{channel_id}/webhook` | GET verification, POST deliveries (answered after storing) |
| `/channels/{channel_id}/...` | a channel's own API (web chat) |
| `/api/v1/...` | the agent API (supportctl/runtime/agent_api.py) |
| `/healthz`, `/readyz`, `/metrics` | liveness, readiness, Prometheus |
| `/-/reload` | POST with the admin token: check and swap in the stack file again |

Errors are JSON (`{"error": ...}`) with the right status: 400 malformed, 404, 405, 413 too large,
503 when the database is unavailable, 500 for a bug (logged with its traceback, never sent).
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web
from aiohttp.web_log import AccessLogger
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

from supportctl.logs import ACCESS_LOG_FORMAT
from supportctl.plugins.channel import WebhookRejected, WebhookRequest, receive
from supportctl.plugins.json_values import unicode_text
from supportctl.runtime import agent_api
from supportctl.runtime.metrics import CONTENT_TYPE
from supportctl.runtime.passive import process_and_reply, replyable
from supportctl.runtime.responses import error
from supportctl.runtime.server import Server
from supportctl.store.interface import StoreError, Unavailable

log = structlog.get_logger("supportctl.http")

SERVER = web.AppKey("server", Server)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def errors_as_json(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        reason = exc.reason
        if exc.status == 413:
            reason = f"request body is over the limit of {request.app._client_max_size} bytes"
        return error(exc.status, reason)
    except Unavailable as exc:
        log.warning("database unavailable", error=str(exc), path=request.path)
        return web.json_response({"error": "the database is unavailable; try again"},
                                 status=503, headers={"Retry-After": "5"})
    except Exception:
        log.exception("request failed", method=request.method, path=request.path)
        return error(500, "internal error; the server log has the details")


class ErrorsAccessLogger(AccessLogger):
    """aiohttp's access log, for requests answered 4xx or 5xx only."""

    def log(self, request: BaseRequest, response: StreamResponse, time: float) -> None:
        if response.status >= 400:
            super().log(request, response, time)


def access_logging(which: str) -> dict[str, Any]:
    """AppRunner options for `SUPPORTCTL_ACCESS_LOG`: a line per request costs as much as
    storing a webhook delivery, so by default only failures get one."""
    if which == "off":
        return {"access_log": None}
    options: dict[str, Any] = {"access_log_format": ACCESS_LOG_FORMAT}
    if which == "errors":
        options["access_log_class"] = ErrorsAccessLogger
    return options


async def webhook(request: web.Request) -> web.StreamResponse:
    server = request.app[SERVER]
    channel_id = request.match_info["channel_id"]
    live = server.live()
    runtime = live.channels.get(channel_id)
    if runtime is None:
        if channel_id in live.stack.channels:
            return error(404, f"channel {channel_id!r} ({live.channel_type(channel_id)}) has no "
                              "runtime in this version of supportctl")
        return error(404, f"no channel {channel_id!r} in the stack")
    try:
        limit = min(runtime.max_body, server.settings.max_body_bytes)
        incoming = await WebhookRequest.from_aiohttp(request, max_body=limit)
    except WebhookRejected as rejected:
        server.metrics.inbound.labels(channel_id, "rejected").inc()
        return web.Response(status=rejected.status, text=rejected.reason)
    outcome = receive(runtime, incoming)
    if outcome.response.status >= 400:
        server.metrics.inbound.labels(channel_id, "rejected").inc()
        log.warning("webhook rejected", channel=channel_id, status=outcome.response.status,
                    reason=outcome.response.body)
        return outcome.response.to_aiohttp()
    answer = outcome.response
    try:
        replied_to = replyable(runtime, outcome.events)
        if replied_to is not None:
            delivery = await server.receipts.store_delivery(channel_id, outcome.events)
            answer = await process_and_reply(server, runtime, incoming, replied_to, delivery,
                                             outcome.response)
        else:
            await server.receipts.accept(channel_id, outcome.events)
    except StoreError as exc:
        # not stored: the provider must deliver again, so never a 2xx
        server.metrics.inbound.labels(channel_id, "failed").inc()
        log.error("inbound event not stored", channel=channel_id, error=str(exc))
        return web.Response(status=503, text="not stored; deliver again",
                            headers={"Retry-After": "5"})
    return answer.to_aiohttp()


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    live = server.live()
    try:
        await server.store.ping()
    except StoreError as exc:
        return web.json_response({"status": "unavailable", "database": str(exc),
                                  "stack": live.version}, status=503)
    return web.json_response({"status": "ready", "database": "ok", "stack": live.version,
                              "loaded_at": live.loaded_at.isoformat()})


async def metrics(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    body = await server.metrics.render(server.store.queue_depths)
    response = web.Response(body=body)
    response.headers["Content-Type"] = CONTENT_TYPE
    return response


async def reload(request: web.Request) -> web.Response:
    server = request.app[SERVER]
    token = server.settings.admin_token
    if token is None:
        return error(404, "reloading over HTTP is off: set SUPPORTCTL_ADMIN_TOKEN")
    given = unicode_text(request.headers.get("Authorization", ""))
    expected = f"Bearer {token.get_secret_value()}"
    if not hmac.compare_digest(given.encode(), expected.encode()):
        return web.json_response({"error": "admin token required"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
    result = await server.reload()
    if not result.ok:
        return web.json_response({"error": f"reload refused: {result.error}; still serving "
                                           f"stack {result.version}",
                                  "version": result.version,
                                  "diagnostics": result.diagnostics}, status=500)
    return web.json_response({"status": "reloaded", "version": result.version})


def create_app(server: Server) -> web.Application:
    """The application for a started server; channel routes of every channel in its stack."""
    app = web.Application(middlewares=[errors_as_json],
                          client_max_size=server.settings.max_body_bytes)
    app[SERVER] = server
    app.router.add_route("*", "/channels/{channel_id}/webhook", webhook)
    # channels' own APIs are mounted for the channels of the stack served at start; a reload
    # that adds a web chat channel needs a restart for its routes (the log says so)
    live = server.live()
    for channel_id, runtime in sorted(live.channels.items()):
        for route in runtime.routes(server.host):
            app.router.add_route(route.method, f"/channels/{channel_id}{route.path}",
                                 _current(server, channel_id, route.method, route.path))
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    app.router.add_post("/-/reload", reload)
    agent_api.setup(app, server)
    app.on_shutdown.append(_end_streams)
    return app


async def _end_streams(app: web.Application) -> None:
    """Live streams (web chat, agents' events) would hold shutdown for its whole grace period:
    end them first, so only ordinary requests are waited for."""
    server = app[SERVER]
    server.bus.close()
    for runtime in server.live().channels.values():
        await runtime.close()


def _current(server: Server, channel_id: str, method: str, path: str) -> Handler:
    """A channel route served by the channel's runtime in the stack live at request time."""

    async def handle(request: web.Request) -> web.StreamResponse:
        runtime = server.live().channels.get(channel_id)
        if runtime is None:
            return error(404, f"channel {channel_id!r} is no longer in the stack")
        for route in runtime.routes(server.host):
            if route.method == method and route.path == path:
                return await route.handler(request)
        return error(404, f"channel {channel_id!r} no longer serves {path}")

    return handle
