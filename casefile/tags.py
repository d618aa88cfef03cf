"""Tag names: the fixed verdicts plus free tags, kept as typed and matched without case.

A responder types ``T1543.002`` and wants to read ``T1543.002`` back, while ``t1543.002``
typed later must be the same tag. So a tag has two forms:

* its *label*, what is shown and exported: NFKC, trimmed, spaces/underscores as ``-``,
  the case as typed (the fixed verdicts always in their own lower-case spelling);
* its *key* (:func:`tag_key`), the label casefolded: what the case file compares, so
  ``Needs Review``, ``needs_review`` and ``NEEDS-REVIEW`` are one tag.

Tags are joined by ``|`` in the CSV export and listed in Timesketch's ``tag`` column, so
a tag may not contain ``|`` (nor a comma, quote or control character): letters, digits
and ``- . : /`` only, starting with a letter or digit.
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
    """The tag's label (case kept, see the module docstring); CaseError if it is not usable."""
    text = unicodedata.normalize("NFKC", str(tag)).strip()
    text = _SEPARATORS.sub("-", text).strip("-")
    if not text or len(text) > MAX_TAG_LENGTH or not _VALID.fullmatch(text) or "_" in text:
        raise CaseError(
            f"tag {tag!r} is not usable: tags are letters, digits and - . : / "
            f"(up to {MAX_TAG_LENGTH}), e.g. {', '.join(FIXED_TAGS)}"
        )
    key = text.casefold()
    return key if key in FIXED_TAGS else text


def tag_key(tag: str) -> str:
    """What two tags are compared by: the label casefolded (``T1543.002`` -> ``t1543.002``)."""
    return normalise_tag(tag).casefold()


def normalise_tags(tags: Iterable[str]) -> list[str]:
    """Labels, duplicates (by key) dropped, in the order given."""
    out: list[str] = []
    keys: set[str] = set()
    for tag in tags:
        label = normalise_tag(tag)
        if label.casefold() not in keys:
            keys.add(label.casefold())
            out.append(label)
    return out
