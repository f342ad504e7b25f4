"""A fake GitHub REST API on 127.0.0.1, for the Action's pull-request comment (stdlib only).

It serves what scanner/sources/github.py uses, with GitHub's shapes: list an issue's comments
(paginated with per_page/page), create a comment, update one by id. Every request is logged
with its method, path and body; the Authorization header is checked against the token and
kept only as a yes/no. Comments by others can be seeded to check that they are left alone.

    with FakeGitHub(token="t0k") as gh:
        gh.seed("org/repo", 7, "someone", "<!-- modelscan-report -->\\nnot ours")
        env["GITHUB_API_URL"] = gh.url
"""

from __future__ import annotations

import http.server
import json
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

BOT = "github-actions[bot]"
COMMENT_LIMIT = 65_536


@dataclass
class Call:
    method: str
    path: str
    body: Any
    authorized: bool


@dataclass
class FakeGitHub:
    token: str = "ghs_fake"
    login: str = BOT
    comments: dict[tuple[str, int], list[dict[str, Any]]] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    _next_id: int = 1000

    def seed(self, repo: str, number: int, login: str, body: str) -> int:
        self._next_id += 1
        self.comments.setdefault((repo, number), []).append(
            {"id": self._next_id, "body": body, "user": {"login": login, "type": "User"}})
        return self._next_id

    def __enter__(self) -> FakeGitHub:
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, code: int, payload: Any) -> None:
                data = json.dumps(payload).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                body = json.loads(raw) if raw else None
                ok = self.headers.get("Authorization") == f"Bearer {server.token}"
                url = urlsplit(self.path)
                server.calls.append(Call(method, url.path, body, ok))
                if not ok:
                    return self._send(401, {"message": "Bad credentials"})
                parts = url.path.strip("/").split("/")
                # /repos/{o}/{r}/issues/{n}/comments  and  /repos/{o}/{r}/issues/comments/{id}
                if len(parts) == 6 and parts[0] == "repos" and parts[3] == "issues" and parts[5] == "comments":
                    key = (f"{parts[1]}/{parts[2]}", int(parts[4]))
                    if method == "GET":
                        q = parse_qs(url.query)
                        per = int(q.get("per_page", ["30"])[0])
                        page = int(q.get("page", ["1"])[0])
                        items = server.comments.get(key, [])
                        return self._send(200, items[(page - 1) * per: page * per])
                    if method == "POST":
                        text = str((body or {}).get("body", ""))
                        if len(text) > COMMENT_LIMIT:
                            return self._send(422, {"message": "Body is too long (maximum is 65536 characters)"})
                        server._next_id += 1
                        comment = {"id": server._next_id, "body": text, "user": {"login": server.login, "type": "Bot"}}
                        server.comments.setdefault(key, []).append(comment)
                        return self._send(201, comment)
                if len(parts) == 6 and parts[3] == "issues" and parts[4] == "comments" and method == "PATCH":
                    cid = int(parts[5])
                    text = str((body or {}).get("body", ""))
                    if len(text) > COMMENT_LIMIT:
                        return self._send(422, {"message": "Body is too long (maximum is 65536 characters)"})
                    for items in server.comments.values():
                        for c in items:
                            if c["id"] == cid:
                                if c["user"]["login"] != server.login:
                                    return self._send(403, {"message": "not yours"})
                                c["body"] = text
                                return self._send(200, c)
                    return self._send(404, {"message": "Not Found"})
                return self._send(404, {"message": "Not Found"})

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

            def do_PATCH(self) -> None:
                self._handle("PATCH")

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def bodies(self, repo: str, number: int) -> list[str]:
        return [c["body"] for c in self.comments.get((repo, number), [])]
