"""Did-you-mean suggestions for near misses of keys, ids and choices."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to `word`, if any is close enough to be a plausible typo."""
    pool = list(candidates)
    lowered = {c.lower(): c for c in pool}
    if word.lower() in lowered:
        return lowered[word.lower()]
    normalised = {c.replace("-", "_").lower(): c for c in pool}
    if word.replace("-", "_").lower() in normalised:
        return normalised[word.replace("-", "_").lower()]
    match = difflib.get_close_matches(word, pool, n=1, cutoff=0.75)
    return match[0] if match else None


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """A hint sentence `did you mean 'x'?`, or an empty string when nothing is close."""
    match = closest(word, candidates)
    return f"did you mean {match!r}?" if match is not None and match != word else ""


def known_list(candidates: Iterable[str], limit: int = 12) -> str:
    """A short human list of known values: `a, b, c` or `a, b, ... (30 in all)`."""
    pool = sorted(candidates)
    if not pool:
        return "(none defined)"
    if len(pool) <= limit:
        return ", ".join(pool)
    return ", ".join(pool[:limit]) + f", ... ({len(pool)} in all)"
