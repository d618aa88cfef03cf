"""The bundled sample: Elastic Defend Linux events telling the story the seed hunt finds.

See ``sample_data/MANIFEST.md`` for the capture time, the answer key and how it was made.
"""

from __future__ import annotations

import json
from datetime import datetime
from importlib import resources
from pathlib import Path


def folder() -> Path:
    return Path(str(resources.files("sample_data")))


def data_files() -> list[Path]:
    """The bundled NDJSON files, wherever the package is installed."""
    return sorted(folder().glob("*.ndjson.gz")) + sorted(folder().glob("*.ndjson"))


def manifest() -> dict:
    return json.loads((folder() / "manifest.json").read_text(encoding="utf-8"))


def capture_time() -> datetime:
    """``now()`` for the sample: the moment the data was captured."""
    return datetime.fromisoformat(manifest()["capture_time"].replace("Z", "+00:00"))
