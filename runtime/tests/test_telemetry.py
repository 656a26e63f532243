"""Tracing is exported over OTLP/HTTP when configured, and not at all otherwise."""

from __future__ import annotations

import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import ClassVar

_SCRIPT = """
import sys
from opentelemetry import trace
from ocop_runtime.telemetry import configure_tracing
provider = configure_tracing("registry", sys.argv[1] or None)
with trace.get_tracer("t").start_as_current_span("HTTP POST /producers"):
    pass
print(len(provider._active_span_processor._span_processors))
provider.force_flush()
provider.shutdown()
"""


class _Collector(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, str, int]]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        self.received.append((self.path, self.headers.get("content-type", ""), len(body)))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _run(endpoint: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, endpoint], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_spans_are_exported_over_otlp_http_when_an_endpoint_is_configured() -> None:
    _Collector.received = []
    server = HTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        processors = _run(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
    assert processors == "1"
    assert [(path, ctype) for path, ctype, _ in _Collector.received] == [
        ("/v1/traces", "application/x-protobuf")
    ]
    assert _Collector.received[0][2] > 0


def test_nothing_is_exported_without_an_endpoint() -> None:
    assert _run("") == "0"
