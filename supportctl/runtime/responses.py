"""The one shape of an HTTP error answer of the server: `{"error": message, ...}`."""

from __future__ import annotations

from typing import Any

from aiohttp import web


def error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)
