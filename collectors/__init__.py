"""Collectors: the places hunt queries run (offline ES|QL, Elasticsearch, osquery).

Every collector implements :class:`collectors.interface.Source` and answers with a
:class:`collectors.interface.QueryResult`; the CLI and the TUI open them through the factory
:mod:`collectors.sources` and never import a collector directly.
"""
