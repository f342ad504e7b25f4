"""The GitHub REST API, for the one pull-request comment the Action keeps (docs/github-action.md).

Only what that needs: list an issue's comments, create one, update one. Standard library only
(urllib), bounded: a timeout per request, bodies capped, at most 30 pages of comments. The
token goes into the Authorization header and nowhere else; errors name the status and the
API's message, never the request headers.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

MAX_BODY = 8 * 1024 * 1024
MAX_PAGES = 30


class GitHubError(Exception):
    """A request the GitHub API refused or that failed; one line, no token."""


class GitHubAPI:
    def __init__(self, base_url: str, token: str, timeout: float = 20.0):
        self.base = base_url.rstrip("/")
        self._token = token
        self.timeout = timeout

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(self.base + path, data=data, method=method, headers={
            "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
            "Authorization": f"Bearer {self._token}", "User-Agent": "modelscan-action",
            **({"Content-Type": "application/json"} if data is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read(65536) or b"{}").get("message", "")
            except (ValueError, AttributeError, OSError):
                message = ""
            detail = f": {str(message)[:200]}" if message else ""
            raise GitHubError(f"{method} {path}: HTTP {exc.code}{detail}") from None
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            reason = getattr(exc, "reason", exc)
            raise GitHubError(f"{method} {path}: {type(exc).__name__}: {str(reason)[:200]}") from None
        if len(raw) > MAX_BODY:
            raise GitHubError(f"{method} {path}: answer larger than {MAX_BODY} bytes")
        try:
            return json.loads(raw or b"null")
        except ValueError:
            raise GitHubError(f"{method} {path}: answer is not JSON") from None

    def issue_comments(self, repo: str, number: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            batch = self._request("GET", f"/repos/{repo}/issues/{number}/comments?per_page=100&page={page}")
            if not isinstance(batch, list):
                raise GitHubError(f"GET /repos/{repo}/issues/{number}/comments: not a list")
            out.extend(c for c in batch if isinstance(c, dict))
            if len(batch) < 100:
                break
        return out

    def create_comment(self, repo: str, number: int, body: str) -> dict[str, Any]:
        return self._request("POST", f"/repos/{repo}/issues/{number}/comments", {"body": body})

    def update_comment(self, repo: str, comment_id: int, body: str) -> dict[str, Any]:
        return self._request("PATCH", f"/repos/{repo}/issues/comments/{int(comment_id)}", {"body": body})
