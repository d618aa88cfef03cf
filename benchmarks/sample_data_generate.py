"""How the sample generator scales: time and peak memory at growing ``--events``.

    python benchmarks/sample_data_generate.py [--sizes 100000,1000000] [--plain] [--keep DIR]

Each size runs in a fresh subprocess (so peak RSS is that run's own) and writes into a
temporary folder (or ``--keep DIR/<size>``).  Prints events/s, CPU seconds and peak RSS per
size, then the ratios against the smallest size: time should grow with the event count
(ratio close to the size ratio) while memory stays flat (ratio close to 1), which is what
"streaming" means here.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from sample_data import generate
out, n, plain = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
wall, cpu = time.perf_counter(), time.process_time()
manifest = generate.write(out, n, plain=plain)
data = out / manifest["files"][0]["path"]
print(json.dumps({"events": manifest["counts"]["events"], "wall": time.perf_counter() - wall,
                  "cpu": time.process_time() - cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "bytes": data.stat().st_size}))
"""


def run(size: int, plain: bool, folder: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", CHILD, str(folder), str(size), "1" if plain else "0"],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--plain", action="store_true", help="uncompressed NDJSON")
    parser.add_argument("--keep", type=Path, help="keep the output under this folder")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            folder = (args.keep or Path(tmp)) / str(size)
            result = run(size, args.plain, folder)
            results.append(result)
            print(f"{result['events']:>9} events  {result['wall']:7.1f} s wall  {result['cpu']:7.1f} s CPU  "
                  f"{result['events'] / result['cpu']:9.0f} events/CPU-s  peak RSS {result['rss_mb']:6.1f} MB  "
                  f"{result['bytes'] / 1e6:8.1f} MB on disk", flush=True)
    base = results[0]
    for result in results[1:]:
        print(f"x{result['events'] / base['events']:.0f} events: CPU time x{result['cpu'] / base['cpu']:.2f}, "
              f"peak RSS x{result['rss_mb'] / base['rss_mb']:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
