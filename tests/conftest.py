"""Shared fixtures: the real sandbox server on 127.0.0.1, and plain HTTP sessions to it.

``sandbox`` runs at 1000x (a two-minute call ends in about 0.15 s of wall time).
``make_sandbox(**config)`` starts sandboxes with any :class:`SandboxConfig` fields (plus
``port=``) and stops every one of them when the test ends.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from dialer.sandbox import Sandbox, SandboxConfig

MakeSandbox = Callable[..., Awaitable[Sandbox]]
OpenSession = Callable[..., aiohttp.ClientSession]
Eventually = Callable[..., Awaitable[None]]


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    """A sandbox with the default workspace, running 1000x faster than the wall clock."""
    async with Sandbox(SandboxConfig(time_scale=1000.0)) as sb:
        yield sb


@pytest.fixture
async def make_sandbox() -> AsyncIterator[MakeSandbox]:
    """Start sandboxes with custom settings; all are stopped at teardown."""
    started: list[Sandbox] = []

    async def make(*, port: int = 0, **config: Any) -> Sandbox:
        config.setdefault("time_scale", 1000.0)
        sb = Sandbox(SandboxConfig(**config), port=port)
        await sb.start()
        started.append(sb)
        return sb

    yield make
    for sb in started:
        await sb.stop()


@pytest.fixture
async def http() -> AsyncIterator[OpenSession]:
    """``http(sb, key=None, auth=True)``: an aiohttp session on the sandbox; closed at teardown."""
    sessions: list[aiohttp.ClientSession] = []

    def open_session(
        sb: Sandbox, key: str | None = None, *, auth: bool = True
    ) -> aiohttp.ClientSession:
        headers = {"Authorization": f"Bearer {key or sb.api_key}"} if auth else {}
        session = aiohttp.ClientSession(sb.base_url, headers=headers)
        sessions.append(session)
        return session

    yield open_session
    for session in sessions:
        await session.close()


@pytest.fixture
def eventually() -> Eventually:
    """``await eventually(check, within=5)``: poll ``check()`` until true (short real sleeps)."""

    async def wait(check: Callable[[], bool], *, within: float = 5.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not check():
            if loop.time() > deadline:
                raise AssertionError("condition not reached in time")
            await asyncio.sleep(0.005)

    return wait


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Print what the reliability tests counted (kills survived, faults injected, ...)."""
    from .figures import FIGURES

    if not FIGURES:
        return
    terminalreporter.section("reliability figures")
    for name, value in sorted(FIGURES.items()):
        terminalreporter.write_line(f"{name}: {value:,}")
