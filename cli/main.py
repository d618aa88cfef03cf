"""``huntbench``: opens the workbench, or runs one of the subcommands."""

from __future__ import annotations

import sys

import click

from collectors.interface import HuntbenchError


class LazyGroup(click.Group):
    """Subcommand groups are imported only when used, so ``huntbench hunt list`` does not
    pay for Textual, DuckDB or the Elasticsearch client."""

    lazy: dict[str, tuple[str, str]] = {
        "hunt": ("cli.hunt_commands", "hunt"),
        "esql": ("cli.hunt_commands", "esql"),
        "scan": ("cli.osquery_commands", "scan"),
        "osquery": ("cli.osquery_commands", "osquery"),
        "case": ("cli.case_commands", "case"),
        "es": ("cli.es_commands", "es"),
    }

    def list_commands(self, ctx):
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx, name):
        if name in self.lazy:
            import importlib

            module, attr = self.lazy[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)


@click.group(cls=LazyGroup, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--sample", is_flag=True, help="Open on the bundled sample data.")
@click.option("--data", "data", multiple=True, metavar="[INDEX=]PATH", help="Open on NDJSON exports (repeatable).")
@click.option("--mapping", "mappings", multiple=True, metavar="INDEX=PATH", help="Mapping JSON for an offline index.")
@click.option("--es-url", metavar="URL", help="Open on this Elasticsearch cluster.")
@click.option("--profile", metavar="NAME", help="Open on a named cluster profile.")
@click.option("--ca-certs", metavar="PATH", help="CA bundle for the cluster's certificate.")
@click.option("--insecure", is_flag=True, help="Do not verify the cluster's TLS certificate.")
@click.option("--hunt", "hunt_key", metavar="UUID|NAME", help="Hunt to open (default: DPKG/RPM persistence).")
@click.option("--hunts", "hunt_dirs", multiple=True, metavar="DIR", help="More hunting TOML folders (repeatable).")
@click.option("--case", "case_path", metavar="PATH", envvar="HUNTBENCH_CASE", help="Case file (default ./huntbench-case.db).")
@click.option("--now", metavar="TIMESTAMP",
              help="What now() is in every pane (ISO-8601): ES|QL offline, and the Local scan's 'now'.")
@click.option("--root", "scan_root", metavar="DIR", type=click.Path(exists=True, file_okay=False, dir_okay=True),
              help="Local scan pane: read a mounted image at DIR instead of this host (built-in tables). "
                   "With --sample the default is the sample image; --root / scans this host.")
@click.option("--osquery-backend", type=click.Choice(["auto", "osqueryi", "socket", "builtin"]), default="builtin",
              show_default=True, help="How the Local scan pane runs osquery SQL (--root needs builtin).")
@click.version_option(package_name="huntbench")
@click.pass_context
def cli(ctx: click.Context, **options) -> None:
    """Terminal incident-response workbench: run Elastic hunts (ES|QL online or offline,
    osquery locally), pivot from rare files to agents to command lines, tag findings
    into a case file, export CSV.

    With no subcommand, opens the workbench: on the configured Elasticsearch cluster
    if there is one, else on the bundled sample data.
    """
    if ctx.invoked_subcommand is not None:
        return
    from tui.launch import launch

    launch(**options)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry: expected failures print ``error: ...`` and exit non-zero."""
    try:
        cli.main(args=argv, prog_name="huntbench", standalone_mode=False)
    except HuntbenchError as exc:
        from cli.output import message

        message("error", exc)  # escaped: errors quote queries, paths and servers
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("error: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("error: interrupted", err=True)
        sys.exit(130)


if __name__ == "__main__":
    main()
