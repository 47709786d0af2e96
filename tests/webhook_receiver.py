"""A real HTTP receiver on 127.0.0.1 for the webhook tests: it keeps every request, and answers
with the statuses (or the pauses) a test lines up."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    #: What to do for the next requests, in order: an HTTP status, or ("sleep", seconds, status).
    plan: list = field(default_factory=list)

    def ids(self) -> list[str]:
        return [r.headers["webhook-id"] for r in self.requests]


def start() -> tuple[Receiver, ThreadingHTTPServer]:
    receiver = Receiver(url="")
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                step = receiver.plan.pop(0) if receiver.plan else 200
            if isinstance(step, tuple):
                _, seconds, step = step
                time.sleep(seconds)
            with lock:
                receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
            try:
                self.send_response(step)
                self.end_headers()
                self.wfile.write(b"ok")
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return receiver, server
