"""``huntbench`` with no subcommand: build the source, hunt and case path, open the workbench.

Everything that can fail before the screen opens (a bad ``--now``, an unknown hunt, an
unreadable ``--data`` path, a malformed ``--es-url``) raises HuntbenchError so the CLI prints
one ``error:`` line. Failures after that (cluster down, locked case file) appear inside the
workbench, which stays usable.
"""

from __future__ import annotations

from typing import Any

from collectors.result import HuntbenchError, SourceError


class _Warnings:
    """Cluster-client warnings: kept until the app is up, then shown as notifications
    (never printed to stderr, which would scribble over the TUI)."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.app = None

    def __call__(self, message: str) -> None:
        app = self.app
        if app is None or not app.is_running:
            self.pending.append(str(message))
            return
        import threading

        if threading.get_ident() == app._thread_id:
            app.notify_line(str(message), severity="warning")
        else:
            app.call_from_thread(app.notify_line, str(message), "warning")


_warmed: set[int] = set()


def warm_source(source: Any) -> None:
    """Start loading offline data in a thread, so that it overlaps importing and starting
    Textual; the first query finds it loaded (or waits on the source's lock). A failure here
    is silent: the first query raises it again and the pane reports it."""
    import threading

    if getattr(source, "kind", "") != "offline" or id(source) in _warmed:
        return
    _warmed.add(id(source))

    def warm() -> None:
        try:
            getattr(source, "catalog", None)
            import collectors.esql.engine  # noqa: F401
        except BaseException:  # noqa: BLE001
            pass

    # Not a daemon: DuckDB must not be torn down mid-load at exit (the C++ runtime aborts);
    # quitting during the load waits for it, as it would for a query's worker thread.
    threading.Thread(target=warm, name="huntbench-warm").start()


def build_app(**options: Any):
    """The app the options describe (also used by tests and the benchmark)."""
    from collectors.sources import open_source
    from hunts import load_library

    data = options.get("data") or ()
    sample = bool(options.get("sample"))
    es_url, profile = options.get("es_url"), options.get("profile")
    if data and sample:
        raise HuntbenchError("give --data or --sample, not both")
    if (data or sample) and (es_url or profile):
        raise HuntbenchError("give offline data (--data/--sample) or a cluster (--es-url/--profile), not both")
    warnings = _Warnings()
    notices = warnings.pending
    source = None
    if data or sample:
        source = open_source(data=data, mappings=options.get("mappings") or (), sample=sample,
                             now=options.get("now"))
    else:
        # Clusters are opened here rather than through open_source so that the client's
        # warnings (e.g. --insecure) become notifications instead of stderr under the TUI.
        from collectors.elastic import connect_source

        explicit = bool(es_url or profile)
        try:
            source = connect_source(es_url=es_url, profile=profile, ca_certs=options.get("ca_certs"),
                                    insecure=bool(options.get("insecure")), required=explicit,
                                    warn=warnings)
        except SourceError as exc:
            if explicit:
                raise
            notices.append(f"configured cluster not used ({exc}); opened the sample data")
        if source is None:
            source = open_source(sample=True, now=options.get("now"))
    library = load_library(options.get("hunt_dirs") or ())
    key = options.get("hunt_key")
    try:
        hunt = library.find(key) if key else library.default
    except (KeyError, ValueError) as exc:
        raise HuntbenchError(str(exc.args[0]) if exc.args else str(exc)) from None
    warm_source(source)  # only once nothing else can fail before the screen opens
    from tui.app import HuntbenchApp

    if library.problems:
        notices.append(f"{len(library.problems)} hunt file(s) skipped: {library.problems[0]}")
    app = HuntbenchApp(source=source, library=library, hunt=hunt, case_path=options.get("case_path"),
                       startup_notice="; ".join(notices) or None)
    warnings.app = app
    return app


def launch(**options: Any) -> None:
    """Open the workbench; returns when the user quits."""
    app = build_app(**options)
    app.run()
