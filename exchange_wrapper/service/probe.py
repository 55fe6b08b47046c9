"""``xwrap health``: the service's own probes asked from its machine (the Docker image's HEALTHCHECK).

It reaches the service the settings describe on loopback, over TLS when the settings serve TLS. The
certificate is not checked: the probe talks to the process next to it, whose certificate may name
only the public host (and a probe that failed on a renewed certificate would restart a healthy node).
"""

from __future__ import annotations

import http.client
import ssl

from ..config import ServerSettings
from .openapi import LIVE_PATH, READY_PATH

#: How long the probe waits for an answer; the image's HEALTHCHECK allows a little more.
TIMEOUT = 4.0
PATHS = {"live": LIVE_PATH, "ready": READY_PATH}


def probe(server: ServerSettings, which: str) -> tuple[bool, str]:
    """(whether the service answered 200, its answer or why there is none) for probe ``which``
    (``live`` or ``ready``) of the service listening as ``server`` says."""
    host = server.host if server.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    if server.tls_certificate:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # see the module's docstring
        connection: http.client.HTTPConnection = http.client.HTTPSConnection(
            host, server.port, timeout=TIMEOUT, context=context
        )
    else:
        connection = http.client.HTTPConnection(host, server.port, timeout=TIMEOUT)
    try:
        connection.request("GET", PATHS[which])
        answer = connection.getresponse()
        return answer.status == 200, answer.read().decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as error:
        return False, f"no answer from {host}:{server.port}: {error}"
    finally:
        connection.close()
