"""The case file: findings tagged during a hunt, kept in one local SQLite file.

Public API (the TUI and the CLI use only this): :func:`resolve_case_path`,
:func:`open_case`, :func:`finding_id`, :data:`FIXED_TAGS`, :class:`Case` and the records
it returns, :class:`CaseError`. See docs/casefile.md.
"""

from casefile.errors import CaseError
from casefile.export import CSV_COLUMNS, FORMULA_STARTS
from casefile.identity import SOURCE_KINDS, finding_id, identifying_fields
from casefile.paths import resolve_case_path
from casefile.store import AuditEntry, Case, Finding, Note, TagOutcome, current_user, open_case
from casefile.tags import FIXED_TAGS, normalise_tag

__all__ = [
    "AuditEntry", "CSV_COLUMNS", "Case", "CaseError", "FIXED_TAGS", "FORMULA_STARTS", "Finding", "Note",
    "SOURCE_KINDS", "TagOutcome", "current_user", "finding_id", "identifying_fields", "normalise_tag",
    "open_case", "resolve_case_path",
]
