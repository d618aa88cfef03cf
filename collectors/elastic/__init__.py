"""Elasticsearch collector: ES|QL on a live cluster through the official client.

Public API: :func:`connect_source` (what the factory ``collectors.sources`` calls) and
:class:`ElasticSource`. Settings: :mod:`.settings`; errors: :mod:`.errors`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from .settings import ClusterSettings, resolve_settings

if TYPE_CHECKING:
    from .source import ElasticSource

__all__ = ["connect_source", "ClusterSettings", "resolve_settings"]


def connect_source(*, es_url: str | None = None, profile: str | None = None, ca_certs: str | None = None,
                   insecure: bool = False, required: bool = True, request_timeout: float | None = None,
                   warn: Callable[[str], None] | None = None) -> ElasticSource | None:
    """An :class:`ElasticSource` for the cluster the flags, environment or config name.

    None when nothing names a cluster and ``required`` is False (the TUI then opens on the
    sample); a SourceError saying how to name one when ``required``. No request is sent
    here: the first query (or ``huntbench es check``) is what reaches the cluster.
    ``warn`` receives warnings such as ``--insecure`` (default: printed to stderr).
    """
    from collectors.interface import SourceError

    from .client import Cluster, stderr_warning
    from .source import ElasticSource

    settings = resolve_settings(es_url=es_url, profile=profile, ca_certs=ca_certs, insecure=insecure,
                                request_timeout=request_timeout)
    if settings is None:
        if required:
            raise SourceError(
                "no cluster configured: give --es-url URL, set ELASTICSEARCH_URL or ELASTIC_CLOUD_ID, "
                "or add a profile to the config file (see: huntbench es check --help)"
            )
        return None
    return ElasticSource(Cluster(settings, warn=warn or stderr_warning))


def __getattr__(name: str):
    if name == "ElasticSource":
        from .source import ElasticSource

        return ElasticSource
    raise AttributeError(name)
