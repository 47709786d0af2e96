"""Settings from environment variables, with defaults that run on one laptop."""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_INSTANCE = Path.cwd() / "instance"

#: Host names of this machine: a base URL on one of them is a laptop, not a public deployment.
LOOPBACK_HOSTS = frozenset({"localhost", "127.0.0.1", "::1"})


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _secret_key(instance_path: Path) -> str:
    """The key from the environment, or one generated once and kept in the instance folder."""
    if key := os.environ.get("CROSSROADS_SECRET_KEY"):
        return key
    key_file = instance_path / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    # Write the key to a private temporary file, then link it into place: two processes
    # starting at once agree on one key, and nobody ever reads a half-written file.
    fd, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret_key.")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
        os.chmod(temporary, 0o600)
        with contextlib.suppress(FileExistsError):  # another process won the race: use its key
            os.link(temporary, key_file)
    finally:
        os.unlink(temporary)
    return key_file.read_text().strip()


@dataclass
class Settings:
    """Everything Crossroads reads from its environment.

    ========================== ===============================================
    ``CROSSROADS_INSTANCE``    folder for the SQLite file and the secret key
                               (default ``./instance``)
    ``CROSSROADS_DATABASE_URL`` SQLAlchemy URL (default: SQLite in the instance
                               folder)
    ``CROSSROADS_SECRET_KEY``  signs sessions and links (default: generated
                               once, kept in the instance folder)
    ``CROSSROADS_SECURE_COOKIES`` send cookies over HTTPS only (default on;
                               turn off only for plain HTTP on a private LAN)
    ``CROSSROADS_TRUSTED_PROXIES`` how many reverse proxies in front set
                               X-Forwarded-For/-Proto/-Host (default 0)
    ``CROSSROADS_PLUGINS``     comma-separated plugin names to load (default:
                               all installed)
    ``CROSSROADS_REDIS_URL``   run the background queue on Redis (default: a
                               SQLite file in the instance folder)
    ``CROSSROADS_SMTP_CA_FILE`` extra certificate authorities (PEM) to trust
                               for SMTP over TLS (default: the system's)
    ``CROSSROADS_SMTP_ALLOW_PRIVATE`` let practices send through an email
                               server on a loopback, private or link-local
                               address (default off)
    ``CROSSROADS_WEBHOOKS_ALLOW_PRIVATE`` let owners subscribe webhook URLs on
                               loopback, private or link-local addresses
                               (default off)
    ``CROSSROADS_API_RATE_LIMIT`` API requests one token may make a minute
                               (default 600)
    ``CROSSROADS_BASE_URL``    the public address: every absolute link (emails,
                               invitations, resets) starts with it, and
                               requests naming another host are refused
                               (default ``http://localhost:5000``)
    ``CROSSROADS_LOG_FORMAT``  ``text`` or ``json`` (one JSON object a line,
                               with the request id; default ``text``)
    ``CROSSROADS_DEMO_REPLY_SECONDS`` in ``serve --demo``: how long the
                               answering demo contact takes to reply
                               (default 30)
    ========================== ===============================================
    """

    instance_path: Path = field(default_factory=lambda: DEFAULT_INSTANCE)
    database_url: str = ""
    secret_key: str = ""
    secure_cookies: bool = True
    trusted_proxies: int = 0
    redis_url: str = ""
    smtp_ca_file: str = ""
    smtp_allow_private: bool = False
    webhooks_allow_private: bool = False
    api_rate_limit: int = 600
    base_url: str = "http://localhost:5000"
    log_format: str = "text"
    testing: bool = False
    #: The demo practice when running ``crossroads serve --demo`` (its Sent mail page); never from the
    #: environment: outside the demo there is no such page.
    demo_practice_id: int | None = None
    demo_reply_seconds: float = 30.0

    @property
    def queue_path(self) -> Path:
        """The SQLite file behind the background queue when Redis is not configured."""
        return self.instance_path / "queue.sqlite3"

    @property
    def trusted_hosts(self) -> list[str] | None:
        """The host names requests may name: the base URL's.

        None, any host, while the base URL is on this machine (``crossroads serve`` on a laptop
        or a LAN): links come from the base URL anyway, so a forged ``Host`` cannot redirect them.
        """
        host = urlsplit(self.base_url).hostname or ""
        return None if host in LOOPBACK_HOSTS else [host]

    @property
    def uses_embedded_database(self) -> bool:
        """True on the laptop default: a SQLite file in the instance folder."""
        return self.database_url == self.default_database_url

    @property
    def default_database_url(self) -> str:
        return f"sqlite:///{self.instance_path / 'crossroads.sqlite3'}"

    @classmethod
    def from_env(cls) -> Settings:
        instance = Path(os.environ.get("CROSSROADS_INSTANCE", DEFAULT_INSTANCE)).resolve()
        settings = cls(instance_path=instance)
        settings.database_url = os.environ.get("CROSSROADS_DATABASE_URL") or settings.default_database_url
        settings.secret_key = _secret_key(instance)
        settings.secure_cookies = _flag("CROSSROADS_SECURE_COOKIES", True)
        proxies = os.environ.get("CROSSROADS_TRUSTED_PROXIES", "0").strip() or "0"
        if not proxies.isdigit():
            raise ValueError(f"CROSSROADS_TRUSTED_PROXIES must be a whole number, not {proxies!r}")
        settings.trusted_proxies = int(proxies)
        settings.redis_url = os.environ.get("CROSSROADS_REDIS_URL", "").strip()
        settings.smtp_ca_file = os.environ.get("CROSSROADS_SMTP_CA_FILE", "").strip()
        settings.smtp_allow_private = _flag("CROSSROADS_SMTP_ALLOW_PRIVATE", False)
        settings.webhooks_allow_private = _flag("CROSSROADS_WEBHOOKS_ALLOW_PRIVATE", False)
        rate = os.environ.get("CROSSROADS_API_RATE_LIMIT", "").strip() or "600"
        if not rate.isdigit() or int(rate) < 1:
            raise ValueError(f"CROSSROADS_API_RATE_LIMIT must be a positive whole number, not {rate!r}")
        settings.api_rate_limit = int(rate)
        settings.base_url = os.environ.get("CROSSROADS_BASE_URL", "").strip().rstrip("/") or settings.base_url
        settings.log_format = os.environ.get("CROSSROADS_LOG_FORMAT", "").strip().lower() or "text"
        if settings.log_format not in ("text", "json"):
            raise ValueError(f"CROSSROADS_LOG_FORMAT must be text or json, not {settings.log_format!r}")
        delay = os.environ.get("CROSSROADS_DEMO_REPLY_SECONDS", "").strip() or "30"
        try:
            settings.demo_reply_seconds = float(delay)
        except ValueError:
            settings.demo_reply_seconds = -1.0
        if not 0 <= settings.demo_reply_seconds <= 3600:
            raise ValueError(
                f"CROSSROADS_DEMO_REPLY_SECONDS must be a number of seconds (0-3600), not {delay!r}"
            )
        if settings.uses_embedded_database:
            instance.mkdir(parents=True, exist_ok=True)
        return settings
