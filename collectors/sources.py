"""The one factory the CLI and the TUI open sources through, with the choice checked once.

Like Harlequin's adapters, the UI never imports a collector: it describes what the user asked
for as :class:`SourceOptions`, and :func:`open_source` (ES|QL: offline, sample or a cluster)
or :func:`open_scan` (the local osquery scan) hands back a :class:`~collectors.interface.Source`.
A :class:`SourceRouter` holds one source per language and sends each query to the one that
speaks it. Collectors are imported only when a source of their kind is opened, so starting
the CLI or the workbench does not pay for DuckDB, lark or the Elasticsearch client.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Sequence

from collectors.interface import (
    CancelToken,
    HuntbenchError,
    Language,
    Params,
    Progress,
    QueryResult,
    Source,
    SourceError,
    UsageError,
)
from collectors.offline.source import DataSpec, OfflineSource, sample_source

if TYPE_CHECKING:
    from collectors.elastic.source import ElasticSource
    from collectors.osquery.source import OsquerySource

EsqlSource = Source
"""An ES|QL source (offline or a cluster): a :class:`Source` whose language is ES|QL."""


def parse_now(text: str | None) -> datetime | None:
    """``--now`` as given on the command line: ISO-8601, ``Z`` allowed; naive means UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SourceError(f"--now {text!r} is not an ISO-8601 timestamp (e.g. 2026-11-20T12:00:00Z)") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass(frozen=True)
class SourceOptions:
    """What the user named on the command line: offline data, the sample, or a cluster."""

    data: Sequence[str] = ()
    mappings: Sequence[str] = ()
    sample: bool = False
    now: str | None = None
    es_url: str | None = None
    profile: str | None = None
    ca_certs: str | None = None
    insecure: bool = False
    request_timeout: float | None = None

    NAMES = ("data", "mappings", "sample", "now", "es_url", "profile", "ca_certs", "insecure",
             "request_timeout")
    """The keyword names the CLI's options use (``--data`` -> ``data``, ...)."""

    @classmethod
    def take(cls, options: dict[str, Any]) -> "SourceOptions":
        """The source options out of a command's keyword arguments (removed from them)."""
        given = {name: options.pop(name) for name in cls.NAMES if name in options}
        cleaned = {name: value for name, value in given.items() if value is not None}
        return cls(**cleaned)

    @property
    def offline(self) -> bool:
        return bool(self.data or self.sample)

    @property
    def names_cluster(self) -> bool:
        return bool(self.es_url or self.profile)

    def check(self) -> None:
        """Refuse options that contradict each other (one line naming them)."""
        if self.data and self.sample:
            raise UsageError("give --data or --sample, not both")
        if self.offline and self.names_cluster:
            raise UsageError("give offline data (--data/--sample) or a cluster (--es-url/--profile), not both")


def _mappings(values: Sequence[str]) -> dict[str, Path]:
    maps: dict[str, Path] = {}
    for m in values:
        index, sep, path = m.partition("=")
        if not sep or not index or not path:
            raise SourceError(f"--mapping {m!r}: expected INDEX=PATH")
        maps[index] = Path(path).expanduser()
    return maps


def open_source(
    options: SourceOptions,
    *,
    warn: Callable[[str], None] | None = None,
    fell_back: Callable[[str], None] | None = None,
) -> Source:
    """The ES|QL source the options name; raises UsageError or SourceError, one line each.

    Order: ``--data`` or ``--sample``; an explicit ``--es-url``/``--profile``; a cluster
    from the environment or the config file; else the bundled sample. ``warn`` receives the
    cluster client's warnings (default: printed to stderr). When a configured cluster
    (not one named on the command line) cannot be used, ``fell_back`` is told why and the
    sample opens; without ``fell_back`` that is an error.
    """
    options.check()
    when = parse_now(options.now)
    if options.data:
        return OfflineSource([DataSpec.parse(d) for d in options.data], _mappings(options.mappings), when)
    if options.sample:
        return sample_source(when)
    from collectors.elastic import connect_source

    explicit = options.names_cluster
    source: Source | None
    try:
        source = connect_source(
            es_url=options.es_url, profile=options.profile, ca_certs=options.ca_certs,
            insecure=options.insecure, required=explicit, request_timeout=options.request_timeout,
            warn=warn,
        )
    except SourceError as exc:
        if explicit or fell_back is None:
            raise
        fell_back(f"configured cluster not used ({exc}); opened the sample data")
        source = None
    return source if source is not None else sample_source(when)


def open_cluster(options: SourceOptions) -> "ElasticSource":
    """The cluster the options, environment or config name (``huntbench es ...``); a
    SourceError saying how to name one when nothing does."""
    from collectors.elastic import connect_source

    source = connect_source(
        es_url=options.es_url, profile=options.profile, ca_certs=options.ca_certs,
        insecure=options.insecure, required=True, request_timeout=options.request_timeout,
    )
    assert source is not None  # required=True raises instead of answering None
    return source


def open_scan(*, backend: str = "builtin", root: str | Path | None = None,
              socket: str | Path | None = None, timeout: float = 30.0,
              now: datetime | None = None) -> "OsquerySource":
    """The local osquery scan: ``backend`` auto, osqueryi, socket or builtin; ``root`` an
    image; ``now`` the instant its SQL's ``'now'`` reads (``--now``)."""
    from collectors.osquery.source import OsquerySource

    return OsquerySource(backend=backend, root=root, socket=socket, timeout=timeout, now=now)


def reading_plan(source: Source) -> str | None:
    """What a first query on ``source`` reads, for the line a pane shows before the loader
    reports any bytes: ``endpoint-events.ndjson (1.5 GB)``, the biggest file named when
    there are several (``file.ndjson +2 (2.4 GB)``). None for a
    source that reads no local files (a cluster). Cheap: names and sizes, nothing is opened
    by DuckDB or parsed."""
    if not isinstance(source, OfflineSource):
        return None
    from collectors.offline.inputs import expand

    files: list[Path] = []
    for spec in source.specs:
        try:
            files += expand(spec.path)
        except (HuntbenchError, OSError):
            continue  # the query itself reports the bad path
    if not files:
        return None
    size = sum(_file_size(f) for f in files)
    biggest = max(files, key=_file_size)
    what = biggest.name if len(files) == 1 else f"{biggest.name} +{len(files) - 1}"
    return f"{what} ({_size(size)})"


def _file_size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _size(count: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if count >= scale:
            return f"{count / scale:.1f} {unit}"
    return f"{count} bytes"


_warmed: set[int] = set()


def warm_source(source: Source) -> None:
    """Start :meth:`~collectors.interface.Source.warm` in a thread (once per source), so that
    loading offline data overlaps importing and starting Textual; the first query finds it
    loaded (or waits on the source's lock). A failure here is silent: the first query raises
    it again and the pane reports it."""
    if id(source) in _warmed:
        return
    _warmed.add(id(source))

    def warm() -> None:
        try:
            source.warm()
        except BaseException:  # noqa: BLE001
            pass

    # Not a daemon: DuckDB must not be torn down mid-load at exit (the C++ runtime aborts);
    # quitting during the load waits for it, as it would for a query's worker thread.
    threading.Thread(target=warm, name="huntbench-warm").start()


def warm_before_screen(source: Source, lead_query: str | None = None) -> None:
    """:func:`warm_source`, when warming loads data: the sample or a small export then loads
    while Textual is imported and started. A big export's warm would only import the engine
    and DuckDB, competing with Textual for the interpreter and delaying the first frame (and
    its progress bar); its first query imports them anyway and loads only what it needs.
    What can go beside Textual is the byte proofs of ``lead_query`` (the pane in sight
    first): in a child process, on the core Textual leaves idle."""
    if isinstance(source, OfflineSource) and source.loads_narrow_first():  # what its warm() decides on
        if lead_query:
            source.prove_ahead(lead_query)
        return
    warm_source(source)


class SourceRouter:
    """One source per language: the workbench's data, and the local scan.

    The UI hands every query here with its language; which collector answers is decided
    here, not in the UI.
    """

    def __init__(self, *sources: Source) -> None:
        self._by_language: dict[Language, Source] = {}
        for source in sources:
            self.use(source)

    def use(self, source: Source) -> None:
        """Answer ``source.language`` queries with ``source`` from now on."""
        self._by_language[Language(source.language)] = source

    def for_language(self, language: str) -> Source:
        try:
            return self._by_language[Language(language)]
        except (ValueError, KeyError):
            raise HuntbenchError(f"{language} queries are not supported") from None

    def run(self, language: str, query: str, params: Params = None, *,
            cancel: CancelToken | None = None, progress: Progress | None = None) -> QueryResult:
        return self.for_language(language).run(query, params, cancel=cancel, progress=progress)


__all__ = [
    "CancelToken", "DataSpec", "EsqlSource", "OfflineSource", "Params", "Progress", "SourceOptions",
    "SourceRouter", "open_cluster", "open_scan", "open_source", "parse_now", "reading_plan",
    "sample_source", "warm_before_screen", "warm_source",
]
