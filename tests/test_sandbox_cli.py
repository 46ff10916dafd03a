"""`dialer sandbox`: the banner, serving until cancelled, and refusing non-loopback hosts."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import aiohttp
import pytest
from click.testing import CliRunner

from dialer.cli import cli
from dialer.sandbox import (
    AGENT_B_ID,
    AGENT_ID,
    FROM_NUMBERS,
    TEST_API_KEY,
    WORKFLOW_AGENT_ID,
    Sandbox,
    SandboxConfig,
    banner,
    serve,
)
from dialer.sandbox.server import is_loopback


async def test_banner_tells_a_person_how_to_try_it(sandbox: Sandbox) -> None:
    text = banner(sandbox)
    for needle in (sandbox.base_url, TEST_API_KEY, AGENT_ID, AGENT_B_ID, WORKFLOW_AGENT_ID):
        assert needle in text
    assert all(number in text for number in FROM_NUMBERS)
    assert f"curl -s {sandbox.base_url}/calls -H 'Authorization: Bearer {TEST_API_KEY}'" in text


async def test_serve_prints_the_banner_and_answers_until_cancelled(
    capsys: pytest.CaptureFixture[str],
) -> None:
    task = asyncio.ensure_future(serve(SandboxConfig(time_scale=100.0), port=0))
    out = ""
    for _ in range(200):
        out += capsys.readouterr().out
        if "Press Ctrl-C" in out:
            break
        await asyncio.sleep(0.01)
    base_url = out.split("listening on ", 1)[1].split()[0]
    try:
        async with aiohttp.ClientSession() as session, session.get(base_url + "/") as resp:
            assert (await resp.json())["sandbox"]["time_scale"] == 100.0
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_serve_refuses_a_remote_host_unless_allowed() -> None:
    with pytest.raises(ValueError, match="loopback"):
        await serve(SandboxConfig(), host="0.0.0.0", port=0)


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("10.0.0.2", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_cli_refuses_a_remote_host() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--host", "0.0.0.0", "--port", "0"])
    assert result.exit_code == 2
    assert "--allow-remote" in result.output


def test_cli_names_a_bad_scenario_file(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    path.write_text("ring_secs = 1\n")
    result = CliRunner().invoke(cli, ["sandbox", "--scenario", str(path), "--port", "0"])
    assert result.exit_code == 1
    assert "s.toml" in result.output and "ring_secs" in result.output


def test_cli_help_lists_the_options() -> None:
    result = CliRunner().invoke(cli, ["sandbox", "--help"])
    for option in ("--port", "--time-scale", "--scenario", "--rate-limit", "--capacity", "--seed"):
        assert option in result.output
