"""A fake Hugging Face Hub on 127.0.0.1 for the tests (stdlib only; PyYAML is used if present).

It speaks the subset of the Hub HTTP API that the real ``huggingface_hub`` client uses for
model/dataset metadata, file downloads, repo trees and model search, with the headers and error
codes the client keys on (docs/architecture.md §4): point ``HfApi(endpoint=hub.url)`` or
``hf_hub_download(..., endpoint=hub.url)`` at it, or set ``HF_ENDPOINT`` before the first import.

    with FakeHub() as hub:
        sha = hub.add_repo("org/model", {"cardData": {"license": "mit"}}, {"config.json": "{}"})
        hub.fail(r"/api/models/org/model$", "status", code=429, retry_after=1)

Repos hold commits; every ``add_repo`` call for an existing repo adds a commit and moves the
branch to it, older commits stay reachable by sha. Faults (status, stall, truncate, reset) are
injected per request by a regex on the path. Every request is logged in ``hub.requests``;
tokens are kept (``auth_value``) for assertions but never printed (excluded from ``repr``).
"""

from __future__ import annotations

import copy
import datetime as _dt
import difflib
import hashlib
import http.server
import json
import re
import socket
import struct
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["FakeHub", "Request", "git_blob_sha1"]

# Files the Hub stores in LFS: the default .gitattributes of a new Hub repo, plus anything over 10 MiB.
_LFS_SUFFIXES = (
    ".7z", ".arrow", ".bin", ".bz2", ".ckpt", ".ftz", ".gz", ".h5", ".joblib", ".mlmodel", ".model",
    ".msgpack", ".npy", ".npz", ".onnx", ".ot", ".parquet", ".pb", ".pickle", ".pkl", ".pt", ".pth",
    ".rar", ".safetensors", ".tar", ".tflite", ".tgz", ".wasm", ".xz", ".zip", ".zst", ".gguf",
)
_LFS_THRESHOLD = 10 * 1024 * 1024
_KINDS = {"model": "models", "dataset": "datasets", "space": "spaces"}
_RESOLVE_PREFIX = {"model": "", "dataset": "datasets/", "space": "spaces/"}
_SHA_RE = re.compile(r"^[0-9a-f]{40}$")
_FRONT_MATTER = re.compile(r"^(\s*---(?:\r\n|\r|\n))([\S\s]*?)((?:\r\n|\r|\n)---[ \t]*(\r\n|\n|$))")
_INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def git_blob_sha1(data: bytes) -> str:
    """The git blob id of ``data`` (what the Hub calls blobId / oid / ETag)."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _now_z(ts: float | None = None) -> str:
    t = _dt.datetime.fromtimestamp(time.time() if ts is None else ts, tz=_dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _truthy(values: list[str] | None) -> bool:
    return bool(values) and values[-1].strip().lower() in ("true", "1", "yes")


@dataclass
class Request:
    """One request as the server saw it. ``auth_value`` is the bearer token (or the raw
    Authorization value if it is not a bearer token); it is left out of ``repr``."""

    method: str
    path: str  # percent-decoded path, without the query
    query: dict[str, list[str]]
    has_auth: bool
    auth_value: str | None = field(default=None, repr=False)
    raw_path: str = ""  # path as sent (still percent-encoded)
    headers: dict[str, str] = field(default_factory=dict, repr=False)  # lower-case names, Authorization redacted
    status: int | None = None  # status sent, None if none was sent (reset / stall cut short)
    time: float = 0.0


@dataclass
class _File:
    data: bytes
    blob_id: str
    lfs: dict | None  # {"sha256", "size", "pointerSize"}


@dataclass
class _Commit:
    sha: str
    info: dict
    files: dict[str, _File]
    last_modified: str


@dataclass
class _Repo:
    kind: str
    repo_id: str
    gated: bool | str = False
    private: bool = False
    ungated_files: frozenset = frozenset()
    gate_revision_api: bool = False
    created_at: str = ""
    commits: dict[str, _Commit] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)


@dataclass
class _Fault:
    pattern: re.Pattern
    kind: str
    times: int
    kw: dict
    method: str | None = None


class _HubError(Exception):
    def __init__(self, status: int, code: str | None, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True   # answer at once: headers and body go out in separate writes
    server_version = "FakeHub/1.0"
    hub: "FakeHub"  # set on the per-instance subclass

    def setup(self):
        super().setup()
        self.hub._track(self.connection, add=True)

    def finish(self):
        try:
            super().finish()
        finally:
            self.hub._track(self.connection, add=False)

    def log_message(self, format, *args):  # noqa: A002 - quiet; the hub keeps its own log
        pass

    def do_GET(self):
        self.hub._handle(self, "GET")

    def do_HEAD(self):
        self.hub._handle(self, "HEAD")

    def do_POST(self):
        self.hub._handle(self, "POST")

    def do_PUT(self):
        self.hub._handle(self, "PUT")

    def do_DELETE(self):
        self.hub._handle(self, "DELETE")


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024
    allow_reuse_address = True

    def handle_error(self, request, client_address):  # client went away: not our problem
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            super().handle_error(request, client_address)


class FakeHub:
    """A fake Hugging Face Hub. See the module docstring."""

    def __init__(self, latency: float = 0.0):
        self.latency = latency
        self.requests: list[Request] = []
        self.granted_tokens: set[str] = set()
        self.valid_tokens: set[str] | None = None
        self.search_results: dict | None = None
        self.tree_page_size = 1000
        self._repos: dict[tuple[str, str], _Repo] = {}
        self._faults: list[_Fault] = []
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._conns: set[socket.socket] = set()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._clock = 0.0

    # ------------------------------------------------------------------ lifecycle
    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("FakeHub not started")
        return self._url

    def start(self) -> "FakeHub":
        if self._server is not None:
            return self
        self._stop.clear()
        handler = type("_BoundHandler", (_Handler,), {"hub": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeHub", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes stalled / latency-sleeping handlers
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        with self._lock:
            conns, self._conns = list(self._conns), set()
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeHub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _track(self, conn: socket.socket, add: bool) -> None:
        with self._lock:
            (self._conns.add if add else self._conns.discard)(conn)

    # ------------------------------------------------------------------ fixtures
    def add_repo(
        self,
        repo_id: str,
        model_info: dict | None = None,
        files: dict[str, bytes | str] | None = None,
        *,
        kind: str = "model",
        gated: bool | str = False,
        private: bool = False,
        sha: str | None = None,
        revision: str = "main",
        ungated_files: tuple | list | set = (),
        gate_revision_api: bool = False,
    ) -> str:
        """Add a repo, or a new commit to it, and point ``revision`` at it. Returns the commit sha.

        ``model_info`` is the Hub JSON minus what the server computes (id, sha, siblings,
        lastModified unless given, gated, private). Without a README.md in ``files`` one is
        generated from ``cardData``; without ``cardData`` it is parsed from README.md front matter.
        ``ungated_files`` stay downloadable on a gated repo; ``gate_revision_api`` makes
        ``/api/models/{id}/revision/{rev}`` answer GatedRepo to callers without access.
        """
        if kind not in _KINDS:
            raise ValueError(f"kind must be one of {sorted(_KINDS)}")
        if gated not in (False, "auto", "manual", True):
            raise ValueError("gated must be False, True, 'auto' or 'manual'")
        info = copy.deepcopy(model_info) if model_info else {}
        raw = {p: (c.encode("utf-8") if isinstance(c, str) else bytes(c)) for p, c in (files or {}).items()}
        card = info.get("cardData")
        if "README.md" not in raw and isinstance(card, dict):
            raw["README.md"] = _make_readme(repo_id, card)
        elif "cardData" not in info and "README.md" in raw:
            parsed = _parse_front_matter(raw["README.md"])
            if parsed is not None:
                info["cardData"] = parsed
        built = {p: _make_file(p, data) for p, data in sorted(raw.items())}
        if sha is None:
            h = hashlib.sha1()
            h.update(json.dumps([kind, repo_id, info], sort_keys=True, default=str).encode())
            for p, f in built.items():
                h.update(f"{p}\0{f.blob_id}\0".encode())
            sha = h.hexdigest()
        elif not _SHA_RE.match(sha):
            raise ValueError(f"sha must be 40 lower-case hex digits, got {sha!r}")
        with self._lock:
            self._clock = max(time.time(), self._clock + 0.001)  # strictly increasing lastModified
            key = (kind, repo_id)
            repo = self._repos.get(key)
            if repo is None:
                repo = self._repos[key] = _Repo(kind, repo_id, created_at=_now_z(self._clock))
            repo.gated = "auto" if gated is True else gated
            repo.private = bool(private)
            repo.ungated_files = frozenset(ungated_files)
            repo.gate_revision_api = gate_revision_api
            last = info.get("lastModified") or _now_z(self._clock)
            repo.commits[sha] = _Commit(sha, info, built, last)
            repo.refs[revision] = sha
        return sha

    def add_missing(self, repo_id: str, kind: str = "model") -> None:
        """Make ``repo_id`` unknown (removing it if it was added): it then answers RepoNotFound."""
        with self._lock:
            self._repos.pop((kind, repo_id), None)

    def fail(self, pattern: str, kind: str, times: int = 1, **kw: Any) -> None:
        """Inject a fault into the next ``times`` requests (-1: all) whose path (+``?query``, raw or
        percent-decoded) matches the regex ``pattern`` (``re.search``). ``method=`` restricts it.

        kinds: ``status`` (code, error_code=None, retry_after=None, body=None, message=None,
        headers=None); ``stall`` (seconds=30, then answers normally unless stopped);
        ``truncate`` (nbytes=None -> half the body; full Content-Length is announced, then the
        connection is closed; only requests that have a body match); ``reset`` (the socket is
        closed with an RST, no answer); ``trickle`` (the normal answer, its body sent ``nbytes=1``
        at a time every ``pause=2.0`` seconds); ``endless`` (a 200 whose body starts with
        ``prefix=b'{"id": "'`` and then never ends: ``chunk=65536`` bytes of ``fill=b"a"`` at a
        time, without a Content-Length, until the client goes away or the hub stops).
        """
        if kind not in ("status", "stall", "truncate", "reset", "trickle", "endless"):
            raise ValueError(f"unknown fault kind {kind!r}")
        if kind == "status" and "code" not in kw:
            raise ValueError("a status fault needs code=")
        method = kw.pop("method", None)
        with self._lock:
            self._faults.append(_Fault(re.compile(pattern), kind, times, kw, method and method.upper()))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    # ------------------------------------------------------------------ log
    def count(self, method: str | None = None, path_regex: str | None = None) -> int:
        with self._lock:
            reqs = list(self.requests)
        return sum(
            1
            for r in reqs
            if (method is None or r.method == method.upper()) and (path_regex is None or re.search(path_regex, r.path))
        )

    def reset_log(self) -> None:
        with self._lock:
            self.requests.clear()

    # ------------------------------------------------------------------ request handling
    def _handle(self, h: _Handler, method: str) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        if length:
            h.rfile.read(length)
        split = urlsplit(h.path)
        raw_path, raw_query = split.path, split.query
        auth = h.headers.get("Authorization")
        token = None
        if auth:
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else auth
        headers = {k.lower(): ("<redacted>" if k.lower() == "authorization" else v) for k, v in h.headers.items()}
        req = Request(
            method=method,
            path=unquote(raw_path),
            query=parse_qs(raw_query, keep_blank_values=True),
            has_auth=bool(auth),
            auth_value=token,
            raw_path=raw_path,
            headers=headers,
            time=time.time(),
        )
        with self._lock:
            self.requests.append(req)
        try:
            if self.latency and self._stop.wait(self.latency):
                h.close_connection = True
                return
            fault = self._take_fault(req, raw_path, raw_query, method)
            truncate = None
            if fault is not None:
                if fault.kind == "endless":
                    self._send_endless(h, req, fault.kw)
                    return
                if fault.kind == "trickle":
                    try:
                        status, hdrs, body = self._route(req, raw_path, token, raw_query)
                    except _HubError as e:
                        status, hdrs, body = self._error(e)
                    self._send_trickle(h, req, status, hdrs, body, fault.kw)
                    return
                if fault.kind == "reset":
                    self._reset(h)
                    return
                if fault.kind == "stall":
                    if self._stop.wait(float(fault.kw.get("seconds", 30.0))):
                        h.close_connection = True
                        return
                elif fault.kind == "status":
                    self._send_fault_status(h, req, fault.kw, head=method == "HEAD")
                    return
                elif fault.kind == "truncate":
                    nbytes = fault.kw.get("nbytes")
                    truncate = -1 if nbytes is None else int(nbytes)
            try:
                status, hdrs, body = self._route(req, raw_path, token, raw_query)
            except _HubError as e:
                status, hdrs, body = self._error(e)
            self._send(h, req, status, hdrs, body, head=method == "HEAD", truncate=truncate)
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            h.close_connection = True
        except Exception:  # a bug in the fake: answer 500 so the test sees it, and print it
            traceback.print_exc()
            try:
                status, hdrs, body = self._error(_HubError(500, "FakeHubBug", "fake hub crashed, see stderr"))
                self._send(h, req, status, hdrs, body, head=method == "HEAD")
            except OSError:
                h.close_connection = True

    def _take_fault(self, req: Request, raw_path: str, raw_query: str, method: str) -> _Fault | None:
        q = f"?{raw_query}" if raw_query else ""
        targets = (raw_path + q, req.path + unquote(q))
        with self._lock:
            for f in self._faults:
                if f.times == 0 or (f.method and f.method != method):
                    continue
                if f.kind == "truncate" and method == "HEAD":
                    continue
                if any(f.pattern.search(t) for t in targets):
                    if f.times > 0:
                        f.times -= 1
                    return f
        return None

    @staticmethod
    def _reset(h: _Handler) -> None:
        h.close_connection = True
        try:
            h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            h.connection.close()
        except OSError:
            pass

    def _send_fault_status(self, h: _Handler, req: Request, kw: dict, head: bool) -> None:
        code = int(kw["code"])
        message = kw.get("message") or http.server.BaseHTTPRequestHandler.responses.get(code, ("Error",))[0]
        hdrs = {"Content-Type": "application/json"}
        if kw.get("error_code"):
            hdrs["X-Error-Code"] = kw["error_code"]
        hdrs["X-Error-Message"] = message
        if kw.get("retry_after") is not None:
            hdrs["Retry-After"] = str(kw["retry_after"])
        hdrs.update(kw.get("headers") or {})
        body = kw.get("body")
        if body is None:
            body = json.dumps({"error": message}).encode()
        elif isinstance(body, str):
            body = body.encode()
        elif not isinstance(body, bytes):
            body = json.dumps(body).encode()
        self._send(h, req, code, hdrs, body, head=head)

    def _send(self, h, req, status, hdrs, body: bytes, head=False, truncate=None) -> None:
        h.send_response(status)
        for k, v in hdrs.items():
            h.send_header(k, v)
        if "Content-Length" not in hdrs:
            h.send_header("Content-Length", str(len(body)))
        if truncate is not None:
            h.send_header("Connection", "close")
        h.end_headers()
        req.status = status
        if head:
            return
        if truncate is not None:
            n = len(body) // 2 if truncate < 0 else min(truncate, max(len(body) - 1, 0))
            h.wfile.write(body[:n])
            h.wfile.flush()
            h.close_connection = True
            try:
                h.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        h.wfile.write(body)

    def _send_trickle(self, h, req, status, hdrs, body: bytes, kw: dict) -> None:
        nbytes, pause = max(1, int(kw.get("nbytes", 1))), float(kw.get("pause", 2.0))
        h.send_response(status)
        for k, v in hdrs.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        req.status = status
        h.close_connection = True
        for i in range(0, len(body), nbytes):
            h.wfile.write(body[i:i + nbytes])
            h.wfile.flush()
            if self._stop.wait(pause):
                return

    def _send_endless(self, h, req, kw: dict) -> None:
        prefix = kw.get("prefix", b'{"id": "')
        chunk = bytes(kw.get("fill", b"a")) * max(1, int(kw.get("chunk", 65536)) // max(1, len(kw.get("fill", b"a"))))
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        h.end_headers()
        req.status = 200
        h.close_connection = True
        h.wfile.write(prefix)
        while not self._stop.is_set():
            h.wfile.write(chunk)   # BrokenPipe / reset when the client stops reading: handled by _handle

    @staticmethod
    def _error(e: _HubError) -> tuple[int, dict, bytes]:
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        if e.code:
            hdrs["X-Error-Code"] = e.code
        hdrs["X-Error-Message"] = e.message
        hdrs.update(e.headers)
        return e.status, hdrs, json.dumps({"error": e.message}).encode()

    @staticmethod
    def _json(obj: Any, extra: dict | None = None) -> tuple[int, dict, bytes]:
        hdrs = {"Content-Type": "application/json; charset=utf-8"}
        hdrs.update(extra or {})
        return 200, hdrs, json.dumps(obj).encode()

    # ------------------------------------------------------------------ routing
    def _route(self, req: Request, raw_path: str, token: str | None, raw_query: str):
        segs = [unquote(s) for s in raw_path.split("/")[1:]]
        if req.path == "/api/agent-harnesses":
            return self._json({"standardEnvVars": [], "harnesses": {}})
        if self.valid_tokens is not None and token is not None and token not in self.valid_tokens:
            # The real Hub sends this without an X-Error-Code; the client maps it to a plain HfHubHTTPError(401).
            raise _HubError(401, None, _INVALID_CREDENTIALS)
        if len(segs) >= 2 and segs[0] == "api" and segs[1] in _KINDS.values():
            kind = next(k for k, v in _KINDS.items() if v == segs[1])
            rest = segs[2:]
            if not rest or rest == [""]:
                return self._search(kind, req.query, token)
            repo_id, action, args = self._split(kind, rest, ("revision", "tree", "auth-check"))
            if action is None:
                return self._info(kind, repo_id, "main", req.query, token, explicit_rev=False)
            if action == "revision" and args:
                return self._info(kind, repo_id, "/".join(args), req.query, token, explicit_rev=True)
            if action == "tree" and args:
                return self._tree(kind, repo_id, args[0], "/".join(args[1:]), req, token, raw_query)
            if action == "auth-check" and not args:
                self._access(kind, repo_id, token, files=True)
                return self._json({})
        else:
            kind, rest = "model", segs
            if segs and segs[0] in ("datasets", "spaces"):
                kind, rest = segs[0][:-1], segs[1:]
            repo_id, action, args = self._split(kind, rest, ("resolve",))
            if action == "resolve" and len(args) >= 2:
                return self._resolve(kind, repo_id, args[0], "/".join(args[1:]), req, token)
        raise _HubError(404, "RouteNotFound", f"Fake hub has no route for {req.method} {req.path}")

    def _split(self, kind: str, rest: list[str], actions: tuple) -> tuple[str, str | None, list[str]]:
        candidates = []
        for n in (2, 1):
            if len(rest) >= n and all(rest[:n]):
                tail = rest[n:]
                if not tail or tail[0] in actions:
                    candidates.append(("/".join(rest[:n]), tail[0] if tail else None, tail[1:]))
        with self._lock:
            for c in candidates:
                if (kind, c[0]) in self._repos:
                    return c
        if candidates:
            return candidates[0]
        return "/".join(rest), None, []

    def _access(self, kind: str, repo_id: str, token: str | None, files: bool) -> _Repo:
        with self._lock:
            repo = self._repos.get((kind, repo_id))
        granted = token is not None and token in self.granted_tokens
        if repo is None or (repo.private and not granted):
            if token is None:
                raise _HubError(401, "RepoNotFound", "Invalid username or password.")
            raise _HubError(404, "RepoNotFound", "Repository not found")
        if files and repo.gated and not granted:
            what = kind
            if token is None:
                raise _HubError(
                    401,
                    "GatedRepo",
                    f"Access to {what} {repo_id} is restricted. You must have access to it and be authenticated "
                    "to access it. Please log in.",
                )
            raise _HubError(
                403,
                "GatedRepo",
                f"Access to {what} {repo_id} is restricted and you are not in the authorized list. "
                f"Visit https://huggingface.co/{_RESOLVE_PREFIX[kind]}{repo_id} to ask for access.",
            )
        return repo

    def _commit(self, repo: _Repo, rev: str, extra_headers: dict | None = None) -> _Commit:
        with self._lock:
            sha = repo.refs.get(rev)
            if sha is None and re.fullmatch(r"[0-9a-f]{4,40}", rev):
                hits = [s for s in repo.commits if s.startswith(rev)]
                if len(hits) == 1:
                    sha = hits[0]
            if sha is None:
                raise _HubError(404, "RevisionNotFound", f"Invalid rev id: {rev}", extra_headers)
            return repo.commits[sha]

    def _full_info(self, repo: _Repo, commit: _Commit, blobs: bool) -> dict:
        out: dict[str, Any] = {"_id": hashlib.sha1(f"{repo.kind}/{repo.repo_id}".encode()).hexdigest()[:24]}
        out["id"] = repo.repo_id
        if repo.kind == "model":
            out["modelId"] = repo.repo_id
        if "/" in repo.repo_id:
            out["author"] = repo.repo_id.split("/", 1)[0]
        out.update(
            sha=commit.sha,
            lastModified=commit.last_modified,
            createdAt=repo.created_at,
            private=repo.private,
            gated=repo.gated,
            disabled=False,
            downloads=0,
            likes=0,
        )
        info = copy.deepcopy(commit.info)
        for k in ("id", "sha", "siblings", "gated", "private", "lastModified"):
            info.pop(k, None)
        out.update(info)
        tags = list(out.get("tags") or [])
        card = out.get("cardData")
        lic = card.get("license") if isinstance(card, dict) else None
        for lid in [lic] if isinstance(lic, str) else (lic or []):
            if isinstance(lid, str) and f"license:{lid}" not in tags:
                tags.append(f"license:{lid}")
        out["tags"] = tags
        siblings = []
        for path, f in commit.files.items():
            s: dict[str, Any] = {"rfilename": path}
            if blobs:
                s["blobId"] = f.blob_id
                s["size"] = len(f.data)
                if f.lfs:
                    s["lfs"] = dict(f.lfs)
            siblings.append(s)
        out["siblings"] = siblings
        return out

    def _info(self, kind, repo_id, rev, query, token, explicit_rev):
        repo = self._access(kind, repo_id, token, files=explicit_rev and self._repos_gate_rev(kind, repo_id))
        commit = self._commit(repo, rev)
        full = self._full_info(repo, commit, blobs=_truthy(query.get("blobs")))
        expand = [e for v in query.get("expand", []) for e in v.split(",") if e]
        if expand:
            full = {k: full[k] for k in ["_id", "id", *expand] if k in full}
        return self._json(full)

    def _repos_gate_rev(self, kind, repo_id) -> bool:
        with self._lock:
            repo = self._repos.get((kind, repo_id))
        return bool(repo and repo.gate_revision_api)

    def _resolve(self, kind, repo_id, rev, path, req: Request, token):
        with self._lock:
            repo0 = self._repos.get((kind, repo_id))
        if repo0 is not None and path in repo0.ungated_files:
            repo = self._access(kind, repo_id, token, files=False)
        else:
            repo = self._access(kind, repo_id, token, files=True)
        commit = self._commit(repo, rev)
        f = commit.files.get(path)
        if f is None:
            raise _HubError(404, "EntryNotFound", "Entry not found", {"X-Repo-Commit": commit.sha})
        data = f.data
        hdrs = {
            "Content-Type": _content_type(path),
            "Accept-Ranges": "bytes",
            "X-Repo-Commit": commit.sha,
            "ETag": f'"{f.blob_id}"',
        }
        if f.lfs:
            hdrs["X-Linked-Etag"] = f'"{f.lfs["sha256"]}"'
            hdrs["X-Linked-Size"] = str(f.lfs["size"])
        status = 200
        rng = req.headers.get("range")
        if req.method == "GET" and rng:
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                size = len(data)
                if m.group(1):
                    start = int(m.group(1))
                    end = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
                else:  # suffix range: the last N bytes
                    start, end = max(size - int(m.group(2)), 0), size - 1
                if start >= size or start > end:
                    raise _HubError(416, "RangeNotSatisfiable", "Requested range not satisfiable",
                                    {"Content-Range": f"bytes */{size}"})
                hdrs["Content-Range"] = f"bytes {start}-{end}/{size}"
                data, status = data[start : end + 1], 206
        return status, hdrs, data

    def _tree(self, kind, repo_id, rev, path, req: Request, token, raw_query):
        repo = self._access(kind, repo_id, token, files=False)
        commit = self._commit(repo, rev)
        path = path.strip("/")
        recursive = _truthy(req.query.get("recursive"))
        files = commit.files
        dirs: set[str] = set()
        for p in files:
            parts = p.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        if path and path not in dirs:
            raise _HubError(404, "EntryNotFound", f"Entry not found: {path}")
        prefix = f"{path}/" if path else ""

        def wanted(p: str) -> bool:
            if not p.startswith(prefix):
                return False
            return recursive or "/" not in p[len(prefix):]

        entries = []
        for d in sorted(dirs):
            if wanted(d):
                oid = hashlib.sha1(f"tree {commit.sha} {d}".encode()).hexdigest()
                entries.append({"type": "directory", "oid": oid, "size": 0, "path": d})
        for p, f in files.items():
            if wanted(p):
                e: dict[str, Any] = {"type": "file", "oid": f.blob_id, "size": len(f.data), "path": p}
                if f.lfs:
                    e["lfs"] = {"oid": f.lfs["sha256"], "size": f.lfs["size"], "pointerSize": f.lfs["pointerSize"]}
                entries.append(e)
        page = self.tree_page_size if not _truthy(req.query.get("expand")) else min(50, self.tree_page_size)
        cursor = int((req.query.get("cursor") or ["0"])[-1] or 0)
        chunk = entries[cursor : cursor + page]
        extra = {}
        if cursor + page < len(entries):
            q = {k: v for k, v in req.query.items() if k != "cursor"}
            qs = "&".join(f"{quote(k)}={quote(x)}" for k, vs in q.items() for x in vs)
            nxt = f"{self.url}{req.raw_path}?{qs + '&' if qs else ''}cursor={cursor + page}"
            extra["Link"] = f'<{nxt}>; rel="next"'
        return self._json(chunk, extra)

    def _search(self, kind, query, token):
        search = (query.get("search") or [""])[-1]
        author = (query.get("author") or [""])[-1]
        try:
            limit = int((query.get("limit") or ["0"])[-1] or 0)
        except ValueError:
            raise _HubError(400, "BadRequest", "limit must be an integer") from None
        if self.search_results is not None:
            results = list(self.search_results.get(search, self.search_results.get(search.lower(), [])))
            if author:
                results = [r for r in results if str(r.get("id", "")).startswith(author + "/")]
        else:
            granted = token is not None and token in self.granted_tokens
            with self._lock:
                repos = [r for (k, _), r in self._repos.items() if k == kind and (not r.private or granted)]
            scored = []
            for r in repos:
                if author and not r.repo_id.startswith(author + "/"):
                    continue
                score = _fuzzy(search, r.repo_id)
                if score is None:
                    continue
                sha = r.refs.get("main") or next(iter(r.refs.values()))
                full = self._full_info(r, r.commits[sha], blobs=False)
                summary = {
                    k: full[k]
                    for k in ("_id", "id", "private", "gated", "downloads", "likes", "tags", "pipeline_tag",
                              "library_name", "createdAt", "modelId")
                    if k in full
                }
                scored.append((score, summary))
            sort = (query.get("sort") or [""])[-1]
            if sort:  # e.g. sort=downloads&direction=-1; missing values sort as 0
                desc = (query.get("direction") or ["-1"])[-1] == "-1"
                scored.sort(key=lambda t: t[1].get(sort) or 0, reverse=desc)
            else:
                scored.sort(key=lambda t: (-t[0], -(t[1].get("downloads") or 0), t[1]["id"]))
            results = [s for _, s in scored]
        if limit > 0:
            results = results[:limit]
        return self._json(results)


# ---------------------------------------------------------------------------- helpers
def _make_file(path: str, data: bytes) -> _File:
    is_lfs = len(data) > _LFS_THRESHOLD or path.lower().endswith(_LFS_SUFFIXES) or "tfevents" in path
    if not is_lfs:
        return _File(data, git_blob_sha1(data), None)
    sha256 = hashlib.sha256(data).hexdigest()
    pointer = f"version https://git-lfs.github.com/spec/v1\noid sha256:{sha256}\nsize {len(data)}\n".encode()
    return _File(data, git_blob_sha1(pointer), {"sha256": sha256, "size": len(data), "pointerSize": len(pointer)})


def _make_readme(repo_id: str, card: dict) -> bytes:
    try:
        import yaml

        front = yaml.safe_dump(card, sort_keys=False, allow_unicode=True)
    except ImportError:  # JSON is valid YAML
        front = json.dumps(card, indent=2, ensure_ascii=False) + "\n"
    name = repo_id.rsplit("/", 1)[-1]
    return f"---\n{front}---\n\n# {name}\n\nModel card of `{repo_id}` served by the test Hub.\n".encode()


def _parse_front_matter(readme: bytes) -> dict | None:
    try:
        text = readme.decode("utf-8-sig")
        m = _FRONT_MATTER.match(text)
        if not m:
            return None
        import yaml

        data = yaml.safe_load(m.group(2))
        return data if isinstance(data, dict) else None
    except Exception:
        return None


def _content_type(path: str) -> str:
    if path.endswith(".json"):
        return "application/json; charset=utf-8"
    if path.endswith((".md", ".txt", ".py", ".yaml", ".yml", ".cfg")) or "." not in path.rsplit("/", 1)[-1]:
        return "text/plain; charset=utf-8"
    return "application/octet-stream"


def _norm(s: str) -> str:
    return re.sub(r"[^a-z0-9]", "", s.lower())


def _fuzzy(search: str, repo_id: str) -> float | None:
    """Score how well ``search`` matches ``repo_id`` (None: no match). Case and punctuation are
    ignored; every word must occur, else a close spelling of the repo name is accepted."""
    if not search.strip():
        return 0.0
    rid, name = _norm(repo_id), _norm(repo_id.rsplit("/", 1)[-1])
    words = [_norm(w) for w in re.split(r"[\s/]+", search) if _norm(w)]
    if words and all(w in rid for w in words):
        return 1.0 + (1.0 if _norm(search) == name else 0.0)
    ratio = max(
        difflib.SequenceMatcher(None, _norm(search), name).ratio(),
        difflib.SequenceMatcher(None, _norm(search), rid).ratio(),
    )
    return ratio if ratio >= 0.75 else None


# ---------------------------------------------------------------------------------------------------
# Rate limits: a Hub that enforces a per-window quota per bucket and announces it, as the real one does
# ---------------------------------------------------------------------------------------------------
class QuotaHub(FakeHub):
    """A FakeHub that counts calls per fixed window and per bucket ("api": ``/api/...``;
    "resolvers": ``/resolve/`` file reads) and answers every counted call with

        RateLimit: "api";r=<left>;t=<seconds to the window's end, rounded up>
        RateLimit-Policy: "fixed window";"api";q=<quota>;w=<window>

    and a call past the quota with 429 (no Retry-After, like the Hub). A window opens with the
    first call after the previous one ended. ``limited`` counts the 429 answers.

        with QuotaHub(quota=100, window=20.0, latency=0.02) as hub: ...
    """

    def __init__(self, quota: int = 100, window: float = 20.0, latency: float = 0.0,
                 resolver_quota: int | None = None):
        super().__init__(latency=latency)
        self.quotas: dict[str, tuple[int, float]] = {"api": (quota, window)}
        if resolver_quota is not None:
            self.quotas["resolvers"] = (resolver_quota, window)
        self.limited = 0
        self._windows: dict[str, list[float]] = {}     # bucket -> [window end, calls counted]
        self._announce: dict[int, dict[str, str]] = {}  # id(Request) -> headers to add

    @staticmethod
    def bucket(path: str) -> str:
        return "resolvers" if "/resolve/" in path else "api"

    def _take_fault(self, req: Request, raw_path: str, raw_query: str, method: str) -> _Fault | None:
        bucket = self.bucket(req.path)
        if bucket == "api" and not req.path.startswith("/api/"):
            return super()._take_fault(req, raw_path, raw_query, method)
        limits = self.quotas.get(bucket)
        if limits is None:
            return super()._take_fault(req, raw_path, raw_query, method)
        quota, window = limits
        now = time.monotonic()
        with self._lock:
            w = self._windows.get(bucket)
            if w is None or now >= w[0]:
                w = self._windows[bucket] = [now + window, 0]
            w[1] += 1
            left = quota - w[1]
            reset = max(0, int(-(-(w[0] - now) // 1)))      # seconds, rounded up
            over = left < 0
            if over:
                self.limited += 1
        headers = {"RateLimit": f'"{bucket}";r={max(left, 0)};t={reset}',
                   "RateLimit-Policy": f'"fixed window";"{bucket}";q={quota};w={int(window)}'}
        if over:
            return _Fault(re.compile(""), "status", 1, {"code": 429, "headers": headers,
                                                        "message": f"rate limited: {bucket} quota spent"})
        fault = super()._take_fault(req, raw_path, raw_query, method)
        with self._lock:
            self._announce[id(req)] = headers
        return fault

    def _send(self, h, req, status, hdrs, body: bytes, head=False, truncate=None) -> None:
        with self._lock:
            extra = self._announce.pop(id(req), None)
        if extra:
            hdrs = {**hdrs, **extra}
        super()._send(h, req, status, hdrs, body, head=head, truncate=truncate)
