"""``huntbench case ...`` (filled in by the case file issue)."""

import click


@click.group()
def case():
    """Tag findings into a SQLite case file; list, show, export them."""
