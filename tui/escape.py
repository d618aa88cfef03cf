"""The one escaping function every displayed value goes through.

File names and command lines in hunt results are written by the attacker. Shown raw they
could drive the terminal (ESC/OSC sequences set the title, write the clipboard, hide text),
reorder what the responder reads (bidi overrides), or, in Textual, become live Rich markup
(``[link=...]``) or crash a widget (``[/]``). So: values are made *visible* here, as plain
text that a ``rich.text.Text`` shows literally, and never parsed as markup.
"""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from rich.text import Text

# Bidirectional controls and invisible formatting characters an attacker can use to make
# text read differently from what it is (Trojan Source, CVE-2021-42574) or hide content.
_INVISIBLE = {
    0x061C, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F, 0x2028, 0x2029,
    0x202A, 0x202B, 0x202C, 0x202D, 0x202E, 0x2060, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF,
}

ELLIPSIS = "…"


# Unicode categories never shown raw: controls, format characters (bidi marks, zero-width
# characters, soft hyphen, the U+E00xx "tag" characters used to smuggle hidden ASCII),
# surrogates, and line/paragraph separators.
_HIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def _escape_char(ch: str, keep_newlines: bool) -> str:
    code = ord(ch)
    if ch == "\n" and keep_newlines:
        return ch
    if code < 0x20 or code == 0x7F or 0x80 <= code <= 0x9F:
        return f"\\x{code:02x}"
    if code in _INVISIBLE or unicodedata.category(ch) in _HIDDEN_CATEGORIES:
        return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"
    return ch


def visible(value: Any, *, keep_newlines: bool = False) -> str:
    """``value`` as plain text with every control and bidi character shown as an escape.

    Multi-values (lists) are shown as ``[a, b]``; None as an empty string. The result is
    plain text: wrap it in :func:`as_text` (never in markup) to display it in Textual.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, (list, tuple)):
        text = "[" + ", ".join(visible(v) for v in value) + "]"
        return text
    elif isinstance(value, dict):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = str(value)
    # isprintable() is False for every character of the categories above and of _INVISIBLE
    # (all are Cc/Cf/Zl/Zp), so printable text needs no per-character pass: the fast path
    # for the thousands of cells a pane fills.
    if text.isprintable():
        return text
    return "".join(_escape_char(c, keep_newlines) for c in text)


def _json_escape_char(ch: str) -> str:
    code = ord(ch)
    if code > 0xFFFF:  # JSON writes astral characters as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


def visible_json(text: str) -> str:
    """JSON text with every character :func:`visible` would escape written as a ``\\uXXXX``
    escape: still valid JSON that parses to exactly the same values, but nothing in it can
    drive a terminal (JSON itself escapes only C0 controls, not DEL, C1 or bidi overrides).

    Only for JSON text: outside strings JSON has no such characters, inside them the escape
    means the same character.
    """
    if text.isprintable():
        return text
    return "".join(c if c == "\n" or _escape_char(c, False) == c else _json_escape_char(c) for c in text)


def clip(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` characters, ending in an ellipsis when it was longer."""
    if width <= 0:
        return ""
    if len(text) <= width:
        return text
    return text[: max(width - 1, 0)] + ELLIPSIS


def as_text(value: Any, *, width: int | None = None, style: str = "", keep_newlines: bool = False) -> Text:
    """A Rich ``Text`` that shows ``value`` literally: no markup, no terminal control."""
    shown = visible(value, keep_newlines=keep_newlines)
    if width is not None:
        shown = clip(shown, width)
    return Text(shown, style=style, no_wrap=not keep_newlines, end="")
