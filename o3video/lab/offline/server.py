"""A real OpenAI-compatible chat-completions HTTP server on the loopback interface, answering with a
Python function: the synthetic world's ground-truth annotator is served through it, so the build's
own client (the official `openai` package, images as data URIs) is what gets exercised.

    with LocalChatServer(annotator.respond) as server:
        build(BuildConfig(..., vlm=f"openai:{server.url}:synthetic-truth"))

It listens on 127.0.0.1 only, on a free port. `POST /v1/chat/completions` calls
`respond(body, headers) -> (text, finish_reason)`, or a list of them for several choices (a request's `n`);
an exception becomes an HTTP 400 with its message (`HTTPStatusReply(status)` chooses the status).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any], Mapping[str, str]], tuple[str, str] | list[tuple[str, str]]]


class HTTPStatusReply(Exception):
    """Raised by a responder to answer with this HTTP status (e.g. 503 to exercise client retries)."""

    def __init__(self, status: int, message: str = "") -> None:
        super().__init__(message or f"HTTP {status}")
        self.status = status


class LocalChatServer:
    def __init__(self, respond: Responder, *, model: str = "synthetic-truth", delay_s: float = 0.0) -> None:
        self.respond = respond
        self.model = model
        self.delay_s = delay_s
        self.requests = 0
        self.failures: list[str] = []
        self._lock = threading.Lock()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the server is not running")
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    def start(self) -> "LocalChatServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, {"object": "list", "data": [{"id": server.model, "object": "model", "owned_by": "o3video"}]})
                else:
                    self._send(404, {"error": {"message": f"no route {self.path}"}})

            def do_POST(self) -> None:  # noqa: N802
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, {"error": {"message": f"no route {self.path}"}})
                    return
                with server._lock:
                    server.requests += 1
                try:
                    body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                    if server.delay_s:
                        time.sleep(server.delay_s)
                    reply = server.respond(body, self.headers)
                    replies = reply if isinstance(reply, list) else [reply]
                except Exception as error:  # noqa: BLE001 - reported to the client as a 400 (or the status asked for)
                    status = error.status if isinstance(error, HTTPStatusReply) else 400
                    with server._lock:
                        server.failures.append(f"{type(error).__name__}: {error}")
                    self._send(status, {"error": {"message": f"{type(error).__name__}: {error}", "type": "invalid_request_error"}})
                    return
                self._send(200, {
                    "id": f"chatcmpl-{server.requests}", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", server.model),
                    "choices": [{"index": i, "finish_reason": finish, "message": {"role": "assistant", "content": text}}
                                for i, (text, finish) in enumerate(replies)],
                    "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                })

            def log_message(self, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None

    def __enter__(self) -> "LocalChatServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["HTTPStatusReply", "LocalChatServer"]
