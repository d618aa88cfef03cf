"""Collectors: the places hunt queries run (offline ES|QL, Elasticsearch, osquery).

Every collector answers with a :class:`collectors.result.QueryResult`, so the CLI and
the TUI never need to know which one they are talking to.
"""
