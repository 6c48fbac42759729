"""`supportctl serve` as a real process inside a test: started on a free loopback port with a
SQLite file, waited for, and killed if a test leaves it running. Shared by the tests of `serve`
itself and of a third-party plugin installed apart (tests/examples/test_sms_plugin.py)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

GRACE = 5.0


def free_port() -> int:
    """A loopback port free at the moment of asking."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def environment(tmp: Path, port: int, **stack_env: str) -> dict[str, str]:
    """The process environment for `serve` on `port` with its database in `tmp`, the
    stack's variables from `stack_env` (and none of this machine's)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SUPPORTCTL_", "WA_", "SLACK_"))}
    env.update(SUPPORTCTL_PORT=str(port), SUPPORTCTL_HOST="127.0.0.1",
               SUPPORTCTL_DATABASE_URL=f"sqlite:///{tmp}/serve.db",
               SUPPORTCTL_SHUTDOWN_GRACE=str(GRACE), SUPPORTCTL_LOG_FORMAT="json",
               PYTHONUNBUFFERED="1", **stack_env)
    return env


def get(url: str) -> tuple[int, dict[str, Any]] | None:
    """Status and JSON body of a GET, or None while nothing listens."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")
    except OSError:
        return None


def wait_for(check: Any, what: str, timeout: float = 10.0) -> Any:
    """The first truthy result of `check`, polled until `timeout` seconds have passed."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}")


@contextmanager
def serving(tmp: Path, stack: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`supportctl serve stack` as a process logging to `tmp/serve.log`; killed on exit."""
    log = (tmp / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "supportctl", "serve", str(stack)],
                               cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        log.close()


def output(tmp: Path) -> str:
    """What the served process logged so far."""
    return (tmp / "serve.log").read_text(errors="replace")
