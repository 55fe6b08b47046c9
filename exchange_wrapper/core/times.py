"""Points in time as people write them on a command line: Unix seconds or ISO 8601.

Times are Unix seconds (floats: not money). A time written without a zone is UTC, as every time
xWrap shows is.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from .errors import InvalidParameter

_EXPECTED = "Unix seconds (1618677800.5) or an ISO 8601 time (2021-04-17T16:43:20Z; UTC without a zone)"


def parse_time(name: str, text: str) -> float:
    """``text`` as Unix seconds; :class:`InvalidParameter` naming ``name`` if it is neither form."""
    try:
        seconds = float(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InvalidParameter(name, _EXPECTED, text) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    if not math.isfinite(seconds):
        raise InvalidParameter(name, _EXPECTED, text)
    return seconds


def iso_time(seconds: float) -> str:
    """Unix ``seconds`` as an ISO 8601 UTC time, to the microsecond where it has a fraction."""
    return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
