"""`supportctl serve` as a real process: it answers, reloads on SIGHUP, stops cleanly on SIGTERM,
and refuses a stack with errors (or an unset variable) the way `validate` reports it."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from serve_process import GRACE, environment, free_port, get, output, serving, wait_for

STACKS = Path(__file__).resolve().parent.parent / "fixtures" / "stacks"
SLACK_URL = "https://hooks.slack.example/T0SECRET/B0SECRET/slack-secret-value-1"
WA_SECRETS = {"WA_ACCESS_TOKEN": "wa-access-secret-value-2",
              "WA_VERIFY_TOKEN": "wa-verify-secret-value-3"}


def test_serve_answers_reloads_on_sighup_and_stops_on_sigterm(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACKS / "lifecycle.yaml", stack)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(tmp_path, port, SLACK_WEBHOOK_URL=SLACK_URL)
    with serving(tmp_path, stack, env) as process:
        def healthy() -> bool:
            assert process.poll() is None, output(tmp_path)
            return get(f"{url}/healthz") == (200, {"status": "ok"})

        wait_for(healthy, "/healthz")
        ready = get(f"{url}/readyz")
        assert ready is not None and ready[0] == 200
        before = ready[1]["stack"]

        text = stack.read_text()
        stack.write_text(text.replace("we are back at {{next_open}}",
                                      "we open again at {{next_open}}"))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "stack reloaded" in output(tmp_path), "'stack reloaded' in the log")
        ready = get(f"{url}/readyz")
        assert ready is not None and ready[1]["stack"] != before

        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=GRACE + 10) == 0
    log = output(tmp_path)
    assert "Traceback" not in log
    assert "stopped" in log
    assert SLACK_URL not in log and "slack-secret-value-1" not in log
    # the log is JSON lines
    events = [json.loads(line)["event"] for line in log.splitlines() if line.startswith("{")]
    assert "serving" in events and "stack reloaded" in events


def test_serve_refuses_a_stack_with_errors_like_validate(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACKS / "lifecycle.yaml", stack)
    stack.write_text(stack.read_text().replace("- name: everyone-else\n    to: support",
                                               "- name: everyone-else\n    to: nobody"))
    env = environment(tmp_path, free_port(), SLACK_WEBHOOK_URL=SLACK_URL)
    served = subprocess.run([sys.executable, "-m", "supportctl", "serve", "stack.yaml"],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert served.returncode == 1, served.stderr
    assert "Traceback" not in served.stdout + served.stderr
    assert re.search(r"^stack\.yaml:\d+:\d+: error\[R302\]: .*'nobody'", served.stderr, re.M), \
        served.stderr
    assert "not starting" in served.stderr
    validated = subprocess.run([sys.executable, "-m", "supportctl", "validate", "stack.yaml"],
                               cwd=tmp_path, env=env, capture_output=True, text=True,
                               timeout=60)
    errors = [line for line in validated.stdout.splitlines() if ": error[" in line]
    assert errors and all(line in served.stderr for line in errors)
    assert SLACK_URL not in served.stdout + served.stderr
    assert not (tmp_path / "serve.db").exists()  # refused before touching the database


def test_serve_refuses_an_unset_variable_and_prints_no_secret(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACKS / "lifecycle-whatsapp.yaml", stack)
    env = environment(tmp_path, free_port(), WA_API_BASE="http://127.0.0.1:9", **WA_SECRETS)
    served = subprocess.run([sys.executable, "-m", "supportctl", "serve", str(stack)],
                            cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    shown = served.stdout + served.stderr
    assert served.returncode == 1, shown
    assert "Traceback" not in shown
    assert re.search(r"stack\.yaml:\d+:\d+: error\[L110\]: .*WA_APP_SECRET", served.stderr), \
        served.stderr
    for value in WA_SECRETS.values():
        assert value not in shown
    assert not (tmp_path / "serve.db").exists()


def test_a_refused_sighup_reload_keeps_serving(tmp_path: Path) -> None:
    stack = tmp_path / "stack.yaml"
    shutil.copyfile(STACKS / "lifecycle.yaml", stack)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = environment(tmp_path, port, SLACK_WEBHOOK_URL=SLACK_URL)
    with serving(tmp_path, stack, env) as process:
        wait_for(lambda: get(f"{url}/healthz") == (200, {"status": "ok"}), "/healthz")
        ready = get(f"{url}/readyz")
        assert ready is not None
        before = ready[1]["stack"]
        stack.write_text(stack.read_text().replace("to: support", "to: nobody"))
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: "reload refused" in output(tmp_path), "'reload refused' in the log")
        stack.rename(tmp_path / "moved.yaml")  # gone altogether: refused all the same
        process.send_signal(signal.SIGHUP)
        wait_for(lambda: output(tmp_path).count("reload refused") == 2, "a second refusal")
        assert process.poll() is None
        ready = get(f"{url}/readyz")
        assert ready is not None and ready[1]["stack"] == before
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=GRACE + 10) == 0
    assert "Traceback" not in output(tmp_path)
