"""``huntbench es ...`` (filled in by the Elastic collector issue)."""

import click


@click.group()
def es():
    """Elasticsearch: check the connection, export a hunt's raw events for offline use."""
