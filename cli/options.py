"""Options shared by every command that reads ES|QL data (offline or on a cluster)."""

from __future__ import annotations

import json
from typing import Any, Callable

import click

from collectors.interface import Source, UsageError
from collectors.sources import SourceOptions, open_source


def source_options(func: Callable) -> Callable:
    """``--data/--mapping/--sample/--now`` (offline) and ``--es-url/--profile/...`` (cluster)."""
    options = [
        click.option("--data", "data", multiple=True, metavar="[INDEX=]PATH",
                     help="NDJSON file or folder to query offline (repeatable)."),
        click.option("--mapping", "mappings", multiple=True, metavar="INDEX=PATH",
                     help="Elasticsearch mapping JSON for an offline index (repeatable)."),
        click.option("--sample", is_flag=True, help="Use the bundled sample data."),
        click.option("--now", metavar="TIMESTAMP",
                     help="What now() is offline (ISO-8601). Sample data: its capture time."),
        click.option("--es-url", envvar=None, metavar="URL", help="Elasticsearch URL."),
        click.option("--profile", metavar="NAME", help="Named cluster profile from the config file."),
        click.option("--ca-certs", metavar="PATH", help="CA bundle that signed the cluster's certificate."),
        click.option("--insecure", is_flag=True, help="Do not verify the cluster's TLS certificate."),
        click.option("--timeout", "request_timeout", type=click.FloatRange(min=0.1), metavar="SECONDS",
                     help="Cluster request timeout (default 30, or the profile's request_timeout)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def source_from(kwargs: dict[str, Any]) -> Source:
    """Build the source the options name; pops them from ``kwargs``.

    Offline data when given; else the cluster the flags, environment or config name; else
    the bundled sample. Contradicting options are click usage errors.
    """
    options = SourceOptions.take(kwargs)
    try:
        options.check()
    except UsageError as exc:
        raise click.UsageError(str(exc)) from None
    return open_source(options)


def parse_params(values: tuple[str, ...]) -> dict[str, Any] | None:
    """``--param NAME=VALUE``: the value is JSON when it parses as JSON, else a string."""
    if not values:
        return None
    params: dict[str, Any] = {}
    for item in values:
        name, sep, raw = item.partition("=")
        if not sep or not name:
            raise click.UsageError(f"--param {item!r}: expected NAME=VALUE")
        try:
            value = json.loads(raw)
            if isinstance(value, (dict, list)):
                value = raw
        except ValueError:
            value = raw
        params[name.lstrip("?")] = value
    return params


__all__ = ["source_options", "source_from", "parse_params"]
