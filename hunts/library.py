"""Load hunts written in Elastic's hunting TOML format (``detection-rules/hunting``).

A hunt's ``language`` list covers the whole file, so each query's language is told by
its first word: ``from`` is ES|QL, ``select``/``with`` is osquery SQL, anything else
(EQL's ``sequence``, ``process where`` ...) is listed but not supported. Real files carry
small flaws (a stray ``sql`` line before ``from``, upper-case keywords, trailing blanks);
those are tolerated. A file that cannot be read is reported and skipped, never fatal.

huntbench's pivots live in an extra ``[huntbench.pivots.ID]`` table that Elastic's own
loader ignores; see docs/hunts.md, "Declaring pivots".
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Iterable

import platformdirs

from collectors.interface import Language

ESQL = Language.ESQL
OSQUERY = Language.OSQUERY

_FIRST_WORD = re.compile(r"[A-Za-z_]+")
_STRAY_LANGUAGE_LINE = re.compile(r"\A\s*(?:sql|esql|es\|ql|eql)\s*\n", re.IGNORECASE)
_LINE_COMMENT = re.compile(r"(//|--)[^\n]*")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_FROM_CLAUSE = re.compile(r"\A\s*from\s+(.*?)(?:\s+metadata\s+[^|]*)?(?:\||\Z)", re.IGNORECASE | re.DOTALL)


@dataclass
class HuntQuery:
    """One entry of a hunt's ``query`` list."""

    index: int
    """Position in the hunt, from 0 (what ``hunt run`` prints as ``query``)."""
    text: str
    """The text to run: as written, minus a stray language line and trailing blanks."""
    language: str
    """ES|QL, osquery SQL, or what it looks like (EQL, unknown)."""

    @property
    def supported(self) -> bool:
        return self.language in (ESQL, OSQUERY)

    @property
    def index_patterns(self) -> list[str]:
        """The ``FROM`` patterns of an ES|QL query (``logs-endpoint.events.file-*``)."""
        if self.language != ESQL:
            return []
        match = _FROM_CLAUSE.match(_strip_comments(self.text))
        if not match:
            return []
        return [p.strip().strip('"') for p in match.group(1).split(",") if p.strip()]

    @property
    def title(self) -> str:
        """A short label for a pane: ``Q1 ES|QL logs-endpoint.events.file-*``."""
        where = ", ".join(self.index_patterns)
        return f"Q{self.index + 1} {self.language}" + (f" {where}" if where else "")


@dataclass
class Pivot:
    """What Enter on a row leads to: an ES|QL query whose ``?params`` come from the row."""

    id: str
    label: str
    sources: list[str]
    """Panes it applies to: ``query:N`` or ``pivot:ID``."""
    params: dict[str, str]
    """ES|QL parameter name -> column of the selected row."""
    query: str

    def applies_to(self, pane: str) -> bool:
        return pane in self.sources


@dataclass
class Hunt:
    uuid: str
    name: str
    description: str
    queries: list[HuntQuery]
    path: Path
    author: str = ""
    integration: list[str] = field(default_factory=list)
    languages: list[str] = field(default_factory=list)
    license: str = ""
    notes: list[str] = field(default_factory=list)
    mitre: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    pivots: list[Pivot] = field(default_factory=list)
    bundled: bool = False
    shares_uuid: bool = False
    """Another, different hunt of the library has the same uuid (Elastic's library has such
    pairs): the uuid alone does not name this hunt, its name or file does."""

    @property
    def case_key(self) -> str:
        """What the case file records as this hunt (and finding ids are made from): the uuid,
        with the file name added when another hunt shares the uuid, so the two hunts'
        findings never get the same id."""
        return f"{self.uuid}/{self.path.name}" if self.shares_uuid else self.uuid

    def same_hunt(self, other: "Hunt") -> bool:
        """A true duplicate (the bundled copy of a hunt that is also in ``--hunts``): same
        uuid, name and queries."""
        return (self.uuid, self.name.strip(), [q.text for q in self.queries]) == (
            other.uuid, other.name.strip(), [q.text for q in other.queries])

    @property
    def esql_queries(self) -> list[HuntQuery]:
        return [q for q in self.queries if q.language == ESQL]

    @property
    def lead_esql(self) -> str | None:
        """The hunt's first ES|QL query, if any: the workbench runs its pane first."""
        queries = self.esql_queries
        return queries[0].text if queries else None

    @property
    def osquery_queries(self) -> list[HuntQuery]:
        return [q for q in self.queries if q.language == OSQUERY]

    def pivots_from(self, pane: str) -> list[Pivot]:
        """Pivots declared for a pane (``query:0``, ``pivot:agents_for_file``)."""
        return [p for p in self.pivots if p.applies_to(pane)]

    def to_summary(self) -> dict:
        """What ``hunt list --format json`` prints for this hunt."""
        return {
            "uuid": self.uuid,
            "name": self.name,
            "mitre": self.mitre,
            "languages": self.languages,
            "integration": self.integration,
            "path": str(self.path),
            "bundled": self.bundled,
            "queries": [
                {"index": q.index, "language": q.language, "supported": q.supported}
                for q in self.queries
            ],
            "pivots": [p.id for p in self.pivots],
        }


@dataclass
class LoadProblem:
    """A hunt file that was skipped, and why."""

    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def _strip_comments(text: str) -> str:
    return _LINE_COMMENT.sub("", _BLOCK_COMMENT.sub("", text))


def query_language(text: str) -> str:
    """Tell a query's language by its first word (comments and a stray ``sql`` line skipped)."""
    body = _strip_comments(_STRAY_LANGUAGE_LINE.sub("", text, count=1))
    match = _FIRST_WORD.search(body)
    word = match.group(0).lower() if match else ""
    if word == "from":
        return ESQL
    if word in ("select", "with"):
        return OSQUERY
    if word in ("sequence", "sample") or re.match(r"\A\s*[a-z_]+\s+where\b", body, re.IGNORECASE):
        return "EQL"
    return "unknown"


def clean_query(text: str) -> str:
    """The runnable text: a stray first line naming the language removed, trailing blanks cut."""
    text = _STRAY_LANGUAGE_LINE.sub("", text, count=1)
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    return "\n".join(lines).strip()


def _string_list(value, what: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError(f"{what} must be a string or a list of strings")


def _parse_pivots(table: dict) -> list[Pivot]:
    pivots = []
    for pid, spec in (table or {}).items():
        if not isinstance(spec, dict):
            raise ValueError(f"huntbench.pivots.{pid} must be a table")
        missing = [k for k in ("from", "query") if k not in spec]
        if missing:
            raise ValueError(f"huntbench.pivots.{pid} lacks {', '.join(missing)}")
        params = spec.get("params", {})
        if not isinstance(params, dict) or not all(isinstance(v, str) for v in params.values()):
            raise ValueError(f"huntbench.pivots.{pid}.params must map parameter names to column names")
        pivots.append(
            Pivot(
                id=pid,
                label=str(spec.get("label", pid)),
                sources=_string_list(spec["from"], f"huntbench.pivots.{pid}.from"),
                params=dict(params),
                query=clean_query(str(spec["query"])),
            )
        )
    return pivots


def parse_hunt(text: str, path: Path, bundled: bool = False) -> Hunt:
    """Parse one hunting TOML document. Raises ValueError with a reason a person can act on."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not valid TOML: {exc}") from None
    hunt = doc.get("hunt")
    if not isinstance(hunt, dict):
        raise ValueError("no [hunt] table")
    missing = [k for k in ("uuid", "name", "query") if k not in hunt]
    if missing:
        raise ValueError(f"[hunt] lacks {', '.join(missing)}")
    raw_queries = _string_list(hunt["query"], "query")
    if not raw_queries:
        raise ValueError("[hunt] query list is empty")
    queries = [
        HuntQuery(index=i, text=clean_query(q), language=query_language(q))
        for i, q in enumerate(raw_queries)
    ]
    extra = doc.get("huntbench", {})
    return Hunt(
        uuid=str(hunt["uuid"]),
        name=str(hunt["name"]),
        description=str(hunt.get("description", "")).strip(),
        queries=queries,
        path=path,
        author=str(hunt.get("author", "")),
        integration=_string_list(hunt.get("integration"), "integration"),
        languages=_string_list(hunt.get("language"), "language"),
        license=str(hunt.get("license", "")),
        notes=_string_list(hunt.get("notes"), "notes"),
        mitre=_string_list(hunt.get("mitre"), "mitre"),
        references=_string_list(hunt.get("references"), "references"),
        pivots=_parse_pivots(extra.get("pivots", {}) if isinstance(extra, dict) else {}),
        bundled=bundled,
    )


def user_hunts_dir() -> Path:
    """``$XDG_CONFIG_HOME/huntbench/hunts``: hunts a user drops in are always listed."""
    return Path(platformdirs.user_config_dir("huntbench")) / "hunts"


def bundled_hunt_files() -> list[Path]:
    root = resources.files("hunts") / "builtin"
    return sorted(Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml"))


SEED_UUID = "1d7cae97-2dea-4f01-b04c-85fa4bd991d0"


@dataclass
class HuntLibrary:
    hunts: list[Hunt]
    problems: list[LoadProblem]
    """Files that were skipped."""
    notices: list[LoadProblem] = field(default_factory=list)
    """Loaded, but worth a word (two different hunts sharing a uuid)."""

    def messages(self) -> list[str]:
        """Every warning about the library, one line each, as the CLI prints them."""
        return [f"skipped {p}" for p in self.problems] + [str(n) for n in self.notices]

    @property
    def default(self) -> Hunt:
        """The seed hunt, "Persistence via DPKG/RPM Package" (the bundled one, even if a
        user's hunt reuses its uuid)."""
        seeds = [h for h in self.hunts if h.uuid == SEED_UUID]
        return next((h for h in seeds if h.bundled), seeds[0] if seeds else self.find(SEED_UUID))

    def find(self, key: str) -> Hunt:
        """A hunt by uuid, exact name (case-insensitive), file name (with or without
        ``.toml``, as Elastic's hunting index links them), file path, a uuid prefix, or any
        substring of the name that only one hunt has (as the workbench's picker matches).
        KeyError, listing the candidates, when the key names several hunts or none."""
        lowered = key.strip().lower()
        if not lowered:
            raise KeyError("an empty hunt name (try: huntbench hunt list)")
        by_name = [h for h in self.hunts if lowered in (h.name.lower(), h.path.stem.lower(), h.path.name.lower())]
        if len(by_name) == 1:
            return by_name[0]
        by_uuid = [h for h in self.hunts if h.uuid.lower() == lowered]
        if len(by_uuid) == 1:
            return by_uuid[0]
        if by_name or by_uuid:
            raise KeyError(_ambiguous(key, by_name or by_uuid))
        as_path = Path(key).expanduser()
        if as_path.is_file():
            resolved = as_path.resolve()
            for hunt in self.hunts:
                if hunt.path.resolve() == resolved:
                    return hunt
            return parse_hunt(as_path.read_text(encoding="utf-8"), as_path)
        for matches in ([h for h in self.hunts if h.uuid.lower().startswith(lowered)],
                        [h for h in self.hunts if lowered in h.name.lower()]):
            if len(matches) == 1:
                return matches[0]
            if matches:
                raise KeyError(_ambiguous(key, matches))
        raise KeyError(f"no hunt named {key!r} (try: huntbench hunt list)")


def _ambiguous(key: str, hunts: list[Hunt]) -> str:
    listed = "; ".join(f"{h.name} ({h.path.name}, {h.uuid[:8]})" for h in hunts[:8])
    more = f"; and {len(hunts) - 8} more" if len(hunts) > 8 else ""
    return f"hunt {key!r} is ambiguous, {len(hunts)} hunts match: {listed}{more}"


def _toml_files(folder: Path) -> Iterable[Path]:
    return sorted(p for p in folder.rglob("*.toml") if p.is_file())


def load_library(extra_dirs: Iterable[Path | str] = (), include_user_dir: bool = True) -> HuntLibrary:
    """The bundled hunts, the user's hunts folder, then each ``--hunts DIR`` (recursively).

    A uuid names one hunt, but real libraries break that (Elastic's has pairs of different
    macOS hunts sharing one). So: a true duplicate (same uuid, name and queries: the bundled
    copy of a hunt that is also in ``--hunts``) is listed once, the user's copy winning over
    the bundled one; two *different* hunts with one uuid are both loaded, reachable by name
    and file, with one notice per uuid.
    """
    hunts: list[Hunt] = []
    problems: list[LoadProblem] = []
    notices: list[LoadProblem] = []
    by_uuid: dict[str, list[int]] = {}

    def add(path: Path, bundled: bool) -> None:
        try:
            hunt = parse_hunt(path.read_text(encoding="utf-8"), path, bundled=bundled)
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(LoadProblem(path, f"cannot read: {exc}"))
            return
        except ValueError as exc:
            problems.append(LoadProblem(path, str(exc)))
            return
        slots = by_uuid.setdefault(hunt.uuid, [])
        for slot in slots:
            loaded = hunts[slot]
            if loaded.path.resolve() == path.resolve():
                return
            if loaded.same_hunt(hunt):
                if loaded.bundled and not bundled:
                    hunts[slot] = hunt  # the user's copy wins
                return
        slots.append(len(hunts))
        hunts.append(hunt)

    for path in bundled_hunt_files():
        add(path, bundled=True)
    folders = [user_hunts_dir()] if include_user_dir else []
    folders += [Path(d).expanduser() for d in extra_dirs]
    for folder in folders:
        if folder.is_file():
            add(folder, bundled=False)
        elif folder.is_dir():
            for path in _toml_files(folder):
                add(path, bundled=False)
        elif folder != user_hunts_dir():
            problems.append(LoadProblem(folder, "no such file or folder"))
    for uuid, slots in by_uuid.items():
        if len(slots) > 1:
            sharing = [hunts[i] for i in slots]
            for hunt in sharing:
                hunt.shares_uuid = True
            names = "; ".join(f"{h.name!r} ({h.path})" for h in sharing)
            notices.append(LoadProblem(sharing[0].path, f"uuid {uuid} names {len(sharing)} different hunts, "
                                       f"all loaded (open them by name or file): {names}"))
    return HuntLibrary(hunts, problems, notices)
