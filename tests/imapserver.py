"""A real IMAP server for tests: Debian's Dovecot on 127.0.0.1 and a free port, with a throw-away
configuration and mail folder in a temporary directory.

Load it with ``pytest_plugins = ["tests.imapserver"]`` (tests/conftest.py does). Fixtures:

- ``dovecot``: one server for the whole test session (started as root, as Dovecot
  expects, and stopped at the end); needs ``dovecot-imapd`` (``apt-get install
  dovecot-imapd``; ``.ci/run`` installs it);
- ``mailbox_user``: a fresh user with an empty mailbox, for one test.

:func:`configure_mailbox` points a practice's :class:`PracticeMailbox` at a user.
The bench (bench/ingest_replies.py) uses :class:`Dovecot` too.
"""

from __future__ import annotations

import contextlib
import imaplib
import itertools
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from crossroads.core.mail.secrets import encrypt
from crossroads.core.models import MailSecurity, PracticeMailbox

DOVECOT = "/usr/sbin/dovecot"
_users = itertools.count(1)


def free_port() -> int:
    """A TCP port nothing listens on at the moment."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reply(n: int, practice: str = "northbridge", subject: str = "Re: A question") -> bytes:
    """A small reply email with a Message-ID of its own."""
    return (
        f"From: Contact {n} <contact{n}@acme.example>\r\n"
        f"To: replies@{practice}.example\r\n"
        f"Subject: {subject} ({n})\r\n"
        f"Message-ID: <reply-{n}-{practice}@acme.example>\r\n"
        "Date: Tue, 01 Dec 2026 09:00:00 +0000\r\n"
        "\r\n"
        f"Happy to talk next week. ({n})\r\n"
    ).encode()


@dataclass
class MailUser:
    """One mailbox user of the test server."""

    server: Dovecot
    name: str
    password: str

    @property
    def home(self) -> Path:
        return self.server.directory / "mail" / self.name

    def imap(self) -> imaplib.IMAP4:
        """A plain imaplib connection, logged in (for the tests' own APPENDs and checks)."""
        conn = imaplib.IMAP4("127.0.0.1", self.server.port, timeout=30)
        conn.login(self.name, self.password)
        return conn

    def append(self, messages: list[bytes], folder: str = "INBOX", when: datetime | None = None) -> None:
        """Deliver ``messages`` with APPEND, in order, over one connection."""
        conn = self.imap()
        try:
            for raw in messages:
                status, _ = conn.append(folder, "", imaplib.Time2Internaldate(when or time.time()), raw)
                assert status == "OK"
        finally:
            conn.logout()

    def create_folder(self, folder: str) -> None:
        conn = self.imap()
        try:
            conn.create(folder)
        finally:
            conn.logout()

    def delete_folder(self, folder: str) -> None:
        conn = self.imap()
        try:
            conn.delete(folder)
        finally:
            conn.logout()

    def write_maildir(self, messages: list[bytes], mtime: float | None = None) -> None:
        """Put ``messages`` straight into the INBOX's Maildir as already seen (fast: no IMAP)."""
        maildir = self.home / "Maildir"
        for sub in ("cur", "new", "tmp"):
            (maildir / sub).mkdir(parents=True, exist_ok=True)
        stamp = int(mtime or time.time())
        cur = maildir / "cur"
        for i, raw in enumerate(messages):
            path = cur / f"{stamp}.M{i}P{os.getpid()}.crossroads-test:2,S"
            path.write_bytes(raw)
            if mtime is not None:
                os.utime(path, (mtime, mtime))
        self.server.chown(self.home)


class Dovecot:
    """A throw-away Dovecot (IMAP only, no TLS, plain logins) on 127.0.0.1; start as root."""

    def __init__(self, directory: Path, port: int | None = None):
        self.directory = Path(directory).resolve()
        self.port = port or free_port()
        entry = pwd.getpwnam("dovecot")
        self.uid, self.gid = entry.pw_uid, entry.pw_gid
        self.pid: int | None = None

    def chown(self, path: Path) -> None:
        for root, dirs, files in os.walk(path):
            os.chown(root, self.uid, self.gid)
            for name in dirs + files:
                os.chown(os.path.join(root, name), self.uid, self.gid)

    def start(self) -> Dovecot:
        if not Path(DOVECOT).exists():
            raise RuntimeError(f"{DOVECOT} is missing: apt-get install dovecot-imapd")
        # Dovecot's processes drop to its own users: they must be able to reach the folder.
        self.directory.mkdir(parents=True, exist_ok=True)
        self.directory.chmod(0o755)
        for sub in ("run", "mail", "state"):
            (self.directory / sub).mkdir(parents=True, exist_ok=True)
        os.chown(self.directory / "mail", self.uid, self.gid)
        (self.directory / "passwd").touch()
        d = self.directory
        (d / "dovecot.conf").write_text(
            f"""protocols = imap
listen = 127.0.0.1
base_dir = {d}/run
state_dir = {d}/state
instance_name = crossroads-test-{self.port}
default_login_user = dovenull
default_internal_user = dovecot
first_valid_uid = 100
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Answer a wrong password at once (a real server waits 2 to 15 seconds, growing per address).
auth_failure_delay = 0
log_path = {d}/dovecot.log
mail_location = maildir:~/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {d}/passwd
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {d}/passwd
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {self.port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
  unix_listener anvil-auth-penalty {{
    mode = 0
  }}
}}
"""
        )
        subprocess.run([DOVECOT, "-c", str(d / "dovecot.conf")], check=True)
        pid_file = d / "run" / "master.pid"
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if pid_file.exists() and pid_file.read_text().strip():
                self.pid = int(pid_file.read_text().strip())
                break
            time.sleep(0.05)
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"Dovecot did not start; see {d / 'dovecot.log'}")

    def stop(self) -> None:
        if self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(self.pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        self.pid = None

    def add_user(self, name: str | None = None, password: str | None = None) -> MailUser:
        """A new user with an empty home; Dovecot reads the changed password file at the next login."""
        name = name or f"user{next(_users)}-{secrets.token_hex(3)}"
        password = password or secrets.token_urlsafe(12)
        home = self.directory / "mail" / name
        home.mkdir(parents=True)
        os.chown(home, self.uid, self.gid)
        with open(self.directory / "passwd", "a") as passwd:
            passwd.write(f"{name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{home}\n")
        user = MailUser(self, name, password)
        self._wait_for_login(user)
        return user

    def _wait_for_login(self, user: MailUser) -> None:
        """Dovecot looks at a changed password file at most once a second: wait until it has."""
        deadline = time.monotonic() + 10
        while True:
            try:
                user.imap().logout()
                return
            except imaplib.IMAP4.error:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    def set_password(self, user: MailUser, password: str) -> None:
        path = self.directory / "passwd"
        lines = [
            (
                f"{user.name}:{{PLAIN}}{password}:{self.uid}:{self.gid}::{user.home}"
                if line.startswith(f"{user.name}:")
                else line
            )
            for line in path.read_text().splitlines()
        ]
        path.write_text("\n".join(lines) + "\n")
        user.password = password
        self._wait_for_login(user)


def configure_mailbox(
    db: Session,
    practice_id: int,
    user: MailUser,
    secret_key: str,
    password: str | None = None,
    folder: str = "INBOX",
) -> PracticeMailbox:
    """Point the practice's reply mailbox at ``user`` (plain IMAP on 127.0.0.1); commits."""
    mailbox = PracticeMailbox(
        practice_id=practice_id,
        host="127.0.0.1",
        port=user.server.port,
        security=MailSecurity.NONE,
        username=user.name,
        password_encrypted=encrypt(secret_key, user.password if password is None else password),
        folder=folder,
    )
    db.add(mailbox)
    db.commit()
    return mailbox


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """One Dovecot for the test session, stopped and removed at the end."""
    # Not under pytest's temporary folder: its parents are private to root, and Dovecot's
    # processes run as its own users.
    directory = Path(tempfile.mkdtemp(prefix="crossroads-dovecot-"))
    server = Dovecot(directory).start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def mailbox_user(dovecot: Dovecot) -> MailUser:
    """A fresh user of the test Dovecot, with an empty mailbox."""
    return dovecot.add_user()
