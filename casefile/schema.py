"""The case file's schema and its migrations.

The version lives in SQLite's ``PRAGMA user_version`` (and is mirrored in ``meta``);
``PRAGMA application_id`` marks the file as a huntbench case, so another tool's SQLite
database is recognised and refused rather than altered. Migration N takes a file from
version N-1 to N; all pending migrations run in the caller's one transaction, so a failed
upgrade leaves the file as it was.

Tables (version 1):

* ``meta(key, value)``: name, created, created_by, tool_version, schema_version.
* ``findings``: one row per finding -- id, source kind and description, hunt uuid/name,
  MITRE ids (JSON list), query, how the id was made, first/last seen (ISO-8601 UTC), the
  key ECS fields as columns, a one-line summary, the full row as JSON, created/updated.
* ``tags(finding_id, tag, added, added_by)``: many per finding.
* ``notes(id, finding_id, author, created, text)``: many per finding.
* ``audit(id, at, who, action, finding_id, detail)``: append-only; triggers refuse
  UPDATE and DELETE.

Version 2 (where, when and how; see ``casefile/provenance.py``):

* ``findings.pivot_path`` (readable: ``Q1 file.name=x > Agents that wrote this file
  agent.id=y > ...``), ``findings.pivot_steps`` (the same as a JSON list of
  ``{label, query, on}``), ``findings.hosts`` and ``findings.agents`` (JSON lists; the
  ``host_name``/``agent_id`` columns hold them joined by ``, ``).
* ``tags.label``: the tag as typed (``T1543.002``); ``tags.tag`` stays the casefolded key
  that lookups compare.

Upgrading a version-1 file keeps every finding, tag, note and audit entry, and derives
what the old record allows: the pivot path from its query and pivot parameters, hosts and
agents from its row (and an ``agent_id`` pivot parameter), ``file.path``/``file.name``
of a local scan row from osquery's ``path``/``filename``.
"""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Callable, Iterable, Iterator

if TYPE_CHECKING:  # imported where used: the workbench imports this package before its first frame
    import sqlite_utils

APPLICATION_ID = 0x48424346
"""``HBCF`` (HuntBench Case File) in ``PRAGMA application_id``."""

KEY_FIELDS: dict[str, str] = {
    "host.name": "host_name",
    "agent.id": "agent_id",
    "file.path": "file_path",
    "file.name": "file_name",
    "process.executable": "process_executable",
    "process.command_line": "process_command_line",
    "process.parent.executable": "process_parent_executable",
    "process.parent.command_line": "process_parent_command_line",
}
"""Key ECS fields kept as columns (ECS name -> SQL column), in export order."""


def _v1(db: sqlite_utils.Database) -> Iterator[str]:
    """The first schema (a generator: sqlite-utils checks foreign keys against tables
    that must already exist, so each statement runs before the next is written)."""
    findings_columns: dict[str, type] = {
        "id": str, "source_kind": str, "source": str, "hunt_uuid": str, "hunt_name": str,
        "mitre": str, "query": str, "params": str, "id_basis": str, "id_fields": str,
        "first_seen": str, "last_seen": str, "time_desc": str,
        **{column: str for column in KEY_FIELDS.values()},
        "summary": str, "row_json": str, "created": str, "created_by": str, "updated": str,
    }
    yield db.create_table_sql("meta", {"key": str, "value": str}, pk="key")
    yield db.create_table_sql(
        "findings", findings_columns, pk="id",
        not_null=["source_kind", "id_basis", "row_json", "created", "updated"],
    )
    yield from [
        db.create_table_sql(
            "tags", {"finding_id": str, "tag": str, "added": str, "added_by": str},
            pk=("finding_id", "tag"), not_null=["added"],
            foreign_keys=[("finding_id", "findings", "id")],
        ),
        db.create_table_sql(
            "notes", {"id": int, "finding_id": str, "author": str, "created": str, "text": str},
            pk="id", not_null=["finding_id", "created", "text"],
            foreign_keys=[("finding_id", "findings", "id")],
        ),
        db.create_table_sql(
            "audit", {"id": int, "at": str, "who": str, "action": str, "finding_id": str, "detail": str},
            pk="id", not_null=["at", "who", "action"],
        ),
        "CREATE INDEX idx_tags_tag ON tags(tag)",
        "CREATE INDEX idx_notes_finding ON notes(finding_id)",
        "CREATE INDEX idx_audit_finding ON audit(finding_id)",
        "CREATE INDEX idx_findings_first_seen ON findings(first_seen)",
        """CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
        """CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
           BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END""",
    ]


def _v2(db: sqlite_utils.Database) -> Iterator[str]:
    """Where/when/how columns and tag labels; then derive them for the existing findings."""
    for column in ("pivot_path", "pivot_steps", "hosts", "agents"):
        yield f"ALTER TABLE findings ADD COLUMN {column} TEXT"
    yield "ALTER TABLE tags ADD COLUMN label TEXT"
    yield "CREATE INDEX idx_tags_finding ON tags(finding_id)"
    _derive_v2(db.conn)


def _derive_v2(conn: sqlite3.Connection) -> None:
    """Fill the version-2 columns of findings recorded by version 1 (never overwriting)."""
    import json

    from casefile.provenance import derived_steps, key_values, machines, path_text
    from casefile.values import display_text, dumps

    conn.execute("UPDATE tags SET label = tag WHERE label IS NULL")
    key_columns = list(KEY_FIELDS.values())
    rows = conn.execute(
        f"SELECT id, source_kind, query, params, row_json, {', '.join(key_columns)} FROM findings"
    ).fetchall()
    for fid, kind, query, params_json, row_json, *keys in rows:
        try:
            row = json.loads(row_json)
            params = json.loads(params_json) if params_json else {}
        except ValueError:
            continue
        if not isinstance(row, dict):
            continue
        steps = derived_steps(kind, query, params if isinstance(params, dict) else {}, KEY_FIELDS)
        hosts, agents = machines(row, steps, None)
        derived = key_values(row, steps, KEY_FIELDS, kind)
        new_keys = [old if old is not None else display_text(derived[ecs])
                    for old, ecs in zip(keys, KEY_FIELDS)]
        new_keys[0] = new_keys[0] if keys[0] is not None else (", ".join(hosts) or None)
        new_keys[1] = new_keys[1] if keys[1] is not None else (", ".join(agents) or None)
        conn.execute(
            f"UPDATE findings SET pivot_path = ?, pivot_steps = ?, hosts = ?, agents = ?, "
            f"{', '.join(f'{c} = ?' for c in key_columns)} WHERE id = ?",
            (path_text(steps), dumps(steps), dumps(hosts), dumps(agents), *new_keys, fid),
        )


Migration = Callable[["sqlite_utils.Database"], Iterable[str]]
MIGRATIONS: list[Migration] = [_v1, _v2]
"""``MIGRATIONS[i]`` takes the file from version ``i`` to ``i + 1``."""


def current_version() -> int:
    return len(MIGRATIONS)


def migrate(conn: sqlite3.Connection, from_version: int) -> int:
    """Run the pending migrations inside the caller's open transaction; the new version.

    sqlite-utils writes the DDL (``create_table_sql``) but the statements are executed
    here, because its own ``create_table`` commits and would break the one transaction.
    """
    import sqlite_utils

    db = sqlite_utils.Database(conn, execute_plugins=False)
    version = from_version
    for step in MIGRATIONS[from_version:]:
        for statement in step(db):
            conn.execute(statement)
        version += 1
    conn.execute(f"PRAGMA user_version = {version:d}")
    conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('schema_version', ?)", (str(version),))
    return version
