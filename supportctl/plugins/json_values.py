"""Reading providers' JSON leniently: a field of the wrong type reads as empty.

Providers add fields and kinds over the years; a plugin walks their payloads with these so that
something unexpected is skipped (or refused where the plugin decides it must be there) instead
of raising deep inside a parser.
"""

from __future__ import annotations

from typing import Any


def as_dict(value: Any) -> dict[str, Any]:
    """`value` when it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` when it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []
