"""The ES|QL tokenizer: a modal lexer that mirrors Elasticsearch's ANTLR lexer.

Why a hand-written lexer under the lark grammar: ES|QL is lexed in *modes*. After ``FROM``
the text ``logs-endpoint.events.file-*`` is one index-pattern token, after ``KEEP`` the text
``host.*`` is a name pattern, while in an expression ``a-b*c`` is five tokens. lark's own
lexers choose tokens by parser state, not by mode, and do not do ANTLR's longest-match, so
this module does the lexing exactly like Elasticsearch's ``EsqlBaseLexer.g4`` (and its
``lexer/*.g4`` parts: From, Project, Rename, Expression) and hands lark ``Token`` objects.

Rules followed from Elasticsearch:
- keywords are case-insensitive; a keyword only exists in the mode that defines it
  (``metadata`` after FROM, ``as`` after RENAME, ``and``/``like``/``by``... in expressions);
- longest match wins, ties go to the rule defined first (keywords before identifiers);
- strings: ``"..."`` with the escapes ``\\t \\n \\r \\" \\\\`` only, on one line;
  ``\"\"\"...\"\"\"`` with no escapes, on one line;
- ``//`` line comments and nestable ``/* */`` comments are skipped everywhere;
- a character no rule matches is ``token recognition error at: '...'``.
Columns are 1-based, as Elasticsearch prints them (ANTLR's 0-based column + 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from lark import Token

from collectors.result import QueryError

# Commands: the keyword and the lexer mode that follows it.
COMMANDS: dict[str, str] = {
    "dissect": "expr",
    "drop": "project",
    "eval": "expr",
    "from": "from",
    "grok": "expr",
    "keep": "project",
    "limit": "expr",
    "mv_expand": "expr",
    "rename": "rename",
    "row": "expr",
    "sort": "expr",
    "stats": "expr",
    "where": "expr",
}

# Keywords reserved inside expressions (Elasticsearch's lexer/Expression.g4).
EXPR_KEYWORDS = frozenset(
    "and asc by desc false first in is last like not null nulls or rlike true where".split()
)

_WS = re.compile(r"[ \t\r\n]+")
_LINE_COMMENT = re.compile(r"//[^\r\n]*\r?\n?")
_COMMAND_WORD = re.compile(r"[^ \t\r\n\[\]/]+")
_TRIPLE_STRING = re.compile(r'"""[^\r\n]*?""""{0,2}')
_STRING = re.compile(r'"(?:\\[tnr"\\]|[^\r\n"\\])*"')
_INTEGER = re.compile(r"[0-9]+")
_DECIMAL = re.compile(r"(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[0-9]+[eE][+-]?[0-9]+")
_UNQUOTED_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*|[_@][A-Za-z0-9_]+")
_QUOTED_ID = re.compile(r"`(?:[^`]|``)+`")
_PARAM = re.compile(r"\?(?:[A-Za-z_][A-Za-z0-9_]*|[0-9]+)?")
_UNQUOTED_SOURCE = re.compile(r'(?:[^:"=|,\[\]/() \t\r\n]|/[^*/])+')
_ID_PATTERN = re.compile(r"(?:[A-Za-z*][A-Za-z0-9_*]*|[_@][A-Za-z0-9_*]+|`(?:[^`]|``)+`)+")

_EXPR_PUNCT: list[tuple[str, str]] = [
    ("::", "CAST_OP"),
    ("==", "EQ"),
    ("=~", "CIEQ"),
    ("!=", "NEQ"),
    ("<=", "LTE"),
    (">=", "GTE"),
    ("<", "LT"),
    (">", "GT"),
    ("=", "ASSIGN"),
    (":", "COLON"),
    ("+", "PLUS"),
    ("-", "MINUS"),
    ("*", "ASTERISK"),
    ("/", "SLASH"),
    ("%", "PERCENT"),
    ("(", "LP"),
    (")", "RP"),
    ("[", "OPENING_BRACKET"),
    ("]", "CLOSING_BRACKET"),
    ("{", "LEFT_BRACES"),
    ("}", "RIGHT_BRACES"),
    (",", "COMMA"),
    (".", "DOT"),
]
_FROM_PUNCT: list[tuple[str, str]] = [
    ("::", "CAST_OP"),
    (":", "COLON"),
    (",", "COMMA"),
    ("=", "ASSIGN"),
    ("[", "OPENING_BRACKET"),
    ("]", "CLOSING_BRACKET"),
    (")", "RP"),
]
_PROJECT_PUNCT: list[tuple[str, str]] = [(".", "DOT"), (",", "COMMA")]
_RENAME_PUNCT: list[tuple[str, str]] = [(".", "DOT"), (",", "COMMA"), ("=", "ASSIGN")]


@dataclass
class _Cursor:
    text: str
    pos: int = 0
    line: int = 1
    line_start: int = 0

    @property
    def column(self) -> int:
        return self.pos - self.line_start + 1

    def advance(self, n: int) -> None:
        chunk = self.text[self.pos : self.pos + n]
        newlines = chunk.count("\n")
        if newlines:
            self.line += newlines
            self.line_start = self.pos + chunk.rfind("\n") + 1
        self.pos += n


def display(text: str) -> str:
    """How ANTLR shows token text in messages: control characters escaped."""
    return text.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")


def _block_comment_end(text: str, pos: int) -> int | None:
    """End of a (nestable) ``/* */`` comment starting at ``pos``; None if unclosed."""
    depth = 0
    i = pos
    n = len(text)
    while i < n:
        if text.startswith("/*", i):
            depth += 1
            i += 2
        elif text.startswith("*/", i):
            depth -= 1
            i += 2
            if depth == 0:
                return i
        else:
            i += 1
    return None


def _skip_len(text: str, pos: int) -> int:
    """Length of whitespace or a comment at ``pos`` (0 if none)."""
    m = _WS.match(text, pos)
    if m:
        return m.end() - pos
    if text.startswith("//", pos):
        m = _LINE_COMMENT.match(text, pos)
        assert m is not None
        return m.end() - pos
    if text.startswith("/*", pos):
        end = _block_comment_end(text, pos)
        if end is not None:
            return end - pos
    return 0


def _string_error_text(text: str, pos: int) -> str:
    """The text ANTLR shows for an unterminated or badly escaped string."""
    i = pos + 1
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\":
            if i + 1 < n and text[i + 1] in 'tnr"\\':
                i += 2
                continue
            return text[pos : i + 2]
        if c in "\r\n":
            return text[pos : i + 1]
        if c == '"':  # cannot happen for a failed match; be safe
            return text[pos : i + 1]
        i += 1
    return text[pos:]


def tokenize(text: str) -> Iterator[Token]:
    """Yield lark Tokens for an ES|QL query; raise QueryError on an unlexable character.

    Lazy on purpose: the parser reports the first problem in reading order, so a syntax
    error before a bad character is reported first, as Elasticsearch does.
    """
    cur = _Cursor(text)
    mode = "default"
    n = len(text)
    while True:
        while cur.pos < n:
            skip = _skip_len(text, cur.pos)
            if not skip:
                break
            cur.advance(skip)
        if cur.pos >= n:
            return
        line, column, start = cur.line, cur.column, cur.pos
        kind, length = _match(text, start, mode)
        if kind is None:
            bad = text[start : start + max(length, 1)]
            raise QueryError(f"token recognition error at: '{display(bad)}'", line, column)
        value = text[start : start + length]
        if kind == "WORD":  # identifiers and keywords of the current mode
            kind = _word_kind(value, mode)
        if mode == "default":
            mode = COMMANDS.get(value.lower(), "expr") if kind != "PIPE" else mode
        elif kind == "PIPE":
            mode = "default"
        cur.advance(length)
        yield Token(
            kind,
            value,
            start_pos=start,
            line=line,
            column=column,
            end_line=cur.line,
            end_column=cur.column,
            end_pos=cur.pos,
        )


def _word_kind(value: str, mode: str) -> str:
    low = value.lower()
    if mode == "default":
        return low.upper() if low in COMMANDS else "UNKNOWN_CMD"
    if mode == "from":
        return "METADATA" if low == "metadata" else "UNQUOTED_SOURCE"
    if mode in ("project", "rename"):
        return "AS" if (mode == "rename" and low == "as") else "ID_PATTERN"
    return low.upper() if low in EXPR_KEYWORDS else "UNQUOTED_IDENTIFIER"


def _longest(candidates: list[tuple[str, int]]) -> tuple[str | None, int]:
    """ANTLR's rule: the longest match, ties to the earliest candidate."""
    best: tuple[str | None, int] = (None, 0)
    for kind, length in candidates:
        if length > best[1]:
            best = (kind, length)
    return best


def _regex_len(rx: re.Pattern[str], text: str, pos: int) -> int:
    m = rx.match(text, pos)
    return m.end() - pos if m else 0


def _index(table: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Punctuation by first character, longest spelling first."""
    by_first: dict[str, list[tuple[str, str]]] = {}
    for lit, kind in table:
        by_first.setdefault(lit[0], []).append((lit, kind))
    for entries in by_first.values():
        entries.sort(key=lambda e: -len(e[0]))
    return by_first


_PUNCT_INDEX = {
    id(t): _index(t) for t in (_EXPR_PUNCT, _FROM_PUNCT, _PROJECT_PUNCT, _RENAME_PUNCT)
}


def _punct(table: list[tuple[str, str]], text: str, pos: int) -> list[tuple[str, int]]:
    for lit, kind in _PUNCT_INDEX[id(table)].get(text[pos], ()):
        if text.startswith(lit, pos):
            return [(kind, len(lit))]
    return []


def _string_candidates(text: str, pos: int) -> list[tuple[str, int]]:
    if text[pos] != '"':
        return []
    return [
        ("QUOTED_STRING", _regex_len(_TRIPLE_STRING, text, pos)),
        ("QUOTED_STRING", _regex_len(_STRING, text, pos)),
    ]


def _match(text: str, pos: int, mode: str) -> tuple[str | None, int]:
    """(token kind, length) at ``pos`` in ``mode``; kind None = no rule matches
    (length then says how much text the error message shows)."""
    c = text[pos]
    if c == "|":
        return "PIPE", 1
    if mode == "default":
        length = _regex_len(_COMMAND_WORD, text, pos)
        return ("WORD", length) if length else (None, 1)
    cands: list[tuple[str, int]] = []
    if mode == "expr":
        cands += _string_candidates(text, pos)
        cands.append(("INTEGER_LITERAL", _regex_len(_INTEGER, text, pos)))
        cands.append(("DECIMAL_LITERAL", _regex_len(_DECIMAL, text, pos)))
        cands += _punct(_EXPR_PUNCT, text, pos)
        if c == "?":
            length = _regex_len(_PARAM, text, pos)
            cands.append(("PARAM" if length == 1 else "NAMED_OR_POSITIONAL_PARAM", length))
        cands.append(("WORD", _regex_len(_UNQUOTED_ID, text, pos)))
        cands.append(("QUOTED_IDENTIFIER", _regex_len(_QUOTED_ID, text, pos)))
    elif mode == "from":
        cands += _punct(_FROM_PUNCT, text, pos)
        cands += _string_candidates(text, pos)
        cands.append(("WORD", _regex_len(_UNQUOTED_SOURCE, text, pos)))
    else:  # project / rename
        cands += _punct(_RENAME_PUNCT if mode == "rename" else _PROJECT_PUNCT, text, pos)
        if c == "?":
            length = _regex_len(_PARAM, text, pos)
            cands.append(("PARAM" if length == 1 else "NAMED_OR_POSITIONAL_PARAM", length))
        cands.append(("WORD", _regex_len(_ID_PATTERN, text, pos)))
    kind, length = _longest(cands)
    if kind is None:
        if c == '"':
            return None, len(_string_error_text(text, pos))
        if c == "`":  # an unclosed backquote runs to the end, as in ANTLR
            return None, len(text) - pos
        return None, 1
    return kind, length
