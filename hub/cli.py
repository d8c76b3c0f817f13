"""The ``hub`` command: one front door for operators and developers.

Every command reads its settings from ``HUB_*`` variables; a wrong setting or an
unreachable service ends the command with one line that says what to fix.
"""

import asyncio
import json
import logging
import os
import sys
from collections.abc import Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import click

from hub.errors import ConfigError, HubError
from hub.settings import Settings, load_settings

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="interaction-hub", prog_name="hub", message="%(prog)s %(version)s")
def cli() -> None:
    """Customer interaction hub: cross-channel contact history and real-time triggers."""


@cli.command()
def worker() -> None:
    """Run the stream worker (ingest, history, triggers, /metrics) until stopped."""
    from hub.worker import run_worker

    run_worker(load_settings())


@cli.group(invoke_without_command=True)
@click.pass_context
def api(context: click.Context) -> None:
    """Serve the read-only customer API and the customer 360 page (HUB_API__*) until stopped."""
    if context.invoked_subcommand is None:
        from hub.api.server import run_api

        run_api(load_settings())


@api.command("hash-token")
def hash_token() -> None:
    """Print the SHA-256 of a token read from stdin, for `token_sha256` in HUB_API__TOKENS.

    The token is read from stdin, never from the command line, where it would land in
    the shell's history: `hub api hash-token < token-file`, or type it at the prompt.
    """
    from hub.settings import MIN_TOKEN_LENGTH, token_digest

    typed = sys.stdin.isatty()
    token = click.prompt("token", hide_input=True, err=True) if typed else sys.stdin.readline()
    token = token.strip()  # an HTTP header value never carries surrounding blanks either
    if len(token) < MIN_TOKEN_LENGTH:
        raise ConfigError(
            f"the token read from stdin is shorter than {MIN_TOKEN_LENGTH} characters: "
            "generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'`"
        )
    click.echo(token_digest(token).hex())


@cli.command()
def migrate() -> None:
    """Create or upgrade the PostgreSQL schema."""
    from hub.storage.admin import migrate_database

    applied = _run(migrate_database(load_settings()))
    click.echo(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))


@cli.group()
def infra() -> None:
    """Local Apache Kafka and PostgreSQL for development, tests and the demo."""


@infra.command("up")
def infra_up() -> None:
    """Start local Kafka and PostgreSQL unless running; print `export HUB_...` lines.

    Use it as: eval "$(hub infra up)"
    """
    from hub.infra import local

    for name, value in local.up().items():
        click.echo(f"export {name}={value}")


@infra.command("down")
@click.option("--purge", is_flag=True, help="Also remove PostgreSQL's data kept outside the clone.")
def infra_down(purge: bool) -> None:
    """Stop the local Kafka and PostgreSQL started by `hub infra up`."""
    from hub.infra import local

    local.down(purge=purge)


@cli.command()
@click.option(
    "--customers",
    default=200,
    show_default=True,
    type=click.IntRange(min=1),
    help="Distinct customers (with profiles).",
)
@click.option(
    "--events",
    default=5000,
    show_default=True,
    type=click.IntRange(min=0),
    help="Interaction records to publish.",
)
@click.option("--seed", default=7, show_default=True, help="Same seed, same traffic.")
@click.option(
    "--groups",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Corporate groups, with member companies and the people acting for them.",
)
def simulate(customers: int, events: int, seed: int, groups: int) -> None:
    """Publish realistic traffic for all four channels, profiles included (2% bad, 2% duplicate)."""
    from hub.simulation_publisher import publish_traffic

    settings = load_settings()
    _run(
        publish_traffic(settings, customers=customers, events=events, seed=seed, groups=groups, progress=True)
    )


@cli.command()
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="At most this many."
)
@click.option("--group", is_flag=True, help="CUSTOMER_ID is a group: its and its members' combined timeline.")
def history(customer_id: str, as_json: bool, limit: int, group: bool) -> None:
    """The customer's contact history across channels, newest first."""
    from hub.history_view import print_group_history, print_history

    show = print_group_history if group else print_history
    _run(show(load_settings(), customer_id, as_json=as_json, limit=limit))


class _AwareTime(click.ParamType):
    """An RFC 3339 / ISO 8601 time with its offset, e.g. 2026-11-25T09:00:00+08:00."""

    name = "ISO-TIME"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time, e.g. 2026-11-25T09:00:00+08:00", param, ctx)
        if parsed.tzinfo is None:
            self.fail(f"{value!r} has no offset: give one, e.g. 2026-11-25T09:00:00+08:00 or …Z", param, ctx)
        return parsed


@cli.command()
@click.option("--customer", "customer_id", help="Reads that named or served this customer.")
@click.option("--who", help="Reads by this token name.")
@click.option("--since", type=_AwareTime(), help="From this time on (inclusive), with an offset.")
@click.option("--until", type=_AwareTime(), help="Before this time (exclusive), with an offset.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def audit(
    customer_id: str | None,
    who: str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    as_json: bool,
) -> None:
    """Who read which customer through the API, and when (refused attempts too), newest first."""
    from hub.audit_view import print_audit
    from hub.storage.audit import AuditQuery

    query = AuditQuery(customer_id=customer_id, token_name=who, since=since, until=until)
    _run(print_audit(load_settings(), query, as_json=as_json, limit=limit))


@cli.command()
@click.option("--seconds", default=30.0, show_default=True, help="Answer triggers for this long.")
def marketing(seconds: float) -> None:
    """Stand in for marketing services: answer triggers with outcomes (delivered, accepted, declined)."""
    from hub.marketing import respond

    counts = _run(respond(load_settings(), seconds=seconds))
    click.echo(", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items())) or "no triggers arrived")


@cli.command()
@click.argument("customer_id")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option(
    "--limit", default=50, show_default=True, type=click.IntRange(1, 10_000), help="At most this many."
)
def explain(customer_id: str, as_json: bool, limit: int) -> None:
    """Every decision about the customer, newest first: rule, evidence, policy verdict."""
    from hub.decisions_view import print_explanation

    _run(print_explanation(load_settings(), customer_id, as_json=as_json, limit=limit))


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per rule.")
def report(as_json: bool) -> None:
    """Per rule: decisions, published, suppressed by reason, held out, outcomes, lift."""
    from hub.decisions_view import print_report

    _run(print_report(load_settings(), as_json=as_json))


@cli.command("rules")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def check_rules(path: Path | None) -> None:
    """Validate a rule file (default: HUB_RULES_FILE, or the shipped rules) and list its rules."""
    from hub.rules.loading import load_rules

    # A path given here is the argument's fault when unreadable, not HUB_RULES_FILE's.
    rules = load_rules(path, setting=None) if path else load_rules(load_settings().rules_file)
    for rule in rules.rules:
        state = "" if rule.enabled else " (disabled)"
        click.echo(f"{rule.id} v{rule.version}{state}: {rule.description}")


@cli.command()
@click.argument("rules_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--from", "since", metavar="DATE", help="Count from this day (YYYY-MM-DD, local) or ISO time.")
@click.option("--to", "until", metavar="DATE", help="Up to and including this day, or before this ISO time.")
@click.option(
    "--warm-up",
    "warm_up_days",
    default=30,
    show_default=True,
    type=click.IntRange(min=0),
    help="With --from: days of history before it replayed to build the state, not counted (0: empty state).",
)
@click.option("--customers", type=click.IntRange(min=1), help="Only the first N customers by id.")
@click.option(
    "--sample", type=click.FloatRange(0, 1, min_open=True), help="Only this share of customers (0-1)."
)
@click.option(
    "--against",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Show only the changes from these rules.",
)
@click.option(
    "--event-time-order",
    "by_event_time",
    is_flag=True,
    help="Each customer's events strictly by event time (default: as the worker recorded them).",
)
@click.option(
    "--jobs",
    default=lambda: min(os.cpu_count() or 1, 4),
    show_default="cores, at most 4",
    type=click.IntRange(1, 64),
    help="Processes replaying parts of the customers.",
)
@click.option("--json", "as_json", is_flag=True, help="The report as one JSON object.")
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report."
)
def backtest(
    rules_file: Path,
    since: str | None,
    until: str | None,
    warm_up_days: int,
    customers: int | None,
    sample: float | None,
    against: Path | None,
    by_event_time: bool,
    jobs: int,
    as_json: bool,
    html_path: Path | None,
) -> None:
    """Replay the stored history through RULES_FILE and the rules in force; report what each rule would do.

    Reads PostgreSQL only: nothing is written and no trigger is sent.
    """
    from datetime import timedelta

    from hub.backtest.command import run_command
    from hub.backtest.dates import window
    from hub.backtest.run import BacktestOptions

    if customers is not None and sample is not None:
        raise ConfigError("--customers and --sample choose customers in two ways: give one of them")
    settings = load_settings()
    start, end = window(since, until, settings.default_time_zone)
    options = BacktestOptions(
        rules_file,
        against,
        start,
        end,
        timedelta(days=warm_up_days),
        customers,
        sample,
        by_event_time,
        jobs,
    )
    run_command(settings, options, as_json=as_json, html_path=html_path)


@cli.command()
@click.option("--seconds", default=60, show_default=True, help="Stop after this many seconds.")
@click.option("--customers", default=200, show_default=True)
@click.option("--events", default=5000, show_default=True)
@click.option("--serve", is_flag=True, help="Keep the hub and the customer 360 page up until Ctrl-C.")
def demo(seconds: int, customers: int, events: int, serve: bool) -> None:
    """Run everything locally: infra (if none configured), migrate, worker, API, traffic; show triggers."""
    from hub.demo import run_demo

    run_demo(seconds=seconds, customers=customers, events=events, serve=serve)


@cli.command("config")
def show_config() -> None:
    """Print the effective configuration, secrets masked."""
    settings: Settings = load_settings()
    click.echo(json.dumps(settings.describe(), indent=2, default=str))


def main(argv: list[str] | None = None) -> None:
    # Client errors are converted into one clear message below; the clients' own log
    # lines would only repeat them. The worker configures its logging itself.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    try:
        cli.main(args=argv, prog_name="hub", standalone_mode=False)
    except click.exceptions.Abort:
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except HubError as exc:
        if os.environ.get("HUB_LOG_FORMAT", "").lower() == "json":
            from hub.logs import json_error_line

            click.echo(json_error_line(f"hub: error: {exc}"), err=True)
        else:
            click.echo(f"hub: error: {exc}", err=True)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
