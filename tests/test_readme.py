"""The README's quick start, run as a newcomer runs it: the first line's `serve` in a folder of
its own, then the second shell's commands, as written, from a shell without the virtualenv."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from conftest import REPO
from serve_process import free_port, get, wait_for

README = REPO / "README.md"
# what the first line does before serving: this test runs in the environment it makes
INSTALL = "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && "
SECOND_LINE = ". .venv/bin/activate && python -m pytest -q"
QUICK_START = "### The first ten minutes"
MARK = "@@ output of command {} @@"


def sh_blocks(text: str) -> list[str]:
    """The ```sh code blocks of a Markdown text, in order."""
    return re.findall(r"^```sh\n(.*?)^```$", text, re.MULTILINE | re.DOTALL)


def commands(block: str) -> list[str]:
    """The commands of a shell block, a line ending in `\\` joined with the next."""
    found: list[str] = []
    pending = ""
    for line in block.splitlines():
        pending += line + "\n"
        if not line.endswith("\\"):
            found.append(pending.rstrip("\n"))
            pending = ""
    assert not pending, f"a command's last line ends in a backslash: {pending!r}"
    return [command for command in found if command.strip()]


def quick_start() -> tuple[list[str], list[str]]:
    """The README's first block (its two lines) and the commands of the quick start section."""
    text = README.read_text(encoding="utf-8")
    start = text.index(QUICK_START)
    section = text[start:text.index("\n## ", start)]
    return sh_blocks(text)[0].splitlines(), [c for b in sh_blocks(section) for c in commands(b)]


def fresh_environment() -> dict[str, str]:
    """A new shell's environment: no virtualenv on PATH, no settings or secrets of this one."""
    venv_bin = str(Path(sys.executable).parent)
    env = {k: v for k, v in os.environ.items()
           if k != "VIRTUAL_ENV" and not k.startswith(("SUPPORTCTL_", "WA_", "TELEGRAM_",
                                                         "SLACK_"))}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep)
                                  if p and p != venv_bin)
    return env


@contextmanager
def shell_process(line: str, cwd: Path, env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    """`line` run by bash in `cwd`, logging to `cwd/serve.log`; its process group stopped on
    exit (bash starts `serve` as a child)."""
    with (cwd / "serve.log").open("ab") as log:
        process = subprocess.Popen(["bash", "-c", line], cwd=cwd, env=env, stdout=log,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(timeout=10)


def wait_until_ready(process: subprocess.Popen[bytes], port: int, cwd: Path) -> None:
    def ready() -> bool:
        if process.poll() is not None:
            log = (cwd / "serve.log").read_text(errors="replace")
            raise AssertionError(f"the first line exited ({process.returncode}):\n{log}")
        answer = get(f"http://127.0.0.1:{port}/readyz")
        return answer is not None and answer[0] == 200
    wait_for(ready, "the README's `serve` to be ready", timeout=30)


def run_second_shell(cmds: list[str], cwd: Path, env: dict[str, str]) -> list[str]:
    """Run the commands in one bash, stopping at the first that fails; each one's output."""
    script = ["set -eo pipefail"]
    for index, command in enumerate(cmds):
        script += [command, f"printf '\\n%s\\n' '{MARK.format(index)}'"]
    done = subprocess.run(["bash", "-c", "\n".join(script)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, f"stopped with {done.returncode}:\n{done.stdout}\n{done.stderr}"
    outputs = re.split(r"\n@@ output of command \d+ @@\n", done.stdout)
    assert len(outputs) == len(cmds) + 1 and outputs[-1] == "", done.stdout
    return outputs[:-1]


def test_the_first_two_lines_install_serve_and_test() -> None:
    first, commands_of_quick_start = quick_start()
    assert len(first) == 2
    assert first[0].startswith(INSTALL) and first[0].endswith(" && supportctl serve")
    assert first[1] == SECOND_LINE
    assert commands_of_quick_start, f"no commands under {QUICK_START!r}"


@pytest.mark.skipif(shutil.which("curl") is None, reason="the quick start uses curl")
def test_the_quick_start_works_as_written(tmp_path: Path) -> None:
    (first, _), cmds = quick_start()
    serve_line = first.removeprefix(INSTALL)
    # the folder a clone gives, with what the first line reads
    for name in (".env.example", "stack.yaml"):
        shutil.copy(REPO / name, tmp_path / name)
    # the virtualenv the first line makes: `.venv/bin/supportctl` runs this checkout
    venv_bin = tmp_path / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    (venv_bin / "supportctl").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m supportctl "$@"\n',
                                         encoding="utf-8")
    (venv_bin / "supportctl").chmod(0o755)
    port = free_port()
    fresh = fresh_environment()
    # as after `. .venv/bin/activate`; the port is the one thing changed, through the
    # environment, which wins over the 8080 of .env
    serving = {**fresh, "PATH": f"{venv_bin}{os.pathsep}{fresh['PATH']}",
               "SUPPORTCTL_PORT": str(port), "SUPPORTCTL_LOG_FORMAT": "json",
               "PYTHONUNBUFFERED": "1"}
    local = [c.replace("localhost:8080", f"localhost:{port}") for c in cmds]
    assert all(c.count("localhost:") == c.count(f"localhost:{port}") for c in local), cmds

    with shell_process(serve_line, tmp_path, serving) as process:
        wait_until_ready(process, port, tmp_path)
        outputs = run_second_shell(local, tmp_path, fresh)
    # every command that prints prints JSON, and none an error
    answers: list[tuple[str, Any]] = [(command, json.loads(output))
                                      for command, output in zip(cmds, outputs, strict=True)
                                      if output.strip()]
    for command, answer in answers:
        assert answer.get("error") is None, (command, answer)  # a message's is null

    def of(path: str) -> list[Any]:
        """The answers of the GETs of `path` that print their answer, in order."""
        return [a for c, a in answers if path in c and "-X POST" not in c]

    menu, *_, chat = of("/channels/webchat/messages")
    titles = [choice["title"] for message in menu["messages"] for choice in message["choices"]]
    assert "Talk to a person" in titles
    before, after = of("/api/v1/conversations")
    assert before == {"conversations": []}  # in the menu: no agent sees it
    [conversation] = after["conversations"]
    assert conversation["contact"]["name"] == "Eva"
    assert (conversation["team"], conversation["status"]) in (("service", "open"),
                                                              ("service", "queued"))
    assert [m["author"] for m in chat["messages"] if m["direction"] == "out"][-1] == "Jana Becker"

    # run again, the first line starts the server again on the same folder
    with shell_process(serve_line, tmp_path, serving) as process:
        wait_until_ready(process, port, tmp_path)
