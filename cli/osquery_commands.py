"""``huntbench scan`` and ``huntbench osquery`` (filled in by the osquery collector issue)."""

import click


@click.command()
@click.argument("hunt_key", metavar="[HUNT]", required=False)
def scan(hunt_key):
    """Run a hunt's osquery SQL on this host (or on --root DIR)."""
    raise click.ClickException("not implemented yet")


@click.command()
@click.argument("sql")
def osquery(sql):
    """Run any osquery SQL on this host (or on --root DIR)."""
    raise click.ClickException("not implemented yet")
