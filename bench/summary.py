"""Prints the figures of every benchmark as one table: `make bench` runs each script with
`--json var/bench/<name>.json`, then this.

    .venv/bin/python bench/summary.py [var/bench]

Each row is one figure at the small size (N=10, or the smaller of two sizes) and the large one
(N=400), their ratio (a regression shows as a ratio that grows), the goal and whether it is met.
Exits 1 when a goal is missed, so that `make bench` says so.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _figure(value: object) -> str:
    if not isinstance(value, int | float):
        return "—"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value)}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


def main() -> int:
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "var" / "bench"
    rows: list[dict[str, object]] = []
    for path in sorted(folder.glob("*.json")):
        for row in json.loads(path.read_text()):
            rows.append({**row, "source": path.stem})
    if not rows:
        print(f"No benchmark figures in {folder}.")
        return 1
    width = max(len(str(r["figure"])) for r in rows)
    header = f"{'figure':<{width}}  {'N=10':>9}  {'N=400':>9}  {'ratio':>6}  {'goal':<22} ok"
    print(header)
    print("-" * len(header))
    missed = 0
    for r in rows:
        small, large = r.get("small"), r.get("large")
        ratio = (
            f"{large / small:.2f}"
            if isinstance(small, int | float) and isinstance(large, int | float) and small
            else "—"
        )
        ok = r.get("ok")
        mark = "yes" if ok is True else "NO" if ok is False else ""
        missed += ok is False
        print(
            f"{r['figure']!s:<{width}}  {_figure(small):>9}  {_figure(large):>9}  {ratio:>6}  "
            f"{r['goal']!s:<22} {mark}"
        )
    print()
    print(f"{len(rows)} figures, {missed} goals missed.")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
