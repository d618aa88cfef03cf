"""The interface the CLI and the TUI see: an ES|QL source, offline or on a cluster.

Like Harlequin's adapter, the UI never imports a collector directly: it asks
:func:`open_source` for something that answers :meth:`EsqlSource.esql` with a
:class:`~collectors.result.QueryResult`, whichever kind it is.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol, Sequence, runtime_checkable

from collectors.result import QueryResult, SourceError

Params = Mapping[str, Any] | Sequence[Any] | None
"""Named (``{"file_name": "x"}``) or positional (``["x"]``) ES|QL parameters."""

Progress = Callable[[str], None]
"""Called from the worker thread with a short human status ("running 4.2 s", ...)."""


class CancelToken:
    """Set by the UI when the user presses Esc; a source checks it and stops."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; True if cancelled meanwhile (for polling loops)."""
        return self._event.wait(seconds)


@runtime_checkable
class EsqlSource(Protocol):
    """Something that runs ES|QL and answers in Elasticsearch's ``_query`` shape."""

    kind: str
    """"offline" or "elastic"."""

    def describe(self) -> str:
        """Where the data comes from, for the header and the case file, never with secrets."""
        ...

    def esql(
        self,
        query: str,
        params: Params = None,
        *,
        cancel: CancelToken | None = None,
        progress: Progress | None = None,
    ) -> QueryResult:
        """Run one ES|QL query. Raises QueryError, SourceError or Cancelled."""
        ...


def parse_now(text: str | None) -> datetime | None:
    """``--now`` as given on the command line: ISO-8601, ``Z`` allowed; naive means UTC."""
    if text is None:
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise SourceError(f"--now {text!r} is not an ISO-8601 timestamp (e.g. 2026-11-20T12:00:00Z)")
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


@dataclass
class DataSpec:
    """One ``--data [INDEX=]PATH``: a file or folder of NDJSON, optionally forced to an index."""

    path: Path
    index: str | None = None

    @classmethod
    def parse(cls, text: str) -> "DataSpec":
        index, sep, path = text.partition("=")
        if sep and index and "/" not in index and not Path(text).exists():
            return cls(Path(path).expanduser(), index)
        return cls(Path(text).expanduser())


@dataclass
class OfflineSource:
    """ES|QL over local NDJSON through the embedded engine on DuckDB."""

    specs: list[DataSpec]
    mappings: dict[str, Path] = field(default_factory=dict)
    now: datetime | None = None
    label: str | None = None
    kind: str = "offline"
    _catalog: Any = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def catalog(self):
        """Load lazily (and once) so that opening the UI is instant."""
        with self._lock:
            if self._catalog is None:
                from collectors.offline.catalog import Catalog

                self._catalog = Catalog.load(self.specs, self.mappings)
            return self._catalog

    def describe(self) -> str:
        if self.label:
            return self.label
        return "offline: " + ", ".join(str(s.path) for s in self.specs)

    def esql(self, query, params=None, *, cancel=None, progress=None) -> QueryResult:
        """Run through the embedded engine; the loader's notices (skipped malformed lines,
        ...) ride along as warnings so a partial load is never silent."""
        from collectors.esql.engine import run_esql

        for spec in self.specs:
            if not spec.path.exists():
                raise SourceError(f"--data {spec.path}: no such file or directory")
        catalog = self.catalog
        result = run_esql(query, catalog, params=params, now=self.effective_now(), cancel=cancel)
        problems = [p for p in getattr(catalog, "problems", []) if p not in result.warnings]
        result.warnings = problems + result.warnings
        return result

    def effective_now(self) -> datetime:
        return self.now or datetime.now(timezone.utc)


def sample_source(now: datetime | None = None) -> OfflineSource:
    """The bundled sample data, with ``now()`` at its capture time unless told otherwise."""
    import sample_data

    return OfflineSource(
        specs=[DataSpec(p) for p in sample_data.data_files()],
        now=now or sample_data.capture_time(),
        label="sample data (bundled, offline)",
    )


def open_source(
    *,
    data: Sequence[str] = (),
    mappings: Sequence[str] = (),
    sample: bool = False,
    now: str | None = None,
    es_url: str | None = None,
    profile: str | None = None,
    ca_certs: str | None = None,
    insecure: bool = False,
    request_timeout: float | None = None,
    use_configured_cluster: bool = False,
    warn: Callable[[str], None] | None = None,
) -> EsqlSource:
    """Pick the source the user asked for.

    Order: explicit ``--data`` or ``--sample``; explicit ``--es-url``/``--profile``; then,
    when ``use_configured_cluster`` (the TUI's default start), a cluster from the
    environment or config; else the bundled sample.
    """
    when = parse_now(now)
    if data:
        maps: dict[str, Path] = {}
        for m in mappings:
            index, sep, path = m.partition("=")
            if not sep or not index or not path:
                raise SourceError(f"--mapping {m!r}: expected INDEX=PATH")
            maps[index] = Path(path).expanduser()
        return OfflineSource([DataSpec.parse(d) for d in data], maps, when)
    if sample:
        return sample_source(when)
    if es_url or profile or use_configured_cluster:
        from collectors.elastic import connect_source

        source = connect_source(
            es_url=es_url,
            profile=profile,
            ca_certs=ca_certs,
            insecure=insecure,
            required=not use_configured_cluster,
            request_timeout=request_timeout,
            warn=warn,
        )
        if source is not None:
            return source
    return sample_source(when)
