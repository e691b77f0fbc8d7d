"""A local HTTP server that stands in for Klaviyo's API in the `export --push` tests.

It records every request (method, path, headers, body, when, the status answered) and answers by a script:
`answers` maps the ordinal of a request (1 = the first one received) to a status and headers; `block_at` makes
that request hang, never answered, until `release()` (the test kills the client meanwhile). Every other
request gets the API's success status (202 for bulk events, 204 for list membership).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]  # names in lower case
    body: bytes
    at: float
    status: int | None = None  # None: never answered


@dataclass
class FakeKlaviyo:
    answers: dict[int, tuple[int, dict[str, str]]] = field(default_factory=dict)
    block_at: int | None = None
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.blocked = threading.Event()
        self._release = threading.Event()
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeKlaviyo:
        self._thread.start()
        return self

    def __exit__(self, *_: Any) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def release(self) -> None:
        self._release.set()

    def acknowledged(self) -> list[Received]:
        """Requests answered with a 2xx status."""
        return [request for request in self.received if request.status is not None and request.status < 300]

    def _answer(self, request: Received) -> tuple[int, dict[str, str]] | None:
        with self._lock:
            self.received.append(request)
            ordinal = len(self.received)
        if ordinal == self.block_at:
            self.blocked.set()
            self._release.wait(timeout=60)
            return None
        success = 202 if request.path == "/api/event-bulk-create-jobs" else 204
        return self.answers.get(ordinal, (success, {}))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {name.lower(): value for name, value in self.headers.items()}
                request = Received(self.command, self.path, headers, body, time.monotonic())
                answer = server._answer(request)
                if answer is None:
                    self.close_connection = True
                    return
                status, headers = answer
                payload = b""
                if status >= 400:
                    payload = json.dumps({"errors": [{"id": "x", "code": "test", "title": f"status {status}",
                                                      "detail": "scripted by the test"}]}).encode()
                request.status = status
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_POST = _handle
            do_DELETE = _handle

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
