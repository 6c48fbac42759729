"""Bearer tokens: made and hashed here, so the store only ever sees a token's hash."""

from __future__ import annotations

import hashlib
import secrets

AGENT_PREFIX = "sct_"  # tokens of API agents (`supportctl token create`)


def new_token(prefix: str) -> str:
    """A fresh token: `prefix` then 32 random bytes, URL-safe base64 (43 characters)."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The sha256 hex digest the store keeps and looks tokens up by."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
