"""A sample the tests never saw: the sample generator with a seed and capture time picked per run.

Tests that check a rule (not an answer) run it on this as well as on the bundled sample, so
nothing can pass by knowing the bundled sample's values.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Generated:
    folder: Path
    """Plain NDJSON files, one per index."""
    manifest: dict[str, Any]
    """The generator's manifest: ``answer_key``, ``window``..."""
    capture: datetime
    """When the export was taken: the data's ``now``."""
    seed: int


def write_generated(tmp_path_factory, events: int = 20_000) -> Generated:
    from sample_data import generate

    pick = random.SystemRandom()
    seed = pick.randrange(1, 10_000)
    capture = datetime(2026, pick.randrange(1, 10), 14, 7, 30, tzinfo=timezone.utc)
    folder = tmp_path_factory.mktemp(f"generated-{seed}")
    manifest = generate.write(folder, events, seed=seed, plain=True,
                              capture_time=capture.strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    return Generated(folder, manifest, capture, seed)
