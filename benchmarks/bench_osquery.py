"""osquery built-in tables benchmark: the seed hunt's osquery SQL over a 3,000-file dpkg tree.

Run: ``nice python benchmarks/bench_osquery.py [--files 3000] [--recent 0.1] [--repeat 15]``

Builds an image under a temporary folder (``var/lib/dpkg/info`` with N files, a fraction
of them modified in the last 7 days, ``var/lib/rpm``, ``etc/passwd``, ``etc/group``) and
times, best of ``--repeat`` alternating runs:

* the seed's osquery SQL, verbatim, through ``run_osquery(backend="builtin", root=...)``
  (SQLite virtual tables: glob, lstat/stat per file, LEFT JOIN users/groups, datetime());
* a plain Python loop doing the same work: ``os.scandir`` both folders, skip dotfiles,
  ``stat`` each entry, keep mtime within 7 days, look up owner and group names from the
  parsed passwd/group files, format the four times.

Prints both times and the ratio (target: within 3x).

Then, on the same image, a recursive walk ``path LIKE '/%%'``: ``LIMIT 3`` against
``count(*)`` of every path, with the peak memory each adds (tracemalloc). The walk is
streamed, so LIMIT should cost a small fraction of the full walk and memory should not grow
with the number of paths.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from collectors.osquery import run_osquery  # noqa: E402
from hunts import load_library  # noqa: E402

DAY = 86400


def build(root: Path, files: int, recent: float) -> int:
    now = time.time()
    info = root / "var/lib/dpkg/info"
    info.mkdir(parents=True)
    (root / "var/lib/rpm").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/bash\n" + "".join(
        f"user{i}:x:{1000 + i}:{1000 + i}::/home/user{i}:/bin/sh\n" for i in range(50)))
    (root / "etc/group").write_text("root:x:0:\n" + "".join(f"group{i}:x:{1000 + i}:\n" for i in range(50)))
    kinds = ("list", "md5sums", "postinst", "prerm", "postrm", "preinst", "triggers", "conffiles")
    recent_count = 0
    every = max(1, round(1 / recent)) if recent > 0 else 0
    for i in range(files):
        path = info / f"package{i // len(kinds)}.{kinds[i % len(kinds)]}"
        path.write_text("#!/bin/sh\nset -e\n")
        age = 2 * DAY if every and i % every == 0 else 60 * DAY
        recent_count += age < 7 * DAY
        os.utime(path, (now - age, now - age))
    return recent_count


def python_loop(root: str) -> list[tuple]:
    """The same answer as the seed query, by hand."""
    users, groups = {}, {}
    with open(os.path.join(root, "etc/passwd")) as handle:
        for line in handle:
            f = line.split(":")
            users.setdefault(int(f[2]), f[0])
    with open(os.path.join(root, "etc/group")) as handle:
        for line in handle:
            f = line.split(":")
            groups.setdefault(int(f[2]), f[0])
    cutoff = time.time() - 7 * DAY
    fmt = "%Y-%m-%d %H:%M:%S"
    rows = []
    for folder in ("/var/lib/dpkg/info", "/var/lib/rpm"):
        try:
            entries = list(os.scandir(root + folder))
        except OSError:
            continue
        for entry in entries:
            if entry.name.startswith("."):
                continue
            st = os.stat(entry.path)
            if st.st_mtime <= cutoff:
                continue
            rows.append((
                entry.name, folder + "/" + entry.name, users.get(st.st_uid), groups.get(st.st_gid),
                time.strftime(fmt, time.gmtime(st.st_atime)), time.strftime(fmt, time.gmtime(st.st_mtime)),
                time.strftime(fmt, time.gmtime(st.st_ctime)), time.strftime(fmt, time.gmtime(0)), st.st_size,
            ))
    return rows


def best_of(fns, repeat: int) -> list[tuple[float, object]]:
    """Best time of each function; runs alternate so a busy machine slows both alike."""
    times: list[list[float]] = [[] for _ in fns]
    outs: list[object] = [None for _ in fns]
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            started = time.perf_counter()
            outs[i] = fn()
            times[i].append(time.perf_counter() - started)
    return [(min(t), out) for t, out in zip(times, outs)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--recent", type=float, default=0.1, help="fraction modified in the last 7 days")
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    sql = load_library([]).default.osquery_queries[0].text
    with tempfile.TemporaryDirectory(prefix="huntbench-bench-osquery-") as tmp:
        recent = build(Path(tmp), args.files, args.recent)
        (t_sql, result), (t_loop, rows) = best_of(
            [lambda: run_osquery(sql, backend="builtin", root=tmp), lambda: python_loop(tmp)], args.repeat)
        assert len(result.values) == len(rows) == recent, (len(result.values), len(rows), recent)
        print(f"files: {args.files} in var/lib/dpkg/info, {recent} modified in the last 7 days")
        print(f"seed osquery SQL, built-in tables: {t_sql * 1000:8.1f} ms")
        print(f"os.scandir + stat loop:            {t_loop * 1000:8.1f} ms")
        ratio = t_sql / t_loop
        print(f"ratio: {ratio:.2f}x (target <= 3x) -> {'OK' if ratio <= 3 else 'SLOWER THAN TARGET'}")
        walk(tmp, args.repeat)


def walk(root: str, repeat: int) -> None:
    """LIMIT 3 against the full count over a recursive pattern: time and peak memory."""
    import tracemalloc

    limited = "SELECT path FROM file WHERE path LIKE '/%%' LIMIT 3"
    counted = "SELECT count(*) FROM file WHERE path LIKE '/%%'"
    (t_limit, _), (t_all, total) = best_of(
        [lambda: run_osquery(limited, backend="builtin", root=root),
         lambda: run_osquery(counted, backend="builtin", root=root)], max(3, repeat // 3))
    peaks = []
    for sql in (limited, counted):
        tracemalloc.start()
        run_osquery(sql, backend="builtin", root=root)
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
    paths = total.values[0][0]  # type: ignore[attr-defined]
    print(f"walk of '/%%': {paths} paths")
    print(f"LIMIT 3:  {t_limit * 1000:8.1f} ms, peak {peaks[0] / 1e6:.1f} MB")
    print(f"count(*): {t_all * 1000:8.1f} ms, peak {peaks[1] / 1e6:.1f} MB")
    print(f"ratio LIMIT 3 / count(*): time {t_limit / t_all:.3f}, memory {peaks[0] / peaks[1]:.2f}")


if __name__ == "__main__":
    main()
