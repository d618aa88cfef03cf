"""Tag names: the fixed verdicts plus free tags, normalised so one idea is one tag.

``Needs Review``, ``needs_review`` and ``needs-review`` are the same tag. Tags are joined
by ``|`` in the CSV export, so a tag may not contain one (nor a comma, quote or control
character): letters, digits and ``- . : /`` only, starting with a letter or digit.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Iterable

from casefile.errors import CaseError

FIXED_TAGS = ("malicious", "suspicious", "benign", "needs-review")
MAX_TAG_LENGTH = 64
_SEPARATORS = re.compile(r"[\s_]+")
_VALID = re.compile(r"[^\W_][\w.:/-]*")


def normalise_tag(tag: str) -> str:
    """Casefolded, NFKC, spaces/underscores as ``-``; CaseError if it is not a usable tag."""
    text = unicodedata.normalize("NFKC", str(tag)).strip().casefold()
    text = _SEPARATORS.sub("-", text).strip("-")
    if not text or len(text) > MAX_TAG_LENGTH or not _VALID.fullmatch(text) or "_" in text:
        raise CaseError(
            f"tag {tag!r} is not usable: tags are letters, digits and - . : / "
            f"(up to {MAX_TAG_LENGTH}), e.g. {', '.join(FIXED_TAGS)}"
        )
    return text


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Normalised, duplicates dropped, in the order given."""
    out: list[str] = []
    for tag in tags:
        norm = normalise_tag(tag)
        if norm not in out:
            out.append(norm)
    return out
