"""A loopback stand-in for the W&B/Weave servers that records what the real weave client sends.

It answers the handshake (``/traces/server_info``, the GraphQL ``project`` and ``viewer``
queries, object and file digests) and records every call sent to
``/traces/v2/<entity>/<project>/calls/complete``. Calls are kept by id, the way the real
server upserts them, so a redelivered call replaces itself instead of adding a row.

    python -m ftlineage.testing.weave_server PORT RECORD.jsonl
"""

from __future__ import annotations

import hashlib
import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Recorder:
    """Calls by id, plus how many times each id arrived."""

    def __init__(self, path: Path | None = None) -> None:
        self.calls: dict[str, dict[str, Any]] = {}
        self.arrivals: dict[str, int] = {}
        self.path = path
        self.lock = threading.Lock()

    def add(self, batch: list[dict[str, Any]]) -> None:
        """Keep each call by id (an upsert) and count its arrivals."""
        with self.lock:
            for call in batch:
                self.calls[call["id"]] = call
                self.arrivals[call["id"]] = self.arrivals.get(call["id"], 0) + 1
                if self.path:
                    with self.path.open("a", encoding="utf-8") as fh:
                        fh.write(json.dumps(call) + "\n")


def _handler(rec: Recorder) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, obj: Any) -> None:
            body = json.dumps(obj).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:  # noqa: N802
            if self.path.endswith("/server_info"):
                self._send({"min_required_weave_python_version": "0.0.1", "trace_server_version": "99.0.0"})
            else:
                self._send({})

        def do_POST(self) -> None:  # noqa: N802
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.endswith("/graphql"):
                query = json.loads(raw)
                if "viewer" in query["query"]:
                    self._send(
                        {"data": {"viewer": {"username": "ftlineage", "defaultEntity": {"name": "ent"}}}}
                    )
                else:
                    self._send(
                        {
                            "data": {
                                "project": {"name": query.get("variables", {}).get("name"), "id": "UHJvajox"}
                            }
                        }
                    )
            elif self.path.endswith(("/obj/create", "/file/create", "/table/create")):
                self._send({"digest": hashlib.sha256(raw).hexdigest()[:43]})
            elif self.path.endswith("/calls/complete"):
                rec.add(json.loads(raw)["batch"])
                self._send({})
            else:
                self._send({})

    return Handler


def serve(port: int, recorder: Recorder) -> ThreadingHTTPServer:
    """Start the server in a daemon thread; ``shutdown()`` stops it."""
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(recorder))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


if __name__ == "__main__":
    srv = serve(int(sys.argv[1]), Recorder(Path(sys.argv[2])))
    threading.Event().wait()
