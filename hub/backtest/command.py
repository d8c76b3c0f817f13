"""``hub backtest``'s output: the terminal table, ``--json`` and the HTML file."""

import asyncio
import json
import sys
from pathlib import Path

import click
from rich.console import Console

from hub.backtest.html import render_html
from hub.backtest.run import BacktestOptions, load_rule_sets, run_backtest
from hub.backtest.terminal import print_report
from hub.errors import ConfigError
from hub.settings import Settings

WIDE = 180
"""Columns of the table when stdout is not a terminal (a file, a pipe): no wrapping."""


def run_command(
    settings: Settings, options: BacktestOptions, *, as_json: bool, html_path: Path | None
) -> None:
    # The rule files are checked before anything is read: a typo fails at once.
    load_rule_sets(settings, options)
    if html_path is not None and not html_path.parent.is_dir():
        raise ConfigError(f"--html {html_path}: no folder {html_path.parent} to write the report in")
    report = asyncio.run(run_backtest(settings, options, progress=sys.stderr.isatty()))
    if html_path is not None:
        try:
            html_path.write_text(render_html(report))
        except OSError as exc:
            raise ConfigError(f"--html {html_path}: cannot write it ({exc.strerror})") from None
    if as_json:
        click.echo(json.dumps(report.to_json(), default=str))
        return
    print_report(report, Console(width=None if sys.stdout.isatty() else WIDE))
    if html_path is not None:
        click.echo(f"\nHTML report: {html_path}")
