"""Record ids: ULIDs made here, so no backend's row ids or sequences leak out."""

from __future__ import annotations

import base64
import os
import threading
import time
from datetime import UTC, datetime

_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
# base64's base32 alphabet to Crockford's: encoding is then one C call, not 26 Python steps
_TO_CROCKFORD = bytes.maketrans(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", _CROCKFORD.encode())


_lock = threading.Lock()
_last = 0


def new_id() -> str:
    """A ULID: 26 characters, 48 bits of milliseconds then 80 random bits.

    Ids made by one process sort in the order they were made (monotonic ULIDs), so they break
    ties between records stored with equal times."""
    global _last
    with _lock:
        value = (time.time_ns() // 1_000_000) << 80 | int.from_bytes(os.urandom(10), "big")
        if value <= _last:
            value = _last + 1
        _last = value
    # 130 bits in 26 characters of 5 bits: the 128-bit value after two zero bits, as the
    # last 26 characters of the base32 of 160 bits (20 bytes, 32 characters, no padding)
    encoded = base64.b32encode(value.to_bytes(20, "big")).translate(_TO_CROCKFORD)
    return encoded[6:].decode()


def to_micros(at: datetime) -> int:
    """Microseconds since the Unix epoch in UTC; naive datetimes are refused, never guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"naive datetime {at.isoformat()}: store times need a time zone")
    delta = at - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(value: int) -> datetime:
    """The UTC datetime of `to_micros`."""
    seconds, micros = divmod(value, 1_000_000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=micros)
