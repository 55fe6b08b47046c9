"""The history store the settings choose (``timeseries.backend``), opened for the service."""

from __future__ import annotations

import logging

from peewee import Database

from ..config import Settings
from .database import DatabaseSink
from .sink import HistorySink

log = logging.getLogger(__name__)


def open_sink(settings: Settings, database: Database) -> HistorySink | None:
    """The sink of ``timeseries.backend``: the service's ``database`` (already open), InfluxDB (its
    server checked now: :func:`~.influx.open_influx_sink` raises naming the setting it refuses, or
    DatabaseUnavailable), or None for ``none`` (nothing is collected)."""
    backend = settings.timeseries.backend
    if backend == "none":
        log.info("market history is not collected (timeseries.backend none)")
        return None
    if backend == "database":
        return DatabaseSink(database)
    from .influx import open_influx_sink  # here: influxdb-client is loaded only for the InfluxDB backend

    return open_influx_sink(settings.timeseries.influxdb)
