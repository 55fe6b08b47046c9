"""``xwrap replay --exchange NAME FILE...``: recorded traffic through the adapter, books checked."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from .source import Replay


def replay_files(exchange: str, files: Sequence[str | os.PathLike[str]]) -> int:
    """Replay ``files`` as fast as possible, print the report as one JSON object; the exit
    status is 1 if any book ended corrupt, else 0."""
    report = Replay(exchange, files).run()
    print(json.dumps(report))
    return 1 if report["corrupt"] else 0
