"""Run mypy on the package (pyproject.toml's settings) and compare its errors with the recorded baseline.

The baseline (devops/mypy-baseline.txt) lists the errors not fixed yet, each as ``path: error: message
[code]`` without its line number, so that edits above an error do not move it. The check fails on an error
the baseline does not hold (a new one) and on a baseline entry mypy no longer reports (fixed: the baseline
must shrink with it). ``--update`` writes what mypy reports now as the baseline: for a fix, or for errors
that only moved with their file (review the diff: nothing new may enter it). The baseline is to be empty
by the end of issue 10; core/ and the contract module are checked --strict and have no entries.
"""

from __future__ import annotations

import os
import re
import sys
from collections import Counter
from pathlib import Path

from mypy import api

BASELINE = Path(__file__).with_name("mypy-baseline.txt")
_ERROR = re.compile(r"^(?P<path>[^:\s]+\.pyi?):(?P<line>\d+)(?::\d+)?: error: (?P<rest>.*)$")


def errors() -> tuple[Counter[str], dict[str, list[str]], int]:
    """mypy's errors as baseline entries (counted), the full lines of each entry, and mypy's exit status."""
    out, err, status = api.run([])
    if status not in (0, 1):  # 2: mypy itself failed (bad configuration, crash)
        sys.stderr.write(out + err)
        raise SystemExit(status)
    found: Counter[str] = Counter()
    lines: dict[str, list[str]] = {}
    for line in out.splitlines():
        match = _ERROR.match(line)
        if match:
            entry = f"{match['path']}: error: {match['rest']}"
            found[entry] += 1
            lines.setdefault(entry, []).append(line)
    return found, lines, status


def recorded() -> Counter[str]:
    if not BASELINE.exists():
        return Counter()
    return Counter(line for line in BASELINE.read_text().splitlines() if line and not line.startswith("#"))


def main(argv: list[str]) -> int:
    found, lines, _ = errors()
    if argv == ["--update"]:
        header = "# mypy errors not fixed yet (devops/mypy_baseline.py): may only shrink, to nothing.\n"
        BASELINE.write_text(header + "".join(f"{entry}\n" for entry in sorted(found.elements())))
        print(f"{BASELINE.name}: {sum(found.values())} errors recorded")
        return 0
    if argv:
        print("usage: devops/mypy_baseline.py [--update]", file=sys.stderr)
        return 2
    baseline = recorded()
    new, fixed = found - baseline, baseline - found
    for entry in sorted(new):  # every place of an entry that mypy reports more often than recorded
        print("\n".join(lines[entry]) + (f"  ({new[entry]} more than recorded)" if baseline[entry] else ""))
    for entry in sorted(fixed):
        print(f"fixed, still in {BASELINE.name} ({fixed[entry]}): {entry}")
    if new:
        print(f"mypy: errors beyond the baseline: {sum(new.values())} (fix them: it may only shrink)")
    if fixed:
        print(f"mypy: baseline entries fixed: {sum(fixed.values())} (remove them: devops/mypy_baseline.py --update)")
    if not new and not fixed:
        print(f"mypy: no errors beyond the baseline ({sum(baseline.values())} recorded)")
    return 1 if new or fixed else 0


if __name__ == "__main__":
    os.chdir(Path(__file__).resolve().parent.parent)  # pyproject.toml's settings, paths as in the baseline
    raise SystemExit(main(sys.argv[1:]))
