"""The result shape and errors, under the name most collectors import them by.

They are defined in :mod:`collectors.interface` (the leaf every layer may import); this module
re-exports them so a collector's internals keep one short import.
"""

from __future__ import annotations

from collectors.interface import (
    Cancelled,
    Column,
    HuntbenchError,
    QueryError,
    QueryResult,
    SourceError,
)

__all__ = ["Cancelled", "Column", "HuntbenchError", "QueryError", "QueryResult", "SourceError"]
