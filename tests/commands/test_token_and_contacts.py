"""`supportctl token create|list|revoke` and `supportctl contacts merge`."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import REPO, CliResult, with_store
from transitions import open_conversation

from supportctl.commands import EXIT_INVALID, EXIT_OK, EXIT_USAGE
from supportctl.store import SQLiteStore
from supportctl.store.tokens import hash_token

Run = Callable[..., CliResult]
T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
EXAMPLE = REPO / "stack.yaml"  # agents amira, jana, lukas, mehmet, petra, sophie, tobias


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No settings from the environment; the current directory is an empty tmp_path."""
    for name in ("SUPPORTCTL_DATABASE_URL", "SUPPORTCTL_STACK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def db(run_cli: Run, tmp_path: Path) -> Path:
    """A database made as a user makes one before `serve` has run: `supportctl db upgrade`."""
    path = tmp_path / "t.db"
    assert run_cli("db", "upgrade", "--database", f"sqlite:///{path}").code == EXIT_OK
    return path


def test_create_prints_a_token_once_and_stores_only_its_hash(run_cli: Run, db: Path) -> None:
    result = run_cli("token", "create", "jana", "--label", "laptop", "--stack", EXAMPLE,
                     "--database", f"sqlite:///{db}")
    assert result.code == EXIT_OK, result.err
    token = result.out.strip()
    assert token.startswith("sct_") and len(token) > 40 and "\n" not in token
    assert "shown only this once" in result.err
    dump = "\n".join(sqlite3.connect(db).iterdump())
    assert token not in dump

    async def check(s: SQLiteStore) -> None:
        used = await s.use_token("agent", hash_token(token), T0)
        assert used is not None and (used.subject, used.label) == ("jana", "laptop")
    with_store(db, check)


def test_create_refuses_an_agent_the_stack_does_not_know(run_cli: Run, db: Path) -> None:
    result = run_cli("token", "create", "nobody", "--stack", EXAMPLE,
                     "--database", f"sqlite:///{db}")
    assert result.code == EXIT_INVALID
    assert result.out == ""
    assert "no agent 'nobody'" in result.err
    assert "known agents: amira, jana, lukas, mehmet, petra, sophie, tobias" in result.err


def test_create_reads_the_default_stack_here_and_skips_the_check_without_one(
        run_cli: Run, tmp_path: Path) -> None:
    # without a stack.yaml here: nothing to check against, said on stderr
    assert run_cli("db", "upgrade").code == EXIT_OK  # the default database, ./supportctl.db
    result = run_cli("token", "create", "anyone")
    assert result.code == EXIT_OK, result.err
    assert "not checked" in result.err and result.out.startswith("sct_")
    (tmp_path / "stack.yaml").write_text(EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert run_cli("token", "create", "anyone").code == EXIT_INVALID
    assert run_cli("token", "create", "petra").code == EXIT_OK


def test_the_stack_may_come_from_the_settings(run_cli: Run, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SUPPORTCTL_STACK", str(EXAMPLE))
    monkeypatch.setenv("SUPPORTCTL_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert run_cli("db", "upgrade").code == EXIT_OK
    assert run_cli("token", "create", "ghost").code == EXIT_INVALID
    assert run_cli("token", "create", "sophie").code == EXIT_OK
    assert "sophie" in run_cli("token", "list", "--database", f"sqlite:///{tmp_path / 'env.db'}"
                               ).out


def test_an_invalid_stack_named_is_refused_with_its_errors(run_cli: Run, tmp_path: Path,
                                                           db: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\nagents: [not, a, mapping]\n", encoding="utf-8")
    result = run_cli("token", "create", "jana", "--stack", broken, "--database", f"sqlite:///{db}")
    assert result.code == EXIT_INVALID
    assert "is not a valid stack" in result.err and result.out == ""


def test_list_shows_times_and_labels_never_tokens_and_revoke_counts(run_cli: Run, db: Path
                                                                    ) -> None:
    url = f"sqlite:///{db}"
    made = [run_cli("token", "create", agent, "--label", label, "--stack", EXAMPLE,
                    "--database", url).out.strip()
            for agent, label in (("jana", "laptop"), ("jana", "phone"), ("lukas", "ci"))]
    listed = run_cli("token", "list", "--database", url)
    assert listed.code == EXIT_OK
    lines = listed.out.splitlines()
    assert lines[0].split() == ["AGENT", "LABEL", "CREATED", "LAST", "USED", "REVOKED"]
    assert [line.split()[:2] for line in lines[1:]] == [["jana", "laptop"], ["jana", "phone"],
                                                         ["lukas", "ci"]]
    assert all(line.split()[-1] == "-" for line in lines[1:])  # none revoked yet
    assert not any(token in listed.out or hash_token(token) in listed.out for token in made)

    revoked = run_cli("token", "revoke", "jana", "--database", url)
    assert (revoked.code, revoked.out.strip()) == (EXIT_OK, "revoked 2 tokens of agent jana")
    again = run_cli("token", "revoke", "jana", "--database", url)
    assert again.out.strip() == "revoked 0 tokens of agent jana"
    jana = run_cli("token", "list", "jana", "--database", url).out.splitlines()
    assert len(jana) == 3 and all(line.split()[-1].endswith("Z") for line in jana[1:])
    nobody = run_cli("token", "list", "nobody", "--database", url)
    assert (nobody.code, nobody.out) == (EXIT_OK, "")
    assert "no tokens for agent nobody" in nobody.err


@pytest.mark.parametrize("args", [("token", "create", "jana", "--stack", EXAMPLE),
                                  ("token", "list"), ("token", "revoke", "jana"),
                                  ("contacts", "merge", "KEEP", "DROP")])
def test_a_database_that_does_not_exist_is_refused_not_created(
        run_cli: Run, tmp_path: Path, args: tuple[str | Path, ...]) -> None:
    # run in a folder where the server never ran: the default ./supportctl.db is not there
    result = run_cli(*args)
    assert result.code == EXIT_USAGE
    assert result.out == ""  # no token the server would refuse
    assert "not checked" not in result.err  # the missing database is the one thing said
    assert not (tmp_path / "supportctl.db").exists()
    assert result.err.startswith(f"supportctl {args[0]} {args[1]}: no database at "
                                 f"{tmp_path / 'supportctl.db'} (sqlite:///./supportctl.db)\n")
    for advice in ("`supportctl serve` or `supportctl db upgrade` creates it", "--database URL",
                   "SUPPORTCTL_DATABASE_URL"):
        assert advice in result.err
    # named by --database, the same: that file is looked for, and not made
    elsewhere = tmp_path / "elsewhere.db"
    named = run_cli(*args, "--database", f"sqlite:///{elsewhere}")
    assert named.code == EXIT_USAGE and f"no database at {elsewhere} " in named.err
    assert not elsewhere.exists()


def test_token_commands_refuse_a_bad_database_url(run_cli: Run) -> None:
    result = run_cli("token", "list", "--database", "mysql://u:hunter2@host/db")
    assert result.code == EXIT_USAGE
    assert result.err.startswith("supportctl token list: ") and "hunter2" not in result.err


def test_merge_prints_the_kept_contact_and_its_identities(run_cli: Run, db: Path) -> None:
    async def seed(s: SQLiteStore) -> tuple[str, str]:
        keep = await s.resolve_contact("whatsapp", "+4915100", T0, name="Ana",
                                       phone="+4915100")
        drop = await s.resolve_contact("webchat", "visitor-7", T0, email="ana@example.com")
        await open_conversation(s, drop.id, "webchat", T0)
        return keep.id, drop.id
    keep, drop = with_store(db, seed)
    result = run_cli("contacts", "merge", keep, drop, "--database", f"sqlite:///{db}")
    assert result.code == EXIT_OK, result.err
    assert result.out.splitlines() == [
        f"contact {keep} (Ana)",
        "  webchat visitor-7 (verified: ana@example.com)",  # same time: by channel
        "  whatsapp +4915100 (verified: +4915100)",
    ]

    async def check(s: SQLiteStore) -> None:
        assert [c.contact_id for c in await s.list_conversations()] == [keep]
    with_store(db, check)

    missing = run_cli("contacts", "merge", keep, drop, "--database", f"sqlite:///{db}")
    assert missing.code == EXIT_INVALID
    assert f"no contact {drop}" in missing.err and missing.out == ""
    same = run_cli("contacts", "merge", keep, keep, "--database", f"sqlite:///{db}")
    assert same.code == EXIT_INVALID and "into itself" in same.err


def test_merge_needs_two_ids(run_cli: Run) -> None:
    assert run_cli("contacts", "merge", "only-one").code == EXIT_USAGE
