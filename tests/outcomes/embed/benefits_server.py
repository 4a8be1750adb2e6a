"""A real HTTP server on 127.0.0.1 answering `GET /v1/benefits` in the attribution
service's documented shape, for scorecard tests that need realized benefit to be *up*
without running a full attribution run."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@contextmanager
def benefits_server(items: list[dict[str, Any]]) -> Iterator[tuple[str, list[dict[str, str]]]]:
    """Yields (base URL, list of the requests' headers)."""
    seen: list[dict[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append({k.lower(): v for k, v in self.headers.items()})
            body = json.dumps({"items": items, "next_cursor": None}).encode()
            code = 200 if self.path.startswith("/v1/benefits") else 404
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
