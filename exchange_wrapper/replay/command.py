"""``xwrap replay --exchange NAME FILE...``: recorded traffic through the adapter, books checked."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

from .playback import window
from .source import Replay


def replay_files(
    exchange: str, files: Sequence[str | os.PathLike[str]], start: float | None = None, end: float | None = None
) -> int:
    """Replay ``files`` as fast as possible up to ``end``, counting from ``start`` (a window within
    the recording: :func:`~.playback.window`), print the report as one JSON object; the exit status
    is 1 if any book ended corrupt, else 0."""
    replay = Replay(exchange, files)
    if start is not None or end is not None:
        start, end = window(replay.span(), start, end)
    report = replay.run(start, end)
    print(json.dumps(report))
    return 1 if report["corrupt"] else 0
