"""LIKE and RLIKE patterns of ES|QL, translated to what DuckDB runs.

Sources followed: Elasticsearch's ES|QL docs for LIKE/RLIKE ("LIKE: ``*`` any sequence,
``?`` one character, whole string, case-sensitive; ``\\`` escapes ``*``, ``?`` and ``\\``";
"RLIKE: Lucene regular expression syntax", anchored to the whole string) and Lucene's
``RegExp`` javadoc for the regex syntax (``.``, ``?*+``, ``{n,m}``, ``|``, ``()``, ``[]``,
``"literal"``, ``\\`` escapes any character, ``@`` any string, ``#`` the empty language;
``^`` and ``$`` are ordinary characters).

A LIKE pattern becomes a SQL ``LIKE`` pattern (DuckDB plans prefix/suffix/contains for it);
an RLIKE pattern becomes an RE2 regex for ``regexp_full_match``.
"""

from __future__ import annotations


def like_tokens(pattern: str) -> list[tuple[str, str]]:
    """Split an ES|QL LIKE pattern into ("any"|"one"|"lit", char) tokens.

    Raises ValueError (the caller adds the position) on a backslash that does not escape
    ``*``, ``?`` or ``\\`` — Elasticsearch rejects those patterns.
    """
    out: list[tuple[str, str]] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in "*?\\":
                raise ValueError(
                    f"Invalid pattern for LIKE [{pattern}]: [Invalid sequence - escape character "
                    "is not followed by special wildcard char]"
                )
            out.append(("lit", pattern[i + 1]))
            i += 2
            continue
        if ch == "*":
            out.append(("any", ch))
        elif ch == "?":
            out.append(("one", ch))
        else:
            out.append(("lit", ch))
        i += 1
    return out


def like_to_sql(pattern: str) -> tuple[str, bool]:
    """An ES|QL LIKE pattern as a SQL LIKE pattern; the flag says whether it needs
    ``ESCAPE '\\'`` (only when the text holds a literal ``%``, ``_`` or ``\\``)."""
    parts: list[str] = []
    needs_escape = False
    for kind, ch in like_tokens(pattern):
        if kind == "any":
            parts.append("%")
        elif kind == "one":
            parts.append("_")
        elif ch in "%_\\":
            parts.append("\\" + ch)
            needs_escape = True
        else:
            parts.append(ch)
    return "".join(parts), needs_escape


def like_literal(pattern: str) -> str | None:
    """The plain string a wildcard-free LIKE pattern equals, else None (then ``=`` is used)."""
    tokens = like_tokens(pattern)
    if any(kind != "lit" for kind, _ in tokens):
        return None
    return "".join(ch for _, ch in tokens)


_RE2_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ ")


def _re2_literal(ch: str) -> str:
    if ch in _RE2_SAFE or ord(ch) > 127:
        return ch
    if ord(ch) < 32 or ord(ch) == 127:
        return f"\\x{{{ord(ch):x}}}"
    return "\\" + ch


def lucene_to_re2(pattern: str) -> str:
    """Translate a Lucene regular expression into an anchored RE2 regex.

    Lucene allows stacked repetitions (``a**``, ``a{2}+``) which RE2 rejects; the repeated
    part is wrapped in a group first. Unsupported Lucene operators (``~`` complement, ``&``
    intersection, ``<n-m>`` numeric intervals) raise ValueError rather than silently
    matching something else; so does anything RE2 itself refuses (checked by DuckDB).
    """
    out: list[str] = []
    i = 0
    n = len(pattern)
    opens: list[int] = []
    atom = 0            # index in ``out`` where the latest atom starts
    repeated = False    # the latest thing emitted was a repetition operator

    def emit_atom(text: str) -> None:
        nonlocal atom, repeated
        atom = len(out)
        out.append(text)
        repeated = False

    def emit_repeat(text: str) -> None:
        nonlocal repeated
        if not out or atom >= len(out) or out[-1] in ("|", "(?:"):
            raise ValueError(f"invalid regular expression [{pattern}]: nothing to repeat")
        if repeated:
            out[atom:] = ["(?:" + "".join(out[atom:]) + ")"]
        out.append(text)
        repeated = True

    while i < n:
        ch = pattern[i]
        if ch == "\\":
            if i + 1 >= n:
                raise ValueError(f"invalid regular expression [{pattern}]: trailing backslash")
            emit_atom(_re2_literal(pattern[i + 1]))
            i += 2
            continue
        if ch == '"':
            end = pattern.find('"', i + 1)
            if end < 0:
                raise ValueError(f"invalid regular expression [{pattern}]: unterminated \"")
            emit_atom("(?:" + "".join(_re2_literal(c) for c in pattern[i + 1:end]) + ")")
            i = end + 1
            continue
        if ch == "[":
            j, cls = _char_class(pattern, i)
            emit_atom(cls)
            i = j
            continue
        if ch == "{":
            end = pattern.find("}", i)
            body = pattern[i + 1:end] if end > 0 else ""
            if end < 0 or not body or not all(c.isdigit() or c == "," for c in body) or body.count(",") > 1 or body[0] == ",":
                raise ValueError(f"invalid regular expression [{pattern}]: bad repetition")
            emit_repeat("{" + body + "}")
            i = end + 1
            continue
        if ch == "(":
            opens.append(len(out))
            out.append("(?:")
            repeated = False
        elif ch == ")":
            if not opens:
                raise ValueError(f"invalid regular expression [{pattern}]: unbalanced )")
            start = opens.pop()
            out.append(")")
            atom, repeated = start, False
        elif ch == "|":
            out.append("|")
            repeated = False
        elif ch in "*+?":
            emit_repeat(ch)
        elif ch == ".":
            emit_atom(".")
        elif ch == "@":
            emit_atom("(?:.*)")
        elif ch == "#":
            emit_atom("[^\\x00-\\x{10FFFF}]")
        elif ch in "~&<":
            raise ValueError(
                f"RLIKE pattern [{pattern}] uses the Lucene operator [{ch}], which huntbench does not support"
            )
        else:
            emit_atom(_re2_literal(ch))
        i += 1
    if opens:
        raise ValueError(f"invalid regular expression [{pattern}]: unbalanced (")
    regex = "(?s)^(?:" + "".join(out) + ")$"
    _check_re2(pattern, regex)
    return regex


def _check_re2(pattern: str, regex: str) -> None:
    """Let RE2 (through DuckDB) reject what it cannot compile, as a query error."""
    import duckdb

    con = duckdb.connect()  # a private one: the module-level default is shared across threads
    try:
        con.execute("SELECT regexp_full_match('', $1)", [regex]).fetchall()
    except duckdb.Error as exc:
        reason = str(exc).split(":", 1)[-1].strip()
        raise ValueError(f"invalid regular expression [{pattern}]: {reason}") from None
    finally:
        con.close()


def _char_class(pattern: str, start: int) -> tuple[int, str]:
    """``[...]`` from ``start``; returns the index after ``]`` and the RE2 class."""
    i = start + 1
    parts = ["["]
    if i < len(pattern) and pattern[i] == "^":
        parts.append("^")
        i += 1
    first = True
    while i < len(pattern):
        ch = pattern[i]
        if ch == "]" and not first:
            parts.append("]")
            return i + 1, "".join(parts)
        if ch == "\\" and i + 1 < len(pattern):
            parts.append(_re2_literal(pattern[i + 1]))
            i += 2
        elif ch == "-" and not first and i + 1 < len(pattern) and pattern[i + 1] != "]":
            parts.append("-")
            i += 1
        else:
            parts.append(_re2_literal(ch))
            i += 1
        first = False
    raise ValueError(f"invalid regular expression [{pattern}]: unterminated [")
