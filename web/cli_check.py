"""``crossroads check``: is this configuration safe for production?"""

from __future__ import annotations

import sys

import click

from crossroads.core.config import Settings
from crossroads.core.production_check import DEFAULT_TIMEOUT, Status, passed, run_checks

_COLOURS = {Status.OK: "green", Status.WARN: "yellow", Status.FAIL: "red"}


@click.command()
@click.option(
    "--timeout",
    default=DEFAULT_TIMEOUT,
    show_default=True,
    type=click.FloatRange(0.5, 60),
    help="Seconds to wait for the database, Redis and each email server and mailbox.",
)
def check(timeout: float) -> None:
    """Check that the configuration is safe for production (exit 1 when a check fails).

    One line per check, OK, WARN or FAIL with the reason: the secret key, secure
    cookies, the database (reachable, schema current, not SQLite), the queue
    (Redis reachable when CROSSROADS_REDIS_URL is set), each practice's email
    server (a connection and EHLO with its security setting; nothing is sent) and
    each practice's reply mailbox (a login and the folder opened; nothing is read;
    the last poll's error, and a mailbox no worker has read for ten minutes).
    Run it with the same environment as the web processes.
    """
    try:
        settings = Settings.from_env()
    except ValueError as exc:  # a malformed environment variable
        raise click.ClickException(str(exc)) from None
    results = run_checks(settings, timeout=timeout)
    for result in results:
        click.echo(click.style(f"{result.status.value:<4}", fg=_COLOURS[result.status]), nl=False)
        click.echo(f"  {result.name}: {result.reason}")
    failed = [r.name for r in results if r.status == Status.FAIL]
    if not passed(results):
        click.echo(f"Not ready for production: {', '.join(failed)}.", err=True)
        sys.exit(1)
    click.echo("Ready for production." if all(r.status == Status.OK for r in results) else "No failures.")
