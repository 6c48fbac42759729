"""The two loopback servers `bench/ingest.py` runs next to `supportctl serve`, each a process:

    python bench/ingest_servers.py bare PORT    # the ceiling: read the body, json.loads, 200
    python bench/ingest_servers.py graph PORT   # a fake WhatsApp Cloud API /messages for the outbox

`bare` is the endpoint serve's webhook is measured against: the same path, one POST handler that
reads the body, parses it and answers 200 with an empty body; no signature check, no logging, no
storage. `graph` answers serve's outbound sends the way the Graph API does (a new wamid), so the
outbox's menu replies go to 127.0.0.1 and nowhere else. Both answer `GET /healthz`.
"""

from __future__ import annotations

import itertools
import json
import sys

from aiohttp import web


async def parse_only(request: web.Request) -> web.Response:
    """The bare webhook: the body read and parsed, nothing else."""
    json.loads(await request.read())
    return web.Response(status=200)


def bare_app() -> web.Application:
    app = web.Application(client_max_size=8 * 1024 * 1024)
    app.router.add_post("/channels/{channel_id}/webhook", parse_only)
    app.router.add_get("/healthz", healthz)
    return app


def graph_app() -> web.Application:
    """The Cloud API's `POST /{version}/{phone_number_id}/messages`, always accepting."""
    numbers = itertools.count(1)

    async def messages(request: web.Request) -> web.Response:
        body = await request.json()
        who = body.get("to") or body.get("recipient")
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": who, "wa_id": who}],
                                  "messages": [{"id": f"wamid.benchout{next(numbers)}"}]})

    app = web.Application()
    app.router.add_post("/{version}/{phone}/messages", messages)
    app.router.add_get("/healthz", healthz)
    return app


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("bare", "graph"):
        print("usage: ingest_servers.py bare|graph PORT", file=sys.stderr)
        return 2
    app = bare_app() if argv[0] == "bare" else graph_app()
    # loopback only; no access log: the bare endpoint does nothing but parse
    web.run_app(app, host="127.0.0.1", port=int(argv[1]), access_log=None, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
