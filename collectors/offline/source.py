"""The offline :class:`~collectors.interface.Source`: ES|QL over local NDJSON on DuckDB.

Light on purpose: the catalog (DuckDB) and the engine (lark) are imported on first use, so
that opening the workbench does not wait for them.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from collectors.interface import (
    Cancelled,
    CancelToken,
    Language,
    Params,
    Progress,
    QueryError,
    QueryResult,
    SourceError,
    SourceKind,
)

if TYPE_CHECKING:
    from collectors.offline.catalog import Catalog
    from collectors.offline.lazy import Need
    from collectors.offline.meter import LoadMeter


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


LAZY_MIN_BYTES = int(os.environ.get("HUNTBENCH_LAZY_MIN_BYTES", str(32 << 20)))
"""Exports at least this big answer a first query from a narrow load (see
:mod:`collectors.offline.lazy`); smaller ones load completely in about a second anyway."""


NARROW_KEPT = 4
"""Narrow loads kept for the queries that follow until the complete cache is ready."""


@dataclass
class OfflineSource:
    """ES|QL over local NDJSON through the embedded engine on DuckDB.

    On a big export without a cache, a query is answered from a narrow load (its indices,
    its fields; exact, see :mod:`collectors.offline.lazy`) while a detached process builds
    the complete cache; once that cache is there, the next query opens it in well under a
    second. Until then, later queries reuse the narrow load when it covers them, else
    load narrowly for themselves."""

    specs: list[DataSpec]
    mappings: dict[str, Path] = field(default_factory=dict)
    now: datetime | None = None
    label: str | None = None
    kind: SourceKind = SourceKind.OFFLINE
    language: Language = Language.ESQL
    on_load: Callable[[LoadMeter], None] | None = field(default=None, repr=False)
    """Called about four times a second while data loads (a CLI progress bar)."""
    _catalog: Catalog | None = field(default=None, init=False, repr=False)
    _narrow: list[Catalog] = field(default_factory=list, init=False, repr=False)
    _prewarmed: bool = field(default=False, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def catalog(self) -> Catalog:
        """The complete catalog, loaded lazily (and once) so that opening the UI is instant."""
        with self._lock:
            if self._catalog is None:
                self._catalog = self._load(None, None, None)
            return self._catalog

    def warm(self) -> None:
        """Import the engine and load small data now (called in a thread before the first
        query); a big export waits for the first query, which loads only what it needs."""
        if not self.loads_narrow_first():
            _ = self.catalog
        import collectors.esql.engine  # noqa: F401

    def catalog_for(self, query: str, cancel: CancelToken | None = None,
                    progress: Progress | None = None) -> Catalog:
        """A catalog that answers ``query`` exactly: the complete one when loaded or
        cached, else a narrow one (and the complete cache is started in the background)."""
        from collectors.offline import lazy
        from collectors.offline.catalog import Catalog

        with self._lock:
            if self._catalog is not None:
                return self._catalog
            need = lazy.needs(query) if self.loads_narrow_first() else None
            if need is not None and Catalog.cached(self.specs):
                need = None  # the complete cache is ready: open it
            if need is not None:
                for narrow in self._narrow:
                    if narrow.need is not None and narrow.need.covers(need):
                        return narrow
            catalog = self._load(need, cancel, progress)
            if catalog.complete:
                lazy.stop_ahead()  # no file needs proving any more
                self._catalog, self._narrow = catalog, []
                return catalog
            # the last few narrow loads (each pane's query, say), newest first
            self._narrow = [catalog, *self._narrow][:NARROW_KEPT]
            return catalog

    def _build_complete_cache(self) -> None:
        """Once a narrow load has answered: start the detached builder of the complete
        cache, for the pivots and runs that follow (after the answer, not before it: its
        start-up would take CPU from the query)."""
        if self._prewarmed or not self._narrow:
            return
        self._prewarmed = True
        from collectors.offline import prewarm

        prewarm.spawn(self.specs)

    def prove_ahead(self, query: str) -> None:
        """Start, in a child process, the byte proofs ``query``'s first load will need
        (collectors/offline/ahead.py): the workbench calls it before its first frame."""
        from collectors.offline import lazy

        lazy.start_ahead([(str(spec.path), spec.index) for spec in self.specs], query)

    def loads_narrow_first(self) -> bool:
        """Does a query on this export, not yet cached, load only what it needs first (a big
        export without mappings)? The workbench then skips warming it before the screen."""
        return not self.mappings and _export_bytes(self.specs) >= LAZY_MIN_BYTES

    def _load(self, need: Need | None, cancel: CancelToken | None, progress: Progress | None) -> Catalog:
        """Catalog.load with a progress meter, and Esc (``cancel``) interrupting DuckDB."""
        import duckdb

        from collectors.offline.catalog import Catalog
        from collectors.offline.meter import LoadMeter, Ticker

        meter = LoadMeter(_export_bytes(self.specs))
        held: list = []

        def tick() -> None:
            if progress is not None:
                progress(meter.status())
            if self.on_load is not None:
                self.on_load(meter)
            if cancel is not None and cancel.cancelled:
                for con in held:  # the load's connection and its proof scans' cursor
                    try:
                        con.interrupt()
                    except duckdb.Error:
                        pass  # already closed: nothing left to stop

        if cancel is not None and cancel.cancelled:
            raise Cancelled("loading cancelled")
        try:
            with Ticker(tick):
                catalog = Catalog.load(self.specs, self.mappings, need=need, connected=held.append)
        except duckdb.InterruptException:
            raise Cancelled("loading cancelled") from None
        meter.done = True
        tick()  # the bar's last state: all read
        if cancel is not None and cancel.cancelled:
            catalog.close()
            raise Cancelled("loading cancelled")
        return catalog

    def describe(self) -> str:
        if self.label:
            return self.label
        return "offline: " + ", ".join(str(s.path) for s in self.specs)

    def esql(self, query: str, params: Params = None, *, cancel: CancelToken | None = None,
             progress: Progress | None = None) -> QueryResult:
        """Run through the embedded engine; the loader's notices (skipped malformed lines,
        ...) ride along as warnings so a partial load is never silent."""
        from collectors.esql.engine import run_esql

        for spec in self.specs:
            if not spec.path.exists():
                raise SourceError(f"--data {spec.path}: no such file or directory")
        catalog = self.catalog_for(query, cancel, progress)
        try:
            result = run_esql(query, catalog, params=params, now=self.effective_now(), cancel=cancel)
        except QueryError as exc:
            # An index missing because its file held no document at all: say why.
            empty = [p for p in getattr(catalog, "problems", []) if p.endswith("nothing loaded from it")]
            if empty and exc.reason.startswith("Unknown index"):
                raise QueryError(f"{exc.reason} ({'; '.join(empty)})", exc.line, exc.column) from None
            raise
        finally:
            self._build_complete_cache()  # answered or not, the data is loaded by now
        problems = [p for p in getattr(catalog, "problems", []) if p not in result.warnings]
        result.warnings = problems + result.warnings
        return result

    run = esql
    """The :class:`~collectors.interface.Source` name for :meth:`esql`."""

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


def _export_bytes(specs: list[DataSpec]) -> int:
    total = 0
    for spec in specs:
        try:
            if spec.path.is_dir():
                total += sum(p.stat().st_size for p in spec.path.rglob("*") if p.is_file())
            else:
                total += spec.path.stat().st_size
        except OSError:
            pass
    return total
