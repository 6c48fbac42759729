"""The third-party plugin example (examples/plugins/supportctl-sms), built and installed apart
from this checkout's environment, proves the plugin interface works from outside: `validate`
finds the type and runs its check, `serve` receives a signed SMS and replies through a fake
gateway on loopback, and a delivery receipt updates the message; the plugin's own tests pass.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from aiohttp import ClientSession, web
from serve_process import environment, free_port, output, serving
from serving import listening

from supportctl.plugins.channel import OutboundText

REPO = Path(__file__).resolve().parent.parent.parent
EXAMPLE = REPO / "examples" / "plugins" / "supportctl-sms"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
STACK = FIXTURES / "stacks" / "sms.yaml"
PAYLOADS = FIXTURES / "payloads" / "sms"
SECRETS = {"SMS_API_KEY": "sms-api-key-value-1", "SMS_WEBHOOK_SECRET": "sms-webhook-secret-2"}
T = TypeVar("T")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The example built from a copy (the checkout stays clean) and installed into a folder of
    its own: only a PYTHONPATH naming that folder makes the plugin visible."""
    root = tmp_path_factory.mktemp("sms")
    source = root / "supportctl-sms"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info",
                                                                   "build"))
    installed = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "--no-build-isolation",
         "--disable-pip-version-check", "--no-input", "--quiet", "--target", str(root / "site"),
         str(source)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert list((root / "site").glob("supportctl_sms-*.dist-info"))
    return root / "site"


def with_plugin(env: dict[str, str], site: Path) -> dict[str, str]:
    return {**env, "PYTHONPATH": os.pathsep.join([str(site), env.get("PYTHONPATH", "")])}


def validate(stack: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "supportctl", "validate", stack.name],
                          cwd=stack.parent, env=env, capture_output=True, text=True, timeout=120)


def test_validate_knows_the_type_only_where_the_plugin_is_installed(
        site: Path, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    stack.write_text(STACK.read_text().replace('    menu: main\n',
                                               '    menu: main\n    sender_name: AcmeTexts\n'))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(SECRETS, SMS_API_BASE="http://127.0.0.1:9")

    without = validate(stack, env)
    assert without.returncode == 1
    assert re.search(r"^stack\.yaml:\d+:\d+: error\[S207\]: channels\.sms-us\.type: unknown "
                     r"type 'sms'", without.stdout, re.M), without.stdout

    found = validate(stack, with_plugin(env, site))
    assert found.returncode == 1, found.stdout + found.stderr
    line = next(n for n, text in enumerate(stack.read_text().splitlines(), 1)
                if "sender_name" in text)
    assert found.stdout.splitlines()[:2] == [
        f"stack.yaml:{line}:18: error[C805]: channels.sms-us.sender_name: US carriers do not "
        "deliver messages from an alphanumeric sender",
        "    hint: remove sender_name for a +1 number"]
    assert "S207" not in found.stdout

    stack.write_text(STACK.read_text())
    assert validate(stack, with_plugin(env, site)).returncode == 0


def test_the_plugins_own_tests_pass_against_the_installed_plugin(site: Path) -> None:
    tests = site.parent / "supportctl-sms"
    env = with_plugin({k: v for k, v in os.environ.items() if k != "PYTHONPATH"}, site)
    ran = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                         cwd=tests, env=env, capture_output=True, text=True, timeout=300)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert re.search(r"\b\d+ passed\b", ran.stdout)


class FakeGateway:
    """The SMS gateway's send endpoint, on loopback: ids msg_0001, msg_0002, ..."""

    def __init__(self) -> None:
        self.sent: list[dict[str, Any]] = []
        self.keys: list[str] = []

    async def messages(self, request: web.Request) -> web.Response:
        self.keys.append(request.headers.get("Authorization", ""))
        self.sent.append(await request.json())
        return web.json_response({"id": f"msg_{len(self.sent):04d}"}, status=201)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/messages", self.messages)
        return app


async def eventually(check: Callable[[], Awaitable[T | None]], what: str,
                     timeout: float = 10.0) -> T:
    """The first result of `check` that is not None, polled until `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = await check()
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"gave up waiting {timeout:.0f} s for {what}")


def signed(payload: str) -> tuple[bytes, dict[str, str]]:
    """A fixture delivery and its headers, signed the way the gateway's README says."""
    import hashlib
    import hmac

    body = (PAYLOADS / payload).read_bytes()
    digest = hmac.new(SECRETS["SMS_WEBHOOK_SECRET"].encode(), body, hashlib.sha256).hexdigest()
    return body, {"X-Sms-Signature": f"sha256={digest}", "Content-Type": "application/json"}


def message_status(database: Path, external_id: str) -> str | None:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        row = db.execute("SELECT status FROM messages WHERE channel = 'sms-us' AND "
                         "external_id = ?", (external_id,)).fetchone()
    return None if row is None else str(row[0])


def test_serve_answers_an_sms_through_the_gateway_and_records_the_receipt(
        site: Path, tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACK, stack)
    gateway = FakeGateway()
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    async def scenario() -> None:
        async with listening(gateway.app()) as gateway_url, ClientSession() as http:
            env = with_plugin(environment(tmp_path, port, **SECRETS,
                                          SMS_API_BASE=f"{gateway_url}/v1"), site)
            with serving(tmp_path, stack, env) as process:
                async def ready() -> bool | None:
                    assert process.poll() is None, output(tmp_path)
                    try:
                        async with http.get(f"{url}/readyz") as response:
                            return True if response.status == 200 else None
                    except OSError:
                        return None

                await eventually(ready, "/readyz")
                webhook = f"{url}/channels/sms-us/webhook"
                body, headers = signed("message.json")
                async with http.post(webhook, data=body,
                                     headers={**headers, "X-Sms-Signature": "sha256=0"}) as r:
                    assert r.status == 403
                async with http.post(webhook, data=body, headers=headers) as r:
                    assert r.status == 200, await r.text()

                async def replied() -> list[dict[str, Any]] | None:
                    return gateway.sent or None

                sent = await eventually(replied, "the reply at the gateway")
                assert sent == [{"from": "+12125550100", "to": "+14155550123",
                                 "text": "Hi! Reply with a number.\n\n1. Opening hours\n"
                                         "2. Talk to a person"}]
                assert gateway.keys == [f"Bearer {SECRETS['SMS_API_KEY']}"]

                async def status(wanted: str) -> str | None:
                    found = message_status(tmp_path / "serve.db", "msg_0001")
                    return found if found == wanted else None

                await eventually(lambda: status("sent"), "the reply stored as sent")
                body, headers = signed("receipt_delivered.json")
                async with http.post(webhook, data=body, headers=headers) as r:
                    assert r.status == 200, await r.text()
                await eventually(lambda: status("delivered"), "the receipt applied")
                assert json.loads(body)["message_id"] == "msg_0001"

    asyncio.run(scenario())
    log = output(tmp_path)
    assert "Traceback" not in log
    assert not [value for value in SECRETS.values() if value in log]


def test_the_doc_shows_the_examples_files_as_they_are() -> None:
    """Every code block of docs/plugins.md's third-party section is in the example verbatim."""
    doc = (REPO / "docs" / "plugins.md").read_text(encoding="utf-8")
    section = doc.split("## A third-party plugin", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:python|toml)\n(.*?)```", section, re.S)
    assert len(blocks) >= 2
    files = "\n".join(path.read_text(encoding="utf-8")
                      for path in sorted(EXAMPLE.rglob("*"))
                      if path.suffix in (".py", ".toml") and "__pycache__" not in path.parts)
    for block in blocks:
        assert block in files, f"docs/plugins.md shows code the example does not have:\n{block}"


def test_the_runtime_imports_only_the_public_interface() -> None:
    sources = "\n".join(path.read_text(encoding="utf-8")
                        for path in (EXAMPLE / "supportctl_sms").glob("*.py"))
    imported = set(re.findall(r"^(?:from|import) (supportctl[\w.]*)", sources, re.M))
    assert imported and imported <= {"supportctl.plugins", "supportctl.plugins.channel",
                                     "supportctl.plugins.json_values",
                                     "supportctl.config.plugin_spec",
                                     "supportctl.config.diagnostics",
                                     "supportctl.config.model.common",
                                     "supportctl.config.model.stack"}
    assert OutboundText.__module__ == "supportctl.plugins.channel"
