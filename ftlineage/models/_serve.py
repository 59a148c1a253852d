"""A minimal OpenAI-compatible chat server over a local HF model (loopback, for judges and tests).

``POST /v1/chat/completions`` answers with greedy decoding of the last user message;
``GET /v1/models`` lists the one model. Run it with ``python -m ftlineage.models._serve MODEL PORT``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ftlineage.models._load import generate, load_model


class _Handler(BaseHTTPRequestHandler):
    server: ChatServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Quiet."""

    def _send(self, code: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # noqa: N802 - stdlib name
        """List the model."""
        if self.path.rstrip("/").endswith("/models"):
            self._send(200, {"object": "list", "data": [{"id": self.server.model_name, "object": "model"}]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:  # noqa: N802
        """Chat completion."""
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        prompt = next(
            (m["content"] for m in reversed(body.get("messages", [])) if m.get("role") == "user"), ""
        )
        max_tokens = int(body.get("max_tokens") or 32)
        self.server.requests += 1
        with self.server.lock:
            text = generate(self.server.model, self.server.tokenizer, [prompt], max_new_tokens=max_tokens)[0][
                0
            ]
        self._send(
            200,
            {
                "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": self.server.model_name,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            },
        )


class ChatServer(ThreadingHTTPServer):
    """The server, holding one model; generation is serialized."""

    daemon_threads = True

    def __init__(self, model_path: str, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _Handler)
        self.model, self.tokenizer = load_model(model_path)
        self.model_name = model_path
        self.lock = threading.Lock()
        self.requests = 0

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"


def main(argv: list[str]) -> None:
    """Serve ``MODEL`` on ``PORT`` (0 = any); prints the base URL once ready."""
    server = ChatServer(argv[0], port=int(argv[1]) if len(argv) > 1 else 0)
    print(server.url, flush=True)  # the process's protocol: the parent reads the URL from stdout
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
