"""The offline :class:`~collectors.interface.Source`: ES|QL over local NDJSON on DuckDB.

Light on purpose: the catalog (DuckDB) and the engine (lark) are imported on first use, so
that opening the workbench does not wait for them.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

from collectors.interface import (
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
    kind: SourceKind = SourceKind.OFFLINE
    language: Language = Language.ESQL
    _catalog: Catalog | None = field(default=None, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def catalog(self) -> Catalog:
        """Load lazily (and once) so that opening the UI is instant."""
        with self._lock:
            if self._catalog is None:
                from collectors.offline.catalog import Catalog

                self._catalog = Catalog.load(self.specs, self.mappings)
            return self._catalog

    def warm(self) -> None:
        """Load the data and import the engine now (called in a thread before the first query)."""
        _ = self.catalog
        import collectors.esql.engine  # noqa: F401

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
        catalog = self.catalog
        try:
            result = run_esql(query, catalog, params=params, now=self.effective_now(), cancel=cancel)
        except QueryError as exc:
            # An index missing because its file held no document at all: say why.
            empty = [p for p in getattr(catalog, "problems", []) if p.endswith("nothing loaded from it")]
            if empty and exc.reason.startswith("Unknown index"):
                raise QueryError(f"{exc.reason} ({'; '.join(empty)})", exc.line, exc.column) from None
            raise
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
