"""Helpers shared by the bench scripts: paths, free ports, throwaway PostgreSQL databases, percentiles."""

from __future__ import annotations

import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

#: Every generated account (coaches and clients) signs in with this password.
BENCH_PASSWORD = "crossroads-bench"
BENCH_SECRET = "bench-secret-key-not-for-production"
PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
BENCH_DB = "crossroads_bench"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def database_url(server_url: str, name: str) -> str:
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


def database_exists(server_url: str, name: str) -> bool:
    """Whether database ``name`` exists on the server of ``server_url``."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            return bool(connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}))
    finally:
        admin.dispose()


def create_database(server_url: str, name: str) -> str:
    """Create database ``name`` (it must not exist: a bench never drops what it did not create)."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return database_url(server_url, name)


def recreate_database(server_url: str, name: str) -> str:
    """Drop (if there) and create database ``name`` on the server of ``server_url``; return its URL."""
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return database_url(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def throwaway_database(server_url: str, prefix: str) -> Iterator[str]:
    """A fresh PostgreSQL database for the duration of the block, dropped afterwards."""
    name = f"{prefix}_{os.getpid()}"
    url = recreate_database(server_url, name)
    try:
        yield url
    finally:
        drop_database(server_url, name)


def crossroads_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment for a Crossroads process: this one's, minus any CROSSROADS_ settings, plus ours."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_") or k == "CROSSROADS_PLUGINS"
    }
    env.update(
        CROSSROADS_DATABASE_URL=database_url,
        CROSSROADS_INSTANCE=str(instance),
        CROSSROADS_SECRET_KEY=BENCH_SECRET,
        CROSSROADS_SMTP_ALLOW_PRIVATE="1",  # the benches' SMTP servers listen on 127.0.0.1
        PYTHONPATH=str(ROOT) + os.pathsep + env.get("PYTHONPATH", ""),
    )
    env.update(extra)
    return env


def percentile(sorted_values: list[float], fraction: float) -> float:
    """The ``fraction`` (0..1) percentile of already sorted values, nearest rank."""
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values) + 0.5) - 1))
    return sorted_values[index]


def wait_for(condition, timeout: float, message: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(message)
        time.sleep(interval)
