"""Open the workbench (filled in by the TUI issue)."""


def launch(**options) -> None:
    raise SystemExit("error: the workbench is not built yet")
