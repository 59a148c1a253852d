"""A minimal OpenAI-compatible chat server over a local HF model (loopback, for judges and tests).

``POST /v1/chat/completions`` answers with greedy decoding of the conversation (through the
model's chat template; a model without one sees the last user message), ``POST /v1/completions``
completes a rendered prompt as is (the ``openai`` generation backend);
``GET /v1/models`` lists the one model. Run it with
``python -m ftlineage.models._serve MODEL PORT [--name SERVED_ID] [--shutdown-date YYYY-MM-DD]``.
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
from ftlineage.models._prompting import format_for


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
            entry = {
                "id": self.server.model_name,
                "object": "model",
                "owned_by": "ftlineage",
                **self.server.listed,
            }
            self._send(200, {"object": "list", "data": [entry]})
        else:
            self._send(404, {"error": {"message": f"no route {self.path}"}})

    def _complete(self, body: dict[str, Any]) -> None:
        """Text completion of an already rendered prompt (what the ``openai`` backend sends)."""
        prompt, max_tokens = str(body.get("prompt", "")), int(body.get("max_tokens") or 16)
        text = self._generate(prompt, max_tokens, add_special_tokens=self.server.fmt.add_special_tokens)
        self._send(
            200,
            {
                "id": f"cmpl-{uuid.uuid4().hex[:12]}",
                "object": "text_completion",
                "created": int(time.time()),
                "model": self.server.model_name,
                "choices": [{"index": 0, "text": text, "finish_reason": "stop"}],
            },
        )

    def _generate(self, prompt: str, max_tokens: int, *, add_special_tokens: bool) -> str:
        self.server.requests += 1
        with self.server.lock:
            out, _ = generate(
                self.server.model,
                self.server.tokenizer,
                [prompt],
                max_new_tokens=max_tokens,
                add_special_tokens=add_special_tokens,
            )
        return out[0]

    def do_POST(self) -> None:  # noqa: N802
        """Chat completion (through the model's chat template, when it has one) or text completion."""
        try:
            self._post()
        except Exception as exc:  # noqa: BLE001 - the client gets a JSON error, the server lives on
            self._send(500, {"error": {"message": f"{type(exc).__name__}: {exc}"}})

    def _post(self) -> None:
        route = self.path.rstrip("/")
        if not route.endswith(("/chat/completions", "/completions")):
            self._send(404, {"error": {"message": f"no route {self.path}"}})
            return
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
        if not route.endswith("/chat/completions"):
            self._complete(body)
            return
        fmt = self.server.fmt
        turns = [m for m in body.get("messages", []) if isinstance(m, dict)]
        source = (
            turns
            if fmt.chat
            else next((m["content"] for m in reversed(turns) if m.get("role") == "user"), "")
        )
        max_tokens = int(body.get("max_tokens") or 32)
        rendered = fmt.render(self.server.tokenizer, source)
        text = self._generate(rendered, max_tokens, add_special_tokens=fmt.add_special_tokens)
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
        self.fmt = format_for(self.tokenizer, "{prompt}", chat=None)
        self.model_name = model_path
        self.listed: dict[str, Any] = {}  # extra /models fields, e.g. a provider's shutdown_date
        self.lock = threading.Lock()
        self.requests = 0

    @property
    def url(self) -> str:
        """Base URL for OpenAI clients."""
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}/v1"


def main(argv: list[str]) -> None:
    """Serve ``MODEL`` on ``PORT`` (0 = any); prints the base URL once ready.

    ``--name NAME`` serves the model under that id (default: the folder as given);
    ``--shutdown-date YYYY-MM-DD`` makes ``/models`` announce a retirement, as hosted providers do.
    """
    flags = {}
    for flag in ("--name", "--shutdown-date"):
        if flag in argv:
            at = argv.index(flag)
            flags[flag] = argv[at + 1]
            argv = argv[:at] + argv[at + 2 :]
    server = ChatServer(argv[0], port=int(argv[1]) if len(argv) > 1 else 0)
    server.model_name = flags.get("--name", server.model_name)
    if "--shutdown-date" in flags:
        server.listed["shutdown_date"] = flags["--shutdown-date"]
    print(server.url, flush=True)  # the process's protocol: the parent reads the URL from stdout
    server.serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
