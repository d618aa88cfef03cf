"""The ``huntbench`` command line: one console script, one click group per area."""
