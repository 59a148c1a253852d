"""A scripted OpenAI-compatible chat server on loopback, for tests of model-graded scorers.

Real HTTP through the real ``openai`` client; the reply is a function of the prompt, and every
request is counted, so a test can prove that a cached rerun makes zero calls.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class ScriptedServer:
    """``url`` (``.../v1``), ``calls`` (requests served) and ``prompts`` (the user messages seen)."""

    def __init__(self, reply: Callable[[str], str]) -> None:
        self.reply, self.calls = reply, 0
        self.prompts: list[str] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
                return

            def do_POST(self) -> None:  # noqa: N802 - stdlib name
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                prompt = body.get("messages", [{}])[-1].get("content", "")
                with server._lock:
                    server.calls += 1
                    server.prompts.append(prompt)
                data = json.dumps(
                    {
                        "id": "x",
                        "object": "chat.completion",
                        "created": 0,
                        "model": body.get("model", "m"),
                        "choices": [
                            {
                                "index": 0,
                                "finish_reason": "stop",
                                "message": {"role": "assistant", "content": server.reply(prompt)},
                            }
                        ],
                        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                    }
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop serving."""
        self._httpd.shutdown()
        self._httpd.server_close()


@contextmanager
def scripted_openai(reply: Callable[[str], str]) -> Iterator[ScriptedServer]:
    """Serve ``reply`` on loopback for the ``with`` block."""
    server = ScriptedServer(reply)
    try:
        yield server
    finally:
        server.close()
