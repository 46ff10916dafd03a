"""``dialer sandbox``: serve the Yappr-compatible sandbox API until Ctrl-C."""

from __future__ import annotations

import asyncio
import contextlib

import click

from dialer.errors import ConfigError


@click.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8765,
    show_default=True,
    help="Port to listen on (0 picks a free one).",
)
@click.option(
    "--time-scale",
    type=click.FloatRange(min=0, min_open=True),
    default=1.0,
    show_default=True,
    help="How many times faster than real time the sandbox's clock runs.",
)
@click.option(
    "--scenario",
    "scenario_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="A scenario TOML file: outcome mix, durations, per-number overrides.",
)
@click.option(
    "--rate-limit",
    type=click.IntRange(min=1),
    default=60,
    show_default=True,
    help="Requests per minute per API key.",
)
@click.option(
    "--capacity",
    type=click.IntRange(min=1),
    default=10,
    show_default=True,
    help="Concurrent calls before POST /calls answers 202 queued.",
)
@click.option("--seed", type=int, default=1, show_default=True, help="Makes outcomes repeatable.")
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback --host: anyone who reaches it can use the printed test key.",
)
def sandbox_server(
    host: str,
    port: int,
    time_scale: float,
    scenario_file: str | None,
    rate_limit: int,
    capacity: int,
    seed: int,
    allow_remote: bool,
) -> None:
    """Serve the Yappr-compatible sandbox API (no real calls, no cost) until Ctrl-C.

    The banner on stdout gives its address, a test key, agent ids and `from` numbers; point
    YAPPR_BASE_URL and YAPPR_API_KEY at it to try commands without --sandbox.
    """
    from dialer.sandbox import SandboxConfig, Scenario, serve
    from dialer.sandbox.server import is_loopback

    if not (allow_remote or is_loopback(host)):
        raise click.UsageError(
            f"--host {host} is not a loopback address; add --allow-remote to serve other machines"
        )
    scenario = Scenario.from_toml(scenario_file) if scenario_file else Scenario()
    config = SandboxConfig(
        time_scale=time_scale,
        rate_limit=rate_limit,
        capacity=capacity,
        scenario=scenario,
        seed=seed,
    )
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(serve(config, host=host, port=port, allow_remote=allow_remote))
    except OSError as error:
        raise ConfigError(
            f"cannot listen on {host}:{port}: {error.strerror}; choose another --port (0: any)"
        ) from error
