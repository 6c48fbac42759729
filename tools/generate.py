"""Regenerate every generated file of the repository, or check that they are current.

    python tools/generate.py           # write the files
    python tools/generate.py --check   # exit 1 and list the stale files, write nothing

Only the plugins shipped with supportctl are used, so that third-party plugins installed on
this machine never leak into the committed schema and docs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from supportctl.config.generated import render_all
from supportctl.plugins import load_plugins

REPO = Path(__file__).resolve().parent.parent


def stale_files(root: Path = REPO) -> dict[str, str]:
    """The generated files whose committed contents differ from a fresh render."""
    fresh = render_all(load_plugins(builtin_only=True))
    return {path: text for path, text in fresh.items()
            if not (root / path).is_file()
            or (root / path).read_text(encoding="utf-8") != text}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="list stale files and exit 1 instead of writing them")
    args = parser.parse_args(argv)
    stale = stale_files()
    if args.check:
        for path in stale:
            print(f"stale: {path}")
        if stale:
            print("run: python tools/generate.py", file=sys.stderr)
        return 1 if stale else 0
    for path, text in stale.items():
        target = REPO / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8", newline="\n")
        print(f"wrote {path}")
    if not stale:
        print("all generated files are current")
    return 0


if __name__ == "__main__":
    sys.exit(main())
