"""Starting Crossroads as a real process (``serve``, ``worker``) the way a person at a terminal does."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import IO

#: How long a stopped ``serve`` or ``worker`` may take to exit: the email worker finishes what it is
#: sending first, and on a CI machine running both database suites at once that takes a while.
STOP_SECONDS = 120

#: ``crossroads`` itself, whichever interpreter runs the tests.
CROSSROADS = [sys.executable, "-c", "from crossroads.web.cli import main; main()"]


def _ctrl_c_as_at_a_terminal() -> None:
    # A suite started in the background by a script (as CI does, `pytest ... &`) inherits SIGINT
    # ignored, and so would every process it starts: Ctrl-C (SIGINT) would then never reach them.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start_crossroads(
    args: list[str], env: dict[str, str], stdout: int | IO[str] | IO[bytes] = subprocess.PIPE, **options
) -> subprocess.Popen:
    """Start ``crossroads ARGS`` with ``env``; its output (stderr included) goes to ``stdout``."""
    return subprocess.Popen(
        [*CROSSROADS, *args],
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
        preexec_fn=_ctrl_c_as_at_a_terminal,
        **options,
    )


def start_logged(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """Start ``crossroads ARGS`` with its output written to ``log``."""
    return start_crossroads(args, env, stdout=log.open("w"))
