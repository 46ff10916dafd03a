"""What every command shares: help, the README, the environment, completion, the global
options, and the one table that turns an error into a line and an exit code."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from dialer import __version__
from dialer.cli import cli
from dialer.cli.failures import describe
from dialer.errors import (
    AgentUnavailable,
    ApiError,
    AuthError,
    BillingError,
    ConfigError,
    DialerError,
    FromNumberInvalid,
    InputError,
    LedgerError,
    SchemaTooNewError,
    ServerError,
    TransportError,
)
from dialer.sandbox import Sandbox

README = Path(__file__).resolve().parent.parent / "README.md"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path under ``group``: ("run",), ("dnc",), ("dnc", "add"), ..."""
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from _commands(command, (*prefix, name))


COMMANDS = list(_commands(cli))


def test_version_is_printed() -> None:
    result = CliRunner().invoke(cli, ["--version"])
    assert result.exit_code == 0
    assert result.output == f"dialer, version {__version__}\n"


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_has_help(path: tuple[str, ...]) -> None:
    result = CliRunner().invoke(cli, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith(f"Usage: cli {' '.join(path)} ")
    first_line = (_command(path).help or "").split("\n")[0]
    assert first_line and first_line in result.output


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_appears_in_the_readme(path: tuple[str, ...]) -> None:
    assert f"dialer {' '.join(path)}" in README.read_text(encoding="utf-8")


def test_help_names_the_environment_and_exit_codes() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    for name in ("YAPPR_API_KEY", "YAPPR_BASE_URL", "DIALER_DB", "_DIALER_COMPLETE"):
        assert name in result.output
    assert "3 interrupted (resumable), 4 stopped by the API (resumable)" in result.output


@pytest.mark.parametrize("path", [("run",), ("resume",), ("validate",), ("dnc", "add")])
def test_api_commands_name_their_environment(path: tuple[str, ...]) -> None:
    text = " ".join(CliRunner().invoke(cli, [*path, "--help"]).output.split())
    assert "YAPPR_BASE_URL" in text and "YAPPR_API_KEY" in text
    assert "[env var: DIALER_DB; default: dialer.db]" in text


def test_bash_completion_script() -> None:
    result = CliRunner().invoke(
        cli, [], prog_name="dialer", env={"_DIALER_COMPLETE": "bash_source"}
    )
    assert result.exit_code == 0
    assert "complete -o nosort -F _dialer_completion dialer" in result.output


def test_verbose_and_quiet_together_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["-v", "-q", "status"])
    assert result.exit_code == 2
    assert result.output.endswith("Error: choose -v or -q, not both\n")


def test_an_unwritable_log_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    target = tmp_path / "missing" / "dialer.log"
    result = CliRunner().invoke(
        cli, ["--log-file", str(target), "status", "--db", str(tmp_path / "l.db")]
    )
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {target}: cannot open the log file (No such file or directory); "
        "check that the folder exists and is writable\n"
    )


def test_commands_leave_no_logging_behind(tmp_path: Path) -> None:
    logger = logging.getLogger("dialer")
    before = (list(logger.handlers), logger.level)
    log = tmp_path / "d.log"
    db = str(tmp_path / "x.db")
    result = CliRunner().invoke(cli, ["-vv", "--log-file", str(log), "status", "--db", db])
    assert result.exit_code == 0, result.output
    assert (list(logger.handlers), logger.level) == before


# -- the error table ------------------------------------------------------------------------

CHECK_KEY = "check YAPPR_API_KEY: a valid, unexpired key with the scopes this command needs"


@pytest.mark.parametrize(
    ("error", "line", "code"),
    [
        (ConfigError("x.toml: [pacing] max_live_calls: must be at least 1"), None, 1),
        (InputError("leads.csv: not a text file"), None, 1),
        (LedgerError("l.db: locked"), None, 1),
        (SchemaTooNewError("l.db: schema version 99 is newer; upgrade dialer"), None, 1),
        (
            AuthError("Invalid API key", status=401, code="INVALID_KEY"),
            f"HTTP 401 INVALID_KEY: Invalid API key; {CHECK_KEY}",
            4,
        ),
        (
            BillingError("no balance", status=402, code="BILLING_ERROR"),
            "HTTP 402 BILLING_ERROR: no balance; add balance or raise the spend budget in the "
            "Yappr dashboard, then try again",
            4,
        ),
        (
            AgentUnavailable("gone", status=404, code="WORKFLOW_AGENT_UNAVAILABLE"),
            "HTTP 404 WORKFLOW_AGENT_UNAVAILABLE: gone; check agent_id: the agent must exist, "
            "be active and be published",
            4,
        ),
        (
            FromNumberInvalid("bad from", status=400, code="INVALID_FROM_NUMBER"),
            "HTTP 400 INVALID_FROM_NUMBER: bad from; check `from`: each must be an active "
            "number of your company",
            4,
        ),
        (
            TransportError("connection refused"),
            "no HTTP answer: connection refused; the API did not answer in time; try again "
            "shortly (check YAPPR_BASE_URL)",
            4,
        ),
        (
            ServerError("boom", status=503),
            "HTTP 503: boom; the API did not answer in time; try again shortly "
            "(check YAPPR_BASE_URL)",
            4,
        ),
        (ApiError("odd", status=418, code="TEAPOT"), "HTTP 418 TEAPOT: odd", 4),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, DialerError) else "",
)
def test_each_error_kind_has_its_line_and_exit_code(
    error: DialerError, line: str | None, code: int
) -> None:
    assert describe(error) == (line if line is not None else str(error), code)


def test_every_error_class_has_an_exit_code_of_the_contract() -> None:
    import dialer.errors as errors

    classes = [c for c in vars(errors).values() if isinstance(c, type)]
    kinds = [c for c in classes if issubclass(c, DialerError)]
    assert len(kinds) > 10
    assert {c.exit_code for c in kinds} == {1, 4}


def test_a_config_error_is_exactly_one_line_on_stderr(tmp_path: Path) -> None:
    toml = tmp_path / "c.toml"
    toml.write_text('name = "x"\n', encoding="utf-8")
    db = str(tmp_path / "l.db")
    result = CliRunner().invoke(cli, ["validate", str(toml), "--sandbox", "--db", db])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert re.fullmatch(
        rf"error: {re.escape(str(toml))}: [^\n]+ is required[^\n]*\n", result.stderr
    )


async def test_a_refused_key_exits_4_with_the_next_step(sandbox: Sandbox) -> None:
    env = {"YAPPR_BASE_URL": sandbox.base_url, "YAPPR_API_KEY": "ypr_test_not_a_key"}
    result = await asyncio.to_thread(CliRunner().invoke, cli, ["dnc", "list"], env=env)
    assert result.exit_code == 4
    assert result.stdout == ""
    assert result.stderr == (
        "error: HTTP 401 INVALID_KEY: GET /do-not-call: Invalid API key: it is unknown or was "
        f"revoked; {CHECK_KEY}\n"
    )
