"""Reading recorded exchange traffic (cryptofeed's capture files) into typed records.

One record per line, read lazily so large files stream; message and body text is kept exactly
as recorded, for the exchange adapters to parse. Line formats::

    URL -> TIMESTAMP: BODY       RestResponse
    URL <-> TIMESTAMP            WsOpened
    URL <- TIMESTAMP: MESSAGE    WsSent
    TIMESTAMP: MESSAGE           WsReceived
    configuration: JSON          Configuration

TIMESTAMP is Unix seconds; it is not money, so it is a float.

A file may be gzip-compressed (xWrap's own recordings are, by default: ``.gz``); it is recognised by
its first bytes, whatever its name. A recording cut short (the recorder killed) is read up to its
last complete line: an unterminated last line, or a gzip stream that ends before its end marker, is
where an interrupted write stopped, and is skipped with a warning.
"""

from __future__ import annotations

import gzip
import io
import logging
import os
import re
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ..core.errors import InvalidParameter, NotFound

log = logging.getLogger(__name__)

_CONFIGURATION = "configuration: "
_GZIP_MAGIC = b"\x1f\x8b"
_TIMESTAMP = re.compile(r"[0-9]+(?:\.[0-9]+)?")


@dataclass(frozen=True, slots=True)
class RestResponse:
    """A REST response: the URL asked and the raw response body."""

    url: str
    ts: float
    body: str


@dataclass(frozen=True, slots=True)
class WsOpened:
    """A websocket connection opened to ``url``."""

    url: str
    ts: float


@dataclass(frozen=True, slots=True)
class WsSent:
    """A message the recording client sent (a subscribe request, ...)."""

    url: str
    ts: float
    message: str


@dataclass(frozen=True, slots=True)
class WsReceived:
    """A message the recording client received, as the exchange sent it; ``url``: its connection's,
    where a replay needs it (an exchange whose messages do not name their market: Luno)."""

    ts: float
    message: str
    url: str = ""


@dataclass(frozen=True, slots=True)
class Configuration:
    """What the recorder subscribed to, as its raw JSON text."""

    text: str


CaptureRecord = RestResponse | WsOpened | WsSent | WsReceived | Configuration


def read_capture(path: str | os.PathLike[str]) -> Iterator[CaptureRecord]:
    """The records of the capture file at ``path``, one at a time.

    The file may be gzip-compressed; a file cut short is read up to its last complete line (see the
    module's docstring). Raises :class:`InvalidParameter` naming the file: it cannot be read
    (missing, a folder, not allowed), it is not UTF-8 text, its compressed data is corrupt, or a
    line of it (named too) is of no known form.
    """
    name = os.fspath(path)
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == _GZIP_MAGIC
            raw.seek(0)
            stream = gzip.GzipFile(fileobj=raw, mode="rb") if compressed else raw
            with io.TextIOWrapper(stream, encoding="utf-8", newline="\n") as lines:  # lines end at \n only
                yield from parse_capture(_complete_lines(lines, name), name)
    except (gzip.BadGzipFile, zlib.error) as error:
        raise InvalidParameter(f"capture file {name}", "a readable gzip stream", str(error)) from None
    except OSError as error:
        raise InvalidParameter(
            f"capture file {name}", "a file that can be read", error.strerror or type(error).__name__
        ) from None
    except UnicodeDecodeError as error:
        raise InvalidParameter(
            f"capture file {name}",
            "UTF-8 text (a capture of tests/captures' format)",
            f"byte {error.object[error.start]:#04x}",
        ) from None


def _complete_lines(lines: Iterable[str], name: str) -> Iterator[str]:
    """The newline-terminated ``lines``: what follows the last newline of a file cut short (an
    unterminated line, the rest of a gzip stream without its end marker) is skipped, with a warning."""
    try:
        for line in lines:
            if not line.endswith("\n"):
                log.warning("%s ends in an incomplete line (a write was interrupted): it is skipped", name)
                return
            yield line
    except EOFError:  # gzip: the stream stops before its end marker, everything before it was read
        log.warning("%s: the compressed stream is cut short; read up to its last complete line", name)


def parse_capture(lines: Iterable[str], source: str = "capture") -> Iterator[CaptureRecord]:
    """The records of capture ``lines`` (a file object or any iterable of lines), lazily.

    Blank lines are skipped; ``source`` names the input in errors.
    """
    for number, line in enumerate(lines, start=1):
        line = line.removesuffix("\n").removesuffix("\r")
        if line:
            yield parse_line(line, f"line {number} of {source}")


def parse_line(line: str, where: str = "capture line") -> CaptureRecord:
    """One capture line (without its newline) as a record; ``where`` names it in errors."""
    if line.startswith(_CONFIGURATION):
        return Configuration(line[len(_CONFIGURATION) :])
    first, _, rest = line.partition(" ")
    if first.endswith(":"):
        return WsReceived(_timestamp(first[:-1], line, where), rest)
    arrow, _, rest = rest.partition(" ")
    if arrow == "<->":
        return WsOpened(first, _timestamp(rest, line, where))
    ts, colon, text = rest.partition(": ")
    if colon and arrow == "->":
        return RestResponse(first, _timestamp(ts, line, where), text)
    if colon and arrow == "<-":
        return WsSent(first, _timestamp(ts, line, where), text)
    raise InvalidParameter(
        where, "URL -> TS: BODY, URL <-> TS, URL <- TS: MESSAGE, TS: MESSAGE or configuration: JSON", line
    )


def find_response(path: str | os.PathLike[str], url_prefix: str) -> RestResponse:
    """The first REST response in the capture at ``path`` whose URL starts with ``url_prefix``.

    Raises :class:`NotFound` if there is none.
    """
    for record in read_capture(path):
        if isinstance(record, RestResponse) and record.url.startswith(url_prefix):
            return record
    raise NotFound(f"REST response in {os.fspath(path)} for", url_prefix)


def _timestamp(text: str, line: str, where: str) -> float:
    if not _TIMESTAMP.fullmatch(text):
        raise InvalidParameter(where, "a line with a Unix timestamp in seconds", line)
    return float(text)
