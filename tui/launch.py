"""``huntbench`` with no subcommand: build the source, hunt and case path, open the workbench.

Everything that can fail before the screen opens (a bad ``--now``, an unknown hunt, an
unreadable ``--data`` path, a malformed ``--es-url``) raises HuntbenchError so the CLI prints
one ``error:`` line. Failures after that (cluster down, locked case file) appear inside the
workbench, which stays usable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collectors.interface import HuntbenchError

if TYPE_CHECKING:
    from tui.app import HuntbenchApp


class _Warnings:
    """Cluster-client warnings: kept until the app is up, then shown as notifications
    (never printed to stderr, which would scribble over the TUI)."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.app: HuntbenchApp | None = None

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


def build_app(**options: Any) -> HuntbenchApp:
    """The app the options describe (also used by tests and the benchmark)."""
    from collectors.sources import SourceOptions, open_source, warm_before_screen
    from hunts import load_library

    warnings = _Warnings()
    notices = warnings.pending
    # The cluster client's warnings (e.g. --insecure) become notifications instead of
    # stderr under the TUI; a configured cluster that cannot be used falls back to the sample.
    source = open_source(SourceOptions.take(dict(options)), warn=warnings, fell_back=notices.append)
    library = load_library(options.get("hunt_dirs") or ())
    key = options.get("hunt_key")
    try:
        hunt = library.find(key) if key else library.default
    except (KeyError, ValueError) as exc:
        raise HuntbenchError(str(exc.args[0]) if exc.args else str(exc)) from None
    warm_before_screen(source, hunt.lead_esql)  # only once nothing else can fail before the screen opens
    from hunts.seen import first_time
    from tui.app import HuntbenchApp

    fresh = first_time(library)  # each library warning once, not on every start
    if fresh:
        notices.append(f"hunt library: {fresh[0]}" + (f" (and {len(fresh) - 1} more: huntbench hunt list --check)"
                                                      if len(fresh) > 1 else ""))
    scan = local_scan_options(options)
    app = HuntbenchApp(source=source, library=library, hunt=hunt, case_path=options.get("case_path"),
                       startup_notice="; ".join(notices) or None, osquery_backend=scan["backend"],
                       scan_root=scan["root"], scan_now=scan["now"], scan_label=scan["label"])
    warnings.app = app
    return app


def local_scan_options(options: dict[str, Any]) -> dict[str, Any]:
    """What the Local scan pane reads, and as of when.

    ``--root DIR`` names an image (``/`` is this host); with ``--sample`` and no ``--root``,
    the bundled sample image of web-03, as of the sample's capture time. ``--now`` is the
    scan's clock too; without it, the real clock (the sample image: its capture time).
    """
    from collectors.sources import parse_now
    from tui.local_scan import scan_label

    backend = options.get("osquery_backend") or "builtin"
    root = options.get("scan_root")
    now = parse_now(options.get("now"))
    sample = False
    if root is None and options.get("sample"):
        import sample_data
        from sample_data.image import sample_image

        try:
            root = str(sample_image())
        except OSError as exc:
            raise HuntbenchError(f"sample image: cannot write it to the cache folder ({exc.strerror or exc})") from None
        sample = True
        now = now or sample_data.capture_time()
    if root is not None and str(root).rstrip("/") == "":
        root = None
    if root is not None and backend in ("osqueryi", "socket"):
        raise HuntbenchError(f"--root works only with --osquery-backend builtin, not {backend}")
    return {"backend": backend, "root": root, "now": now, "label": scan_label(root, sample)}
