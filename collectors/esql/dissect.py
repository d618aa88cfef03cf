"""DISSECT patterns -> an RE2 regular expression plus how to assemble the output columns.

Semantics from Elasticsearch's dissect (``libs/dissect`` DissectParser, and the "Dissect
processor" / ES|QL DISSECT docs):

- ``%{key}`` takes the text up to the *first* occurrence of the delimiter that follows it;
  the last key takes the rest of the input; text before the first key must match exactly;
- ``%{}`` and ``%{?name}`` match but produce no column;
- ``%{+key}`` appends to an earlier ``key`` (joined with APPEND_SEPARATOR, default empty),
  ``%{+key/2}`` sets the append order (default: the occurrence number);
- ``%{key->}`` (right padding) also skips repeats of the delimiter that follows;
- reference keys ``%{*key}`` / ``%{&key}`` are rejected, as ES|QL does
  ("Reference keys not supported in dissect patterns");
- the output columns are keywords, in the order the keys first appear; a non-matching input
  gives null in every column.

The whole thing is a regex: ``^`` + literal prefix, each key ``(.*?)`` followed by its
literal delimiter (``(?:delim)+`` after ``->``), the last key ``(.*)`` then ``$``. Lazy
groups reproduce "up to the first occurrence". It differs from Elasticsearch only where
dissect gives up without backtracking but a regex finds another split (a delimiter that
occurs only *inside* an earlier value); such inputs are rare in logs and are documented.

Use: ``regexp_extract(s, regex, group_names)``; column ``f`` is the captures listed in
``assembly[f]`` joined with ``append_separator`` (one capture for ordinary keys).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache


class DissectError(ValueError):
    """The pattern is not a valid dissect pattern."""


_KEY = re.compile(r"%\{(.*?)\}")
_RE2_SPECIAL = set("\\.^$|?*+()[]{}")


def _literal(text: str) -> str:
    """``text`` as an RE2 literal (escape only what RE2 treats as syntax)."""
    return "".join("\\" + c if c in _RE2_SPECIAL else c for c in text)


@dataclass(frozen=True)
class DissectPattern:
    """A compiled dissect pattern.

    ``regex``: RE2 syntax, anchored at both ends; capture group i (1-based) is named
    ``group_names[i-1]`` (unique names ``g1``, ``g2``... so DuckDB accepts them).
    ``fields``: output column names in order. ``assembly``: for each field, the capture
    names whose values are joined with ``append_separator`` to make it.
    """

    pattern: str
    regex: str
    group_names: tuple[str, ...]
    fields: tuple[str, ...]
    assembly: dict[str, tuple[str, ...]]
    append_separator: str

    def match(self, text: str) -> dict[str, str] | None:
        """Python-side reference evaluation (tests and tiny inputs): field -> value."""
        m = re.fullmatch(self.regex, text)
        if m is None:
            return None
        groups = dict(zip(self.group_names, m.groups()))
        return {
            f: self.append_separator.join(groups[g] for g in parts)
            for f, parts in self.assembly.items()
        }


@dataclass
class _Key:
    name: str
    skip: bool
    append: bool
    order: int
    pad: bool


def _parse_key(body: str) -> _Key:
    pad = body.endswith("->")
    if pad:
        body = body[:-2]
    if body.startswith(("*", "&")):
        raise DissectError(f"Reference keys not supported in dissect patterns: [%{{*{body[1:]}}}]")
    skip = body == "" or body.startswith("?")
    append = body.startswith("+")
    name = body[1:] if (append or body.startswith("?")) else body
    order = -1
    if append and "/" in name:
        name, _, raw_order = name.rpartition("/")
        if not raw_order.isdigit():
            raise DissectError(f"Invalid append order [{raw_order}]")
        order = int(raw_order)
    if append and not name:
        raise DissectError("append key needs a name")
    return _Key(name=name, skip=skip, append=append, order=order, pad=pad)


@lru_cache(maxsize=256)
def compile_dissect(pattern: str, append_separator: str | None = None) -> DissectPattern:
    """Compile an ES|QL DISSECT pattern. Raises DissectError when it is invalid."""
    matches = list(_KEY.finditer(pattern))
    if not matches:
        raise DissectError("Unable to find any keys or delimiters")
    parts = ["(?s)^", _literal(pattern[: matches[0].start()])]
    groups: list[str] = []
    fields: list[str] = []
    appends: dict[str, list[tuple[int, int, str]]] = {}
    for i, m in enumerate(matches):
        key = _parse_key(m.group(1))
        end = matches[i + 1].start() if i + 1 < len(matches) else len(pattern)
        delimiter = pattern[m.end() : end]
        last = i + 1 == len(matches)
        if key.skip:
            capture = "(?:.*)" if last and not delimiter else "(?:.*?)"
        else:
            group = f"g{len(groups) + 1}"
            groups.append(group)
            capture = "(.*)" if last and not delimiter else "(.*?)"
            if key.name not in appends:
                appends[key.name] = []
                fields.append(key.name)
            # Without "/n" an append key's order is its occurrence number: the docs' example
            # %{+name/2} %{+name/4} %{+name} %{+name/1} -> "schmidt,john,jingleheimer,jacob"
            seen = len(appends[key.name])
            order = key.order if key.order >= 0 else seen + 1
            appends[key.name].append((order, seen, group))
        parts.append(capture)
        if delimiter:
            lit = _literal(delimiter)
            parts.append(f"(?:{lit})+" if key.pad else lit)
    parts.append("$")
    assembly = {
        f: tuple(g for _, _, g in sorted(appends[f], key=lambda t: (t[0], t[1]))) for f in fields
    }
    return DissectPattern(
        pattern=pattern,
        regex="".join(parts),
        group_names=tuple(groups),
        fields=tuple(fields),
        assembly=assembly,
        append_separator=append_separator or "",
    )
