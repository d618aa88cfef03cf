"""What the engine knows about one column of an offline index."""

from __future__ import annotations

from dataclasses import dataclass

from collectors.offline.types import STORAGE


@dataclass(frozen=True)
class FieldInfo:
    """A field of an index as ES|QL sees it.

    ``multi`` is True when the DuckDB column is ``LIST(base type)`` because some document
    held two or more values (single values are then one-element lists; null and ``[]`` are
    NULL); False for a plain scalar column (one-element arrays were unwrapped).
    """

    name: str
    type: str
    multi: bool

    @property
    def storage(self) -> str:
        """The DuckDB column type holding it."""
        base = STORAGE.get(self.type, "VARCHAR")
        return f"{base}[]" if self.multi else base

    def to_json(self) -> list:
        return [self.name, self.type, self.multi]

    @classmethod
    def from_json(cls, value: list) -> "FieldInfo":
        return cls(str(value[0]), str(value[1]), bool(value[2]))
