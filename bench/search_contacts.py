"""Contact search over HTTP: one client's 30,000 contacts searched on Crossroads' contacts page, against
Datasette filtering the same SQLite table, both loaded with ``wrk``.

python bench/search_contacts.py            # 30,000 contacts, 10 s per phase, 2 rounds
python bench/search_contacts.py --small    # 3,000 contacts, 3 s per phase, 1 round

Both read one SQLite file in a temporary folder: Crossroads (bench/wsgi.py under gunicorn, 2 sync
workers, the client signed in) answers ``/clients/<id>/contacts?q=<word>``, a page of 50 with the
client's template; Datasette (``pip install datasette``, not a dependency of Crossroads) answers
``/<db>/contact?client_id=<id>&search_text__contains=<word>&_size=50&_nosuggest=1``, its HTML
table of the same rows: a ``LIKE '%word%'`` scan (without facet suggestions, a query per
column). The word is a surname that about one contact in nine has.
Each side's mean latency is measured over one connection, Datasette then Crossroads, ``--rounds``
times; the ratio is Crossroads' latency over Datasette's (goal: at most 0.5, with the index).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _common import BENCH_PASSWORD, free_port, wait_for  # noqa: E402
from import_linkedin import setup  # noqa: E402
from pages import check, result, run_wrk, sign_in  # noqa: E402

from crossroads.core.scoping import Scope  # noqa: E402
from crossroads.core.security import hash_password  # noqa: E402
from crossroads.core.services.imports import import_linkedin  # noqa: E402
from tests.exports import LAST, connection_rows, make_export  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="3,000 contacts, short phases")
    parser.add_argument("--rows", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--rounds", type=int)
    args = parser.parse_args()
    rows = args.rows or (3_000 if args.small else 30_000)
    seconds = args.seconds or (3 if args.small else 10)
    rounds = args.rounds or (1 if args.small else 2)
    datasette = Path(sys.executable).parent / "datasette"
    if not datasette.exists():
        sys.exit("Datasette is not installed in this virtualenv: pip install datasette")

    folder = Path(tempfile.mkdtemp(prefix="crossroads-bench-search-"))
    path = folder / "bench.sqlite3"
    engine, session, client = setup(f"sqlite:///{path}")
    client.user.password_hash = hash_password(BENCH_PASSWORD)
    session.commit()
    import_linkedin(Scope(session, client.user), client.id, make_export(connection_rows(rows)))
    client_id, email = client.id, client.user.email
    session.close()
    engine.dispose()
    word = LAST[0].lower()

    from load import Gunicorn

    server = Gunicorn(f"sqlite:///{path}", 2, 1)
    port = free_port()
    viewer = subprocess.Popen(
        [str(datasette), "serve", str(path), "--port", str(port), "--setting", "sql_time_limit_ms", "10000"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        server.start()
        base = f"http://127.0.0.1:{port}"

        def up() -> bool:
            try:
                with urllib.request.urlopen(base + "/-/versions.json", timeout=2):
                    return True
            except OSError:
                return False

        wait_for(up, 60, "datasette did not start")
        cookie = sign_in(server.base, email)
        ours = f"{server.base}/clients/{client_id}/contacts?q={word}"
        # _nosuggest: no facet suggestions (a query per column, which our page does not run either).
        filters = f"client_id={client_id}&search_text__contains={word}&_size=50&_nosuggest=1"
        theirs = f"{base}/{path.stem}/contact?{filters}"
        check(ours, cookie, LAST[0])
        check(theirs, "", LAST[0])
        print(
            f"{rows:,} contacts; searching {word!r}; {seconds:g} s a phase, {rounds} round(s), 1 connection; "
            f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}"
        )
        run_wrk(ours, cookie, 1, 1)
        run_wrk(theirs, "", 1, 1)
        our_ms, their_ms = [], []
        for _ in range(rounds):
            measured = run_wrk(theirs, "", seconds, 1)
            their_ms.append(measured.latency_ms)
            print(
                f"  Datasette   {measured.latency_ms:7.1f} ms  (wrk {measured.cpu_share:.0%} of the machine)"
            )
            measured = run_wrk(ours, cookie, seconds, 1)
            our_ms.append(measured.latency_ms)
            print(
                f"  Crossroads  {measured.latency_ms:7.1f} ms  (wrk {measured.cpu_share:.0%} of the machine)"
            )
        mine, theirs_ms = sum(our_ms) / rounds, sum(their_ms) / rounds
        result(
            f"contact search over {rows:,} contacts, mean latency",
            f"{mine:.1f} ms",
            f"Datasette filtering the same table {theirs_ms:.1f} ms",
            mine / theirs_ms,
            "ratio <= 0.5",
            mine / theirs_ms <= 0.5,
        )
        print(f"load average at the end {os.getloadavg()[0]:.1f}")
    finally:
        server.stop()
        viewer.terminate()
        viewer.wait(20)
        time.sleep(0.1)


if __name__ == "__main__":
    main()
