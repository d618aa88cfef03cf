"""``huntbench es check`` and ``huntbench es export-events``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

if TYPE_CHECKING:
    from collectors.elastic.source import ElasticSource


def cluster_options(func: Callable) -> Callable:
    """The cluster half of cli.options.source_options (same names), plus ``--timeout``."""
    options = [
        click.option("--es-url", metavar="URL", help="Elasticsearch URL (else ELASTICSEARCH_URL, else the profile)."),
        click.option("--profile", metavar="NAME", help="Named cluster profile from the config file."),
        click.option("--ca-certs", metavar="PATH", help="CA bundle that signed the cluster's certificate."),
        click.option("--insecure", is_flag=True, help="Do not verify the cluster's TLS certificate."),
        click.option("--timeout", "request_timeout", type=float, metavar="SECONDS",
                     help="Request timeout (default 30, or HUNTBENCH_ES_TIMEOUT, or the profile's)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _source(kwargs: dict[str, Any]) -> ElasticSource:
    from collectors.sources import SourceOptions, open_cluster

    return open_cluster(SourceOptions.take(kwargs))


def _hunt(key: str | None, hunt_dirs):
    from cli.hunt_commands import find_hunt

    return find_hunt(key, hunt_dirs)


@click.group()
def es():
    """Elasticsearch: check the connection, export a hunt's raw events for offline use.

    \b
    Cluster settings, first found wins: flags (--es-url, --profile, --ca-certs,
    --insecure, --timeout), then ELASTICSEARCH_URL, ELASTIC_CLOUD_ID, ELASTIC_API_KEY,
    ELASTIC_USERNAME + ELASTIC_PASSWORD, HUNTBENCH_PROFILE, then the profile in the
    config file (HUNTBENCH_CONFIG or ~/.config/huntbench/config.toml).
    """


@es.command("check")
@click.option("--hunt", "hunt_key", metavar="UUID|NAME", help="Hunt whose FROM patterns to check (default: DPKG/RPM).")
@click.option("--hunts", "hunt_dirs", multiple=True, metavar="DIR", help="More hunting TOML folders.")
@cluster_options
def check(hunt_key, hunt_dirs, **kwargs) -> None:
    """Is the cluster reachable, who am I, has it ES|QL, do the hunt's indices exist and
    hold events in its time window? One line per check; exit 1 if any fails."""
    from collectors.elastic.check import run_checks
    from tui.escape import visible

    hunt = _hunt(hunt_key, hunt_dirs)
    source = _source(kwargs)
    s = source.settings
    origins = ", ".join(f"{k} from {v}" for k, v in s.origins.items() if k in ("url", "cloud_id"))
    # What the cluster answers (index names, versions, reasons) is shown escaped.
    click.echo(visible(f"cluster: {s.target} ({origins}; {s.credential_label})"))
    click.echo(f"hunt: {visible(hunt.name)}")
    checks = run_checks(source, hunt, emit=lambda c: click.echo(visible(c.line())))
    failed = [c for c in checks if not c.ok]
    click.echo(f"{len(checks) - len(failed)} passed, {len(failed)} failed")
    if failed:
        sys.exit(1)


@es.command("export-events")
@click.argument("hunt_key", metavar="HUNT")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the NDJSON files (created; existing files are never overwritten).")
@click.option("--since", metavar="DURATION", help="Window, e.g. 7d, 12h (default: the hunt's own window).")
@click.option("--hunts", "hunt_dirs", multiple=True, metavar="DIR", help="More hunting TOML folders.")
@cluster_options
def export_events(hunt_key, out: Path, since, hunt_dirs, **kwargs) -> None:
    """Write the raw events HUNT reads (its FROM patterns, its time window) to NDJSON in
    --out, one file per index or data stream, for offline hunting with --data OUT."""
    from cli.output import message
    from collectors.elastic.export import export_events as run_export
    from tui.escape import visible

    hunt = _hunt(hunt_key, hunt_dirs)
    source = _source(kwargs)
    results = run_export(source, hunt, out, since=since, progress=lambda t: click.echo(visible(t), err=True))
    total = 0
    for r in results:
        total += r.events
        click.echo(visible(f"{r.path}: {r.events:,} events in {r.pages} page{'s' if r.pages != 1 else ''}"))
        for note in r.notes:
            message("warning", f"{r.name}: {note}")
    maps = "".join(f" --mapping {r.name}={r.mapping}" for r in results if r.mapping)
    click.echo(visible(f"{total:,} events from {len(results)} index(es) written to {out}; "
                       f"hunt them offline with: huntbench hunt run {hunt.uuid} --data {out}{maps}"))

