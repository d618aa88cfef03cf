"""The child process that searches a big export's bytes ahead, while the workbench starts.

A first query on a fresh export proves, for each file its indices do not name, that the file
holds none of them (:func:`lazy._bytes_may_name`: a byte search, 0.6 s of one core for 867
MB). Searched beside the load, it takes a core from the load. But while Textual starts
(0.5-0.8 s, one thread) the other core is idle, and the interpreter is busy, so a thread
would not help: the workbench starts this module as a child process at launch, with the
hunt's lead query. The child parses it, prints which (file, pattern) searches it will
make, then each answer; :class:`lazy.Ahead` reads them in the workbench, and the load takes
them (waiting for one still coming) instead of searching again.

An answer carries the file's identity (:func:`inputs.file_identity`: inode, size, times): a
file changed since is searched again, by the load itself.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from collectors.offline import inputs, lazy


def main(arg: str) -> None:
    """Print the plan, then each answer, as JSON lines (read by :class:`lazy.Ahead`)."""
    job = json.loads(arg)
    need = lazy.needs(job["query"])
    if need is None:
        return
    plan: list[tuple[Path, str]] = []
    for path_text, forced in job["specs"]:
        for path in inputs.expand(Path(path_text)):
            if lazy.named_by(path, forced, need.patterns) is None:
                plan.extend((path, pattern) for pattern in need.patterns)
    _say({"plan": [[str(path), pattern] for path, pattern in plan]})
    for path, pattern in plan:
        try:
            before = inputs.file_identity(path)
            may: bool | None = lazy._bytes_may_name(path, pattern)
            after = inputs.file_identity(path)
        except OSError:
            before, after, may = (), (), None
        same = before == after and may is not None  # else: changed (or gone) while read, no answer
        _say({"path": str(path), "pattern": pattern, "file": after if same else None, "may": may if same else None})


def _say(record: dict) -> None:
    sys.stdout.write(json.dumps(record) + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    try:
        main(sys.argv[1])
    except (BrokenPipeError, KeyboardInterrupt):  # the workbench has gone
        pass
    except Exception:  # noqa: BLE001 - the load searches for itself
        pass
