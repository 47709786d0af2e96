"""Start-up: the memory of ``crossroads --help``, and ``crossroads serve --demo`` until its login page.

python bench/startup.py            # 5 runs of each
python bench/startup.py --small    # 1 run of each (checks that it runs)

Both are whole processes, measured from outside: memory is the child's peak resident set size as
the kernel accounts it (``wait4``'s ``ru_maxrss``: C allocations included, unlike tracemalloc),
time is wall time from ``exec`` to the first 200 of ``/login``. Baselines in the same run: the
interpreter importing Flask and SQLAlchemy (``python -c "import flask, sqlalchemy"``) for memory
and time, and a bare Flask app answering its first request, for ``serve --demo``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import free_port  # noqa: E402

BIN = Path(sys.executable).parent
BARE_APP = """
import sys
from flask import Flask
app = Flask("bare")
app.get("/login")(lambda: "ok")
app.run(port=int(sys.argv[1]))
"""


def run(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of a whole child process."""
    # GNU time reports the peak RSS of the program it runs. (A child's own ru_maxrss would count
    # the pages it shared with this process between fork and exec.)
    started = time.perf_counter()
    done = subprocess.run(
        ["/usr/bin/time", "-f", "%M", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{args[:3]} failed: {done.stderr[-2000:]}")
    return time.perf_counter() - started, int(done.stderr.strip().splitlines()[-1]) / 1024


def until_login(args: list[str], port: int, cwd: Path, env: dict[str, str]) -> float:
    """Seconds from starting ``args`` until ``/login`` answers 200 on ``port``; then it is stopped."""
    started = time.perf_counter()
    process = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 120:
            if process.poll() is not None:
                raise RuntimeError(f"{args} stopped with {process.returncode}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=5) as answer:
                    if answer.status == 200:
                        return time.perf_counter() - started
            except OSError:
                time.sleep(0.02)
        raise TimeoutError(f"{args} did not answer in 120 s")
    finally:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def result(name: str, figure: str, baseline: str, ratio: float, goal: str, ok: bool) -> None:
    print(
        f"RESULT {name}: {figure}; baseline {baseline}; ratio {ratio:.2f}; goal {goal}; "
        f"{'PASS' if ok else 'FAIL'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="one run of each")
    parser.add_argument("--runs", type=int)
    args = parser.parse_args()
    runs = args.runs or (1 if args.small else 5)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSROADS_")}
    print(f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}; {runs} run(s), medians")

    helps = [run([str(BIN / "crossroads"), "--help"], env) for _ in range(runs)]
    bases = [run([sys.executable, "-c", "import flask, sqlalchemy"], env) for _ in range(runs)]
    rss, base_rss = statistics.median(h[1] for h in helps), statistics.median(b[1] for b in bases)
    seconds, base_seconds = statistics.median(h[0] for h in helps), statistics.median(b[0] for b in bases)
    result(
        "crossroads --help, peak RSS",
        f"{rss:.0f} MB ({seconds:.2f} s)",
        f"python importing flask and sqlalchemy {base_rss:.0f} MB ({base_seconds:.2f} s)",
        rss / base_rss,
        "<= 100 MB",
        rss <= 100,
    )

    demo, bare = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="crossroads-demo-") as folder:
            port = free_port()
            demo_env = dict(env, CROSSROADS_INSTANCE=str(Path(folder) / "instance"))
            demo.append(
                until_login(
                    [str(BIN / "crossroads"), "serve", "--demo", "--port", str(port)],
                    port,
                    Path(folder),
                    demo_env,
                )
            )
            port = free_port()
            bare.append(until_login([sys.executable, "-c", BARE_APP, str(port)], port, Path(folder), env))
    took, base_took = statistics.median(demo), statistics.median(bare)
    result(
        "crossroads serve --demo, empty folder to the login page",
        f"{took:.2f} s",
        f"a bare Flask app's first answer {base_took:.2f} s",
        took / base_took,
        "<= 2 s",
        took <= 2,
    )


if __name__ == "__main__":
    main()
