"""The dashboard's responsiveness (issue 13): the longest task of the page's main thread while the Orders
view holds 5,000 open orders and book tops change 20 times a second, measured with the DevTools protocol.

It runs tests/test_dashboard.py's measurement (:func:`tests.test_dashboard.responsiveness`: the real service
on the recorded Coinbase traffic, Debian's headless chromium) over a longer window, and prints its figures:
the longest tasks on the clock and on the main thread's CPU, and the long tasks (over 50 ms) the page's
PerformanceObserver saw. Run from the repository root: ``.venv/bin/python bench/bench_dashboard.py
[SECONDS]`` (default 20; about a minute in all, most of it placing the 5,000 orders).
"""

from __future__ import annotations

import os
import sys
import unittest
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> int:
    os.environ["XWRAP_DASHBOARD_SECONDS"] = sys.argv[1] if len(sys.argv) > 1 else "20"
    suite = unittest.defaultTestLoader.loadTestsFromName("tests.test_dashboard.ResponsivenessTest")
    result = unittest.TextTestRunner(verbosity=0).run(suite)
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main())
