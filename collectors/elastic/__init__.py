"""Elasticsearch collector: ES|QL on a live cluster through the official client."""

from __future__ import annotations


def connect_source(*, es_url=None, profile=None, ca_certs=None, insecure=False, required=True):
    """Return an EsqlSource for the cluster the settings name, or None when nothing is
    configured and ``required`` is False. (Filled in by the Elastic collector issue.)"""
    from collectors.result import SourceError

    if required:
        raise SourceError("the Elasticsearch collector is not available yet")
    return None
