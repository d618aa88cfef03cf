"""The case file: open it, tag rows into it, read findings back.

One SQLite file per case, in WAL mode with a busy timeout so a second huntbench (the TUI
and a CLI, or two windows) can work on the same case: readers never block, writers wait
their turn. Every user action is one ``BEGIN IMMEDIATE`` transaction -- taking the write
lock up front, so two writers queue on the busy timeout instead of deadlocking on a lock
upgrade -- and a crash or error in the middle of a batch rolls the whole batch back.
"""

from __future__ import annotations

import getpass
import json
import os
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Iterable, Iterator, Mapping, Sequence

from casefile import ownership, schema
from casefile.errors import CaseError, sqlite_errors
from casefile.identity import _finding_id, check_source_kind, identifying_fields
from casefile.paths import check_file, create_file, resolve_case_path, side_files_present
from casefile.provenance import (
    clean_steps,
    derived_steps,
    key_values,
    loads_list,
    machines,
    path_text,
    resolved_times,
)
from casefile.tags import normalise_tags, tag_key
from casefile.values import (
    clean_source,
    clean_text,
    display_text,
    dumps,
    now_iso,
    parse_time,
)

DEFAULT_BUSY_TIMEOUT = 5.0
BUSY_ENV = "HUNTBENCH_CASE_BUSY_TIMEOUT"

# Row columns that say when a finding happened, and how Timesketch should call that time.
_TIME_COLUMNS: tuple[tuple[str, str | None, str, str], ...] = (
    # (first column, last column or None, timestamp_desc, epoch unit for numbers)
    ("first_seen", "last_seen", "First seen", "ms"),
    ("@timestamp", None, "Event time", "ms"),
    ("file_last_modified_time", None, "File modified", "s"),
    ("mtime", None, "File modified", "s"),
)


def current_user() -> str:
    """The OS user, for notes and the audit log (``uid N`` when there is no name)."""
    try:
        return getpass.getuser()
    except Exception:  # getuser raises OSError/KeyError without a passwd entry
        return f"uid {os.getuid()}" if hasattr(os, "getuid") else "unknown"


def tool_version() -> str:
    try:
        from importlib.metadata import version

        return version("huntbench")
    except Exception:
        return "unknown"


@dataclass
class TagOutcome:
    """What one tag action did."""

    created: int = 0
    updated: int = 0
    finding_ids: list[str] = field(default_factory=list)
    """One per input row, in input order (rows that are the same finding repeat the id)."""


@dataclass
class Note:
    id: int
    author: str
    created: str
    text: str


@dataclass
class AuditEntry:
    id: int
    at: str
    who: str
    action: str
    finding_id: str | None
    detail: dict[str, Any]


@dataclass
class Finding:
    id: str
    source_kind: str
    source: str
    hunt_uuid: str | None
    hunt_name: str | None
    mitre: list[str]
    query: str | None
    params: dict[str, Any]
    id_basis: str
    """``fields`` (identifying fields) or ``row`` (no identifying field: whole row)."""
    id_fields: list[str]
    first_seen: str | None
    last_seen: str | None
    time_desc: str | None
    key: dict[str, str | None]
    """The key ECS fields as display text (``file.path`` -> ...)."""
    summary: str
    row: dict[str, Any]
    created: str
    created_by: str | None
    updated: str
    tags: list[str] = field(default_factory=list)
    """Labels as typed (``T1543.002``), ordered by key."""
    notes: list[Note] = field(default_factory=list)
    pivot_path: str = ""
    """The steps that led to the row, readable (``Q1 file.name=x > ... > pivot title``)."""
    pivot_steps: list[dict[str, Any]] = field(default_factory=list)
    """The same as ``{label, query, on}`` dicts (see casefile/provenance.py)."""
    hosts: list[str] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)


_FINDING_COLUMNS = (
    "id, source_kind, source, hunt_uuid, hunt_name, mitre, query, params, id_basis, id_fields, "
    "first_seen, last_seen, time_desc, " + ", ".join(schema.KEY_FIELDS.values())
    + ", summary, row_json, created, created_by, updated, pivot_path, pivot_steps, hosts, agents"
)
_TAG_LABEL = "coalesce(label, tag)"


_KEEP = ("id", "created", "created_by", "first_seen", "last_seen", "time_desc")
# A re-tag without hunt details (e.g. from the CLI without --hunt) must not erase them.
_UPDATE_RULES = {
    "hunt_name": "hunt_name = coalesce(excluded.hunt_name, hunt_name)",
    "mitre": "mitre = CASE WHEN excluded.mitre = '[]' THEN mitre ELSE excluded.mitre END",
    "source": "source = CASE WHEN excluded.source = '' THEN source ELSE excluded.source END",
    # ... nor a re-tag that knows less (no pivot path, no resolved hosts) what was known.
    **{c: f"{c} = CASE WHEN excluded.{c} IN ('', '[]') THEN {c} ELSE excluded.{c} END"
       for c in ("pivot_path", "pivot_steps", "hosts", "agents")},
    **{c: f"{c} = coalesce(excluded.{c}, {c})" for c in schema.KEY_FIELDS.values()},
}


def _row_times(row: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(first seen, last seen, description) from the row's time columns, if any."""
    for first_col, last_col, desc, unit in _TIME_COLUMNS:
        if first_col in row:
            first = parse_time(row[first_col], epoch_unit=unit)
            last = parse_time(row.get(last_col), epoch_unit=unit) if last_col else first
            if first or last:
                return first or last, last or first, desc
    return None, None, None


def _summary(row: Mapping[str, Any], fields: Sequence[str]) -> str:
    """``file.name=x, process.executable=y``: the identifying fields as one line."""
    names = fields or list(row)
    parts = []
    for name in names:
        text = display_text(row[name])
        parts.append(f"{name}={'' if text is None else text}")
    return ", ".join(parts)


class Case:
    """An open case file. Thread-safe (one lock around the connection) for the TUI's workers."""

    def __init__(self, path: Path, conn: sqlite3.Connection, busy_timeout: float):
        import sqlite_utils  # here, not at the top: importing the package stays cheap (see schema.py)

        self.path = path
        self._conn = conn
        self._busy_timeout = busy_timeout
        self._lock = threading.RLock()
        self._depth = 0
        self.db = sqlite_utils.Database(conn, execute_plugins=False)
        """The sqlite-utils view of the file (reads; writes go through :meth:`_write`)."""

    # ------------------------------------------------------------------ plumbing
    def __enter__(self) -> "Case":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Case({str(self.path)!r})"

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, sqlite_errors(self.path, self._busy_timeout):
            yield self._conn

    @contextmanager
    def action(self) -> Iterator["Case"]:
        """Group several calls into one user action (one transaction), e.g. the CLI tagging
        every result of ``hunt run --format json`` at once: all of them are saved or none."""
        with self._write():
            yield self

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One user action: BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception.

        Nested inside :meth:`action`, it joins the open transaction.
        """
        with self._lock, sqlite_errors(self.path, self._busy_timeout):
            conn = self._conn
            if self._depth:
                self._depth += 1
                try:
                    yield conn
                finally:
                    self._depth -= 1
                return
            conn.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield conn
            except BaseException:
                self._depth = 0
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            self._depth = 0
            conn.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            try:
                self._conn.close()
            except sqlite3.Error:
                pass

    def _audit(self, conn: sqlite3.Connection, entries: list[tuple[str, str | None, dict]], at: str, who: str) -> None:
        conn.executemany(
            "INSERT INTO audit(at, who, action, finding_id, detail) VALUES (?, ?, ?, ?, ?)",
            [(at, who, action, fid, dumps(detail)) for action, fid, detail in entries],
        )

    # ------------------------------------------------------------------ writing
    def tag_rows(
        self,
        rows: Sequence[Mapping[str, Any]],
        tags: Sequence[str],
        *,
        note: str | None = None,
        source_kind: str,
        source: str,
        hunt_uuid: str | None = None,
        hunt_name: str | None = None,
        mitre: Sequence[str] = (),
        query: int | str | None = None,
        params: Mapping[str, Any] | None = None,
        pivot_path: Sequence[Mapping[str, Any]] | None = None,
        resolved: Sequence[Mapping[str, Any] | None] | None = None,
        default_hosts: Sequence[str] = (),
        hunt_key: str | None = None,
    ) -> TagOutcome:
        """Make each row a finding (or update it) with ``tags``; one transaction for all.

        Re-tagging a finding keeps its tags and notes, widens first/last seen, and stores
        the latest row. Every finding touched gets one audit entry (and one more for the note).

        Where/when/how (casefile/provenance.py): ``pivot_path`` is the steps that led to
        the rows (shared by all), ``resolved`` one ``{hosts, agents, first_seen,
        last_seen}`` (or None) per row for what the row itself does not say, and
        ``default_hosts`` the host(s) every row is about when nothing else tells (the
        machine or image a local scan read). ``hunt_key`` is what the finding ids are made from
        instead of ``hunt_uuid`` when the uuid alone does not name the hunt (two different
        hunts sharing one: ``Hunt.case_key``); the uuid is still what is recorded.
        """
        if resolved is not None and len(resolved) != len(rows):
            raise CaseError(f"{len(resolved)} resolved contexts for {len(rows)} rows")
        tag_list = normalise_tags(tags)
        if not tag_list:
            raise CaseError("give at least one tag (e.g. suspicious)")
        source_kind = check_source_kind(source_kind)
        note_text = clean_text(note).strip() if note else None
        at, who = now_iso(), current_user()
        shared = {
            "source_kind": source_kind,
            "source": clean_source(source),
            "hunt_uuid": hunt_uuid,
            "hunt_name": clean_text(hunt_name) if hunt_name else None,
            "mitre": dumps(list(mitre)),
            "query": None if query is None else str(query),
            "params": dumps(dict(params or {})),
        }
        # Without a path from the caller (the CLI), the one the query and parameters tell.
        steps = clean_steps(pivot_path) if pivot_path is not None else derived_steps(
            source_kind, shared["query"], dict(params or {}), schema.KEY_FIELDS)
        context = {"steps": steps, "default_hosts": [clean_text(str(h)) for h in default_hosts if h],
                   "id_hunt": hunt_key or hunt_uuid}
        records: dict[str, dict[str, Any]] = {}
        ids: list[str] = []
        for n, row in enumerate(rows):
            record = self._record(row, shared, params, at, who, context, resolved[n] if resolved else None)
            ids.append(record["id"])
            previous = records.get(record["id"])
            if previous is not None:
                record["first_seen"] = _earliest(previous["first_seen"], record["first_seen"])
                record["last_seen"] = _latest(previous["last_seen"], record["last_seen"])
            records[record["id"]] = record
        outcome = TagOutcome(finding_ids=ids)
        if not records:
            return outcome
        with self._write() as conn:
            self._write_batch(conn, list(records.values()), tag_list, note_text, at, who, outcome)
        return outcome

    def _record(self, row: Mapping[str, Any], shared: dict[str, Any], params, at: str, who: str,
                context: Mapping[str, Any] | None = None, resolved: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The findings-table record for one row (computed before the transaction opens)."""
        if not isinstance(row, Mapping):
            raise CaseError(f"a row must map column names to values, not {type(row).__name__}")
        row = {str(k): v for k, v in row.items()}
        kind = shared["source_kind"]
        fields = identifying_fields(row, kind)
        first, last, desc = _row_times(row)
        if first is None and last is None:
            first, last, desc = resolved_times(resolved)
        steps = list((context or {}).get("steps") or [])
        hosts, agents = machines(row, steps, resolved, (context or {}).get("default_hosts") or ())
        record = {
            "id": _finding_id(kind, (context or {}).get("id_hunt", shared["hunt_uuid"]), shared["query"], row,
                              params, fields),
            **shared,
            "id_basis": "fields" if fields else "row",
            "id_fields": dumps(fields),
            "first_seen": first,
            "last_seen": last,
            "time_desc": desc,
            "summary": _summary(row, fields),
            "row_json": dumps(row),
            "created": at,
            "created_by": who,
            "updated": at,
            "pivot_path": path_text(steps),
            "pivot_steps": dumps(steps),
            "hosts": dumps(hosts),
            "agents": dumps(agents),
        }
        keys = key_values(row, steps, schema.KEY_FIELDS, kind)
        for ecs, column in schema.KEY_FIELDS.items():
            record[column] = display_text(keys[ecs])
        record["host_name"] = ", ".join(hosts) or None
        record["agent_id"] = ", ".join(agents) or None
        return record

    def _write_batch(self, conn, records, tag_list, note_text, at, who, outcome: TagOutcome) -> None:
        """The statements of one tag action (inside its transaction)."""
        ids_json = dumps([r["id"] for r in records])
        existing = {
            fid for (fid,) in conn.execute(
                "SELECT id FROM findings WHERE id IN (SELECT value FROM json_each(?))", (ids_json,)
            )
        }
        had: dict[str, set[str]] = {}
        for fid, tag in conn.execute(
            "SELECT finding_id, tag FROM tags WHERE finding_id IN (SELECT value FROM json_each(?))", (ids_json,)
        ):
            had.setdefault(fid, set()).add(tag)  # keys
        columns = _FINDING_COLUMNS.split(", ")
        updates = ", ".join(_UPDATE_RULES.get(c, f"{c} = excluded.{c}") for c in columns if c not in _KEEP)
        conn.executemany(
            f"INSERT INTO findings({_FINDING_COLUMNS}) VALUES ({', '.join('?' * len(columns))}) "
            f"ON CONFLICT(id) DO UPDATE SET {updates}, "
            "first_seen = CASE WHEN first_seen IS NULL OR excluded.first_seen < first_seen "
            "  THEN coalesce(excluded.first_seen, first_seen) ELSE first_seen END, "
            "last_seen = CASE WHEN last_seen IS NULL OR excluded.last_seen > last_seen "
            "  THEN coalesce(excluded.last_seen, last_seen) ELSE last_seen END, "
            "time_desc = coalesce(time_desc, excluded.time_desc)",
            [tuple(r[c] for c in columns) for r in records],
        )
        self._insert_tags(conn, records, tag_list, at, who)
        audit: list[tuple[str, str | None, dict]] = []
        for record in records:
            fid = record["id"]
            created = fid not in existing
            if created:
                outcome.created += 1
            else:
                outcome.updated += 1
            added = [t for t in tag_list if t.casefold() not in had.get(fid, set())]
            audit.append(("tag", fid, {"created": created, "tags_added": added, "query": record["query"],
                                       "hunt": record["hunt_name"] or record["hunt_uuid"]}))
        if note_text:
            conn.executemany(
                "INSERT INTO notes(finding_id, author, created, text) VALUES (?, ?, ?, ?)",
                [(r["id"], who, at, note_text) for r in records],
            )
            audit += [("note", r["id"], {"text": note_text}) for r in records]
        self._audit(conn, audit, at, who)

    def _insert_tags(self, conn, records, tag_list, at, who) -> None:
        """``tag`` holds the key (casefolded, what lookups compare), ``label`` the tag as typed;
        a tag the finding already has (in any case) keeps its first label."""
        conn.executemany(
            "INSERT OR IGNORE INTO tags(finding_id, tag, label, added, added_by) VALUES (?, ?, ?, ?, ?)",
            [(r["id"], tag.casefold(), tag, at, who) for r in records for tag in tag_list],
        )

    def untag(self, finding_id: str, tag: str) -> bool:
        """Remove one tag from one finding; True if it had it (only then is it audited).

        The finding, its notes and its audit history stay; with no tag left it is no longer
        exported nor shown as a marker on related rows (see :meth:`findings`).
        """
        key = tag_key(tag)
        at, who = now_iso(), current_user()
        with self._write() as conn:
            self._require(conn, finding_id)
            label = conn.execute(f"SELECT {_TAG_LABEL} FROM tags WHERE finding_id = ? AND tag = ?",
                                 (finding_id, key)).fetchone()
            removed = conn.execute("DELETE FROM tags WHERE finding_id = ? AND tag = ?", (finding_id, key)).rowcount
            if removed:
                conn.execute("UPDATE findings SET updated = ? WHERE id = ?", (at, finding_id))
                self._audit(conn, [("untag", finding_id, {"tags_removed": [label[0] if label else key]})], at, who)
        return bool(removed)

    def add_tags(self, finding_id: str, tags: Sequence[str], note: str | None = None) -> list[str]:
        """Add ``tags`` to an existing finding (those it has stay); the labels added."""
        tag_list = normalise_tags(tags)
        if not tag_list:
            raise CaseError("give at least one tag (e.g. suspicious)")
        note_text = clean_text(note).strip() if note else None
        at, who = now_iso(), current_user()
        with self._write() as conn:
            self._require(conn, finding_id)
            had = {t for (t,) in conn.execute("SELECT tag FROM tags WHERE finding_id = ?", (finding_id,))}
            added = [t for t in tag_list if t.casefold() not in had]
            self._insert_tags(conn, [{"id": finding_id}], tag_list, at, who)
            conn.execute("UPDATE findings SET updated = ? WHERE id = ?", (at, finding_id))
            entries: list[tuple[str, str | None, dict]] = [("tag", finding_id, {"created": False, "tags_added": added})]
            if note_text:
                conn.execute("INSERT INTO notes(finding_id, author, created, text) VALUES (?, ?, ?, ?)",
                             (finding_id, who, at, note_text))
                entries.append(("note", finding_id, {"text": note_text}))
            self._audit(conn, entries, at, who)
        return added

    def replace_tags(self, finding_id: str, tags: Sequence[str], note: str | None = None) -> None:
        """Make ``tags`` the finding's only tags (one action: the removals and additions audited)."""
        tag_list = normalise_tags(tags)
        if not tag_list:
            raise CaseError("give at least one tag (e.g. suspicious); x removes tags")
        keep = {t.casefold() for t in tag_list}
        with self._write() as conn:
            self._require(conn, finding_id)
            current = [t for (t,) in conn.execute("SELECT tag FROM tags WHERE finding_id = ?", (finding_id,))]
            for key in current:
                if key not in keep:
                    self.untag(finding_id, key)
            self.add_tags(finding_id, tag_list, note)

    def count_untagged(self) -> int:
        """Findings with no tag left (kept with their notes and history, never exported)."""
        with self._read() as conn:
            return conn.execute(
                "SELECT count(*) FROM findings f WHERE NOT EXISTS (SELECT 1 FROM tags t WHERE t.finding_id = f.id)"
            ).fetchone()[0]

    def add_note(self, finding_id: str, text: str) -> None:
        """Add a note (author: the OS user; time: now, UTC) to a finding."""
        body = clean_text(text or "").strip()
        if not body:
            raise CaseError("a note needs some text")
        at, who = now_iso(), current_user()
        with self._write() as conn:
            self._require(conn, finding_id)
            conn.execute(
                "INSERT INTO notes(finding_id, author, created, text) VALUES (?, ?, ?, ?)",
                (finding_id, who, at, body),
            )
            conn.execute("UPDATE findings SET updated = ? WHERE id = ?", (at, finding_id))
            self._audit(conn, [("note", finding_id, {"text": body})], at, who)

    def set_name(self, name: str) -> None:
        """Rename the case (shown by ``case info`` and the workbench header)."""
        at, who = now_iso(), current_user()
        with self._write() as conn:
            conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('name', ?)", (clean_text(name),))
            self._audit(conn, [("rename", None, {"name": clean_text(name)})], at, who)

    def _require(self, conn: sqlite3.Connection, fid: str) -> None:
        if conn.execute("SELECT 1 FROM findings WHERE id = ?", (fid,)).fetchone() is None:
            raise CaseError(f"no finding {fid!r} in case file {self.path}")

    # ------------------------------------------------------------------ reading
    def resolve_id(self, prefix: str) -> str:
        """The finding whose id is ``prefix`` or starts with it (unique, 4+ characters)."""
        prefix = prefix.strip().lower()
        with self._read() as conn:
            if conn.execute("SELECT 1 FROM findings WHERE id = ?", (prefix,)).fetchone():
                return prefix
            if len(prefix) >= 4:
                hits = [r[0] for r in conn.execute(
                    "SELECT id FROM findings WHERE substr(id, 1, ?) = ? LIMIT 2", (len(prefix), prefix))]
                if len(hits) == 1:
                    return hits[0]
                if len(hits) > 1:
                    raise CaseError(f"finding id {prefix!r} is ambiguous in {self.path}; give more characters")
        raise CaseError(f"no finding {prefix!r} in case file {self.path}")

    def tags_by_finding(self, finding_ids: Iterable[str]) -> dict[str, list[str]]:
        """Tags of each of ``finding_ids`` that has any (one query: for the panes' markers)."""
        out: dict[str, list[str]] = {}
        with self._read() as conn:
            for fid, tag in conn.execute(
                f"SELECT finding_id, {_TAG_LABEL} FROM tags WHERE finding_id IN (SELECT value FROM json_each(?)) "
                "ORDER BY finding_id, tag", (json.dumps(list(finding_ids)),),
            ):
                out.setdefault(fid, []).append(tag)
        return out

    def findings(self, tag: str | None = None, search: str | None = None, *, limit: int | None = None,
                 tagged_only: bool = False) -> list[Finding]:
        """Findings, newest first; only those with ``tag`` / containing ``search`` if given.

        ``search`` is a case-insensitive substring of the id, hunt name, hosts, agents, the
        key fields (paths, command lines), the pivot path, the row (its JSON text), a tag or
        a note. ``tagged_only`` leaves out findings whose last tag was removed.
        """
        where, args = [], []
        if tag:
            where.append("f.id IN (SELECT finding_id FROM tags WHERE tag = ?)")
            args.append(tag_key(tag))
        if tagged_only:
            where.append("EXISTS (SELECT 1 FROM tags t WHERE t.finding_id = f.id)")
        if search:
            haystack = " || ' ' || ".join(
                [f"coalesce(f.{c}, '')" for c in (*schema.KEY_FIELDS.values(), "hunt_name", "pivot_path", "hosts", "agents")]
                + ["f.id", "f.summary", "f.row_json"]
            )
            where.append(
                f"(instr(lower({haystack}), ?) > 0"
                " OR f.id IN (SELECT finding_id FROM notes WHERE instr(lower(text), ?) > 0)"
                " OR f.id IN (SELECT finding_id FROM tags WHERE instr(tag, ?) > 0))"
            )
            args += [search.lower(), search.lower(), search.casefold()]
        sql = f"SELECT {_FINDING_COLUMNS} FROM findings f"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY f.updated DESC, f.id"
        if limit is not None:
            sql += f" LIMIT {int(limit):d}"
        with self._read() as conn:
            found = [self._finding(r) for r in conn.execute(sql, args)]
            self._attach(conn, found)
        return found

    def finding(self, finding_id: str) -> Finding:
        """One finding with its tags and notes; CaseError if there is none with that id."""
        with self._read() as conn:
            row = conn.execute(f"SELECT {_FINDING_COLUMNS} FROM findings f WHERE id = ?", (finding_id,)).fetchone()
            if row is None:
                raise CaseError(f"no finding {finding_id!r} in case file {self.path}")
            found = self._finding(row)
            self._attach(conn, [found])
        return found

    def history(self, finding_id: str | None = None) -> list[AuditEntry]:
        """Audit entries, oldest first: of one finding, or of the whole case."""
        sql = "SELECT id, at, who, action, finding_id, detail FROM audit"
        args: tuple = ()
        if finding_id is not None:
            sql += " WHERE finding_id = ?"
            args = (finding_id,)
        with self._read() as conn:
            return [AuditEntry(i, at, who, act, fid, json.loads(d) if d else {})
                    for i, at, who, act, fid, d in conn.execute(sql + " ORDER BY id", args)]

    def info(self) -> dict[str, Any]:
        """What ``case info`` shows: the file, its metadata and counts."""
        with self._read():
            db = self.db
            meta = {row["key"]: row["value"] for row in db["meta"].rows}
            counts = {t: db[t].count for t in ("findings", "tags", "notes", "audit")}
            by_tag = {r["tag"]: r["n"] for r in db.query(
                f"SELECT min({_TAG_LABEL}) AS tag, count(*) AS n FROM tags GROUP BY tag ORDER BY n DESC, tag")}
            journal = db.journal_mode
        return {"path": str(self.path), **meta, "journal_mode": journal, "counts": counts, "tags": by_tag}

    @property
    def name(self) -> str:
        with self._read() as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'name'").fetchone()
        return row[0] if row else self.path.stem

    def _finding(self, r: sqlite3.Row | tuple) -> Finding:
        (fid, kind, source, hunt_uuid, hunt_name, mitre, query, params, basis, id_fields,
         first, last, desc, *rest) = r
        keys = rest[: len(schema.KEY_FIELDS)]
        summary, row_json, created, created_by, updated, pivot_path, pivot_steps, hosts, agents = rest[len(schema.KEY_FIELDS):]
        return Finding(
            id=fid, source_kind=kind, source=source or "", hunt_uuid=hunt_uuid, hunt_name=hunt_name,
            mitre=json.loads(mitre) if mitre else [], query=query,
            params=json.loads(params) if params else {}, id_basis=basis,
            id_fields=json.loads(id_fields) if id_fields else [], first_seen=first, last_seen=last,
            time_desc=desc, key=dict(zip(schema.KEY_FIELDS, keys)), summary=summary or "",
            row=json.loads(row_json), created=created, created_by=created_by, updated=updated,
            pivot_path=pivot_path or "", pivot_steps=loads_list(pivot_steps),
            hosts=[str(h) for h in loads_list(hosts)], agents=[str(a) for a in loads_list(agents)],
        )

    def _attach(self, conn: sqlite3.Connection, found: list[Finding]) -> None:
        """Fill in tags and notes (two queries, not two per finding)."""
        if not found:
            return
        by_id = {f.id: f for f in found}
        ids = json.dumps(list(by_id))
        for fid, tag in conn.execute(
            f"SELECT finding_id, {_TAG_LABEL} FROM tags WHERE finding_id IN (SELECT value FROM json_each(?)) ORDER BY tag", (ids,)
        ):
            by_id[fid].tags.append(tag)
        for nid, fid, author, created, text in conn.execute(
            "SELECT id, finding_id, author, created, text FROM notes "
            "WHERE finding_id IN (SELECT value FROM json_each(?)) ORDER BY id", (ids,)
        ):
            by_id[fid].notes.append(Note(nid, author or "", created, text))

    def export(self, out: Path | str | IO[str], *, fmt: str = "csv", tags: Sequence[str] = (),
               raw: bool = False) -> int:
        """Write the tagged findings to ``out`` (a path, ``-`` for stdout, or an open text
        stream); the number of rows."""
        from casefile.export import export_case

        with self._read() as conn:
            return export_case(conn, self.path, out, fmt=fmt, tags=normalise_tags(tags), raw=raw)


def _earliest(a: str | None, b: str | None) -> str | None:
    return min(x for x in (a, b) if x) if (a or b) else None


def _latest(a: str | None, b: str | None) -> str | None:
    return max(x for x in (a, b) if x) if (a or b) else None


def busy_timeout_default() -> float:
    """Seconds a writer waits for another process's lock: ``$HUNTBENCH_CASE_BUSY_TIMEOUT`` or 5."""
    text = os.environ.get(BUSY_ENV)
    if not text:
        return DEFAULT_BUSY_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        raise CaseError(f"${BUSY_ENV}={text!r} is not a number of seconds") from None
    return max(value, 0.0)


def open_case(
    path: str | Path | None = None,
    *,
    create: bool = True,
    name: str | None = None,
    busy_timeout: float | None = None,
    readonly: bool = False,
) -> Case:
    """Open (creating if allowed) the case file at ``path`` (see :func:`resolve_case_path`).

    Refuses -- never altering them -- a file that is not SQLite, a SQLite database that is
    not a huntbench case, and a case written by a newer huntbench. ``readonly`` is for
    commands that only read (list, show, info, export): see :func:`_connect_readonly`.
    Anything else writes, so it only opens a case that is yours (casefile/ownership.py).
    """
    target = resolve_case_path(path)
    timeout = busy_timeout_default() if busy_timeout is None else busy_timeout
    is_new = check_file(target, create=create and not readonly)
    if readonly:
        if is_new:
            raise CaseError(f"case file {target} is empty: nothing has been tagged into it yet")
        conn = _connect_readonly(target, timeout)
        held: ownership.Claim | None = None
    else:
        if is_new:
            create_file(target)
        held = ownership.claim(target)
        with sqlite_errors(target, timeout):
            conn = sqlite3.connect(held.real, timeout=timeout, isolation_level=None, check_same_thread=False)
    try:
        with sqlite_errors(target, timeout):
            if held is None:
                _check_identity(conn, target, readonly=True)
            else:
                _identity(conn)  # the first read: SQLite now has the file (and a WAL's side files) open
                ownership.confirm(held)
                _prepare(conn, target, is_new, name, timeout)
                ownership.confirm(held)  # side files a new case's first write created
    except BaseException:
        conn.close()
        raise
    return Case(target, conn, timeout)


def _connect_readonly(target: Path, timeout: float) -> sqlite3.Connection:
    """A connection that cannot write the case file and leaves nothing behind.

    SQLite's ``mode=ro`` still creates ``-wal`` and ``-shm`` beside a WAL database when they
    are missing (no writer has it open) and the folder lets it; created by someone other
    than the file's owner (``case list`` run by a colleague or by root), they lock the
    owner out of their own case. So when they are missing and we do not own the file, or
    cannot create them, the file is opened ``immutable``: no side files and no locks, which
    is right because no writer has it open. Otherwise ``mode=ro`` shares the writer's
    side files as any reader does.
    """
    from urllib.parse import quote

    uri = f"file:{quote(str(target))}?mode=ro"
    if not side_files_present(target):
        owner = target.stat().st_uid == os.geteuid() if hasattr(os, "geteuid") else True
        if not owner or not os.access(target.parent, os.W_OK):
            uri += "&immutable=1"
    with sqlite_errors(target, timeout):
        return sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None, check_same_thread=False)


def _check_identity(conn: sqlite3.Connection, target: Path, *, readonly: bool = False) -> tuple[int, int]:
    """Refuse what is not ours (another application's id, or an id-less database with
    content or a version of its own) and a case newer than this huntbench; (id, version).

    A version is only read as ours when the application id is: ``user_version`` 7 in
    somebody else's database says nothing about huntbench's schema.
    """
    app_id, version, empty = _header(conn)
    if app_id != schema.APPLICATION_ID:
        if app_id != 0:
            raise CaseError(f"{target} is not a huntbench case file (application_id {app_id:#010x}, "
                            f"huntbench's is {schema.APPLICATION_ID:#010x}); refusing to touch it")
        if version != 0:
            raise CaseError(f"{target} is not a huntbench case file (no huntbench application_id, "
                            f"user_version {version}); refusing to touch it")
        if not empty:
            raise CaseError(f"{target} is a SQLite database but not a huntbench case file "
                            f"(no huntbench application_id); refusing to touch it")
        if readonly:
            raise CaseError(f"case file {target} is empty: nothing has been tagged into it yet")
        return app_id, version
    if version > schema.current_version():
        raise CaseError(
            f"case file {target} has schema version {version}, newer than this huntbench reads "
            f"(up to {schema.current_version()}); upgrade huntbench to open it"
        )
    if readonly and version < schema.current_version():
        raise CaseError(
            f"case file {target} has schema version {version}, older than this huntbench's "
            f"{schema.current_version()}; run a command that writes (case tag, case note) once to upgrade it"
        )
    return app_id, version


def _prepare(conn: sqlite3.Connection, target: Path, is_new: bool, name: str | None, timeout: float) -> None:
    """Check the file is ours, upgrade its schema if needed, switch on WAL."""
    app_id, version = _check_identity(conn, target)
    conn.execute("PRAGMA foreign_keys = ON")
    if version < schema.current_version() or app_id != schema.APPLICATION_ID:
        conn.execute("BEGIN IMMEDIATE")
        try:
            app_id, version = _check_identity(conn, target)  # another process may have created it meanwhile
            if app_id != schema.APPLICATION_ID:
                conn.execute(f"PRAGMA application_id = {schema.APPLICATION_ID:d}")
                version = 0
            if version < schema.current_version():
                created = version == 0
                schema.migrate(conn, version)
                if created:  # who and when are in meta; the audit log is for changes to findings
                    at, who = now_iso(), current_user()
                    conn.executemany("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", [
                        ("name", clean_text(name) if name else target.stem), ("created", at),
                        ("created_by", who), ("tool_version", tool_version()),
                    ])
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    _switch_to_wal(conn, timeout)
    conn.execute("PRAGMA synchronous = FULL")  # a committed tag survives a power cut too


def _switch_to_wal(conn: sqlite3.Connection, timeout: float) -> None:
    """Put a new case into WAL mode, waiting up to ``timeout`` for other writers.

    SQLite's switch does not wait: while another huntbench holds the write lock (creating
    the same new case), it fails at once with "database is locked". So wait here as the
    busy timeout would; another process may have switched it meanwhile.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            busy = getattr(exc, "sqlite_errorname", "") in {"SQLITE_BUSY", "SQLITE_LOCKED"}
            if not busy or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def _identity(conn: sqlite3.Connection) -> tuple[int, int]:
    return (conn.execute("PRAGMA application_id").fetchone()[0], conn.execute("PRAGMA user_version").fetchone()[0])


def _header(conn: sqlite3.Connection) -> tuple[int, int, bool]:
    """(application id, user version, no tables yet), read as one snapshot.

    Read statement by statement, another huntbench creating the same case can commit in
    between: the id still 0 but tables already there reads as somebody else's database.
    """
    own = not conn.in_transaction  # inside BEGIN IMMEDIATE, the reads are one snapshot already
    if own:
        conn.execute("BEGIN")
    try:
        return (*_identity(conn), _no_tables(conn))
    finally:
        if own and conn.in_transaction:  # (SQLite may have ended it on an error; the error is what to report)
            conn.execute("ROLLBACK")  # it only read


def _no_tables(conn: sqlite3.Connection) -> bool:
    return conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
