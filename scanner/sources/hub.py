"""The Hugging Face Hub source, through huggingface_hub's HTTP session.

One `model_info` call per target (card data, tags, gate, siblings with blob ids and
sizes, commit sha), then only the small files whose content is needed. Every request goes
through the transport policy of scanner/sources/http.py: explicit timeouts, bounded retries
with backoff that honours a capped Retry-After, bodies streamed and cut at a byte cap, and the
target's deadline (its own reads, its lineage and its datasets). Every field of the answer is
checked (scanner/sources/shapes.py): a field of the wrong type is a finding, not a lost target,
and a commit sha is used as a path only when it is 40 hex digits. What was seen is kept in a
metadata cache keyed by repo and commit sha (the client caches files, never model_info), so
pinned, repeated and offline scans make no request.

Which files to read is decided here, except one rule passed in by the caller (`needs_card`):
whether a card whose metadata names a license must still be read for what its prose says.

The token (HF_TOKEN or the client's token file) is sent to the Hub and nowhere else, and never
appears in messages, reports or cache files (scanner/redact.py).
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

from scanner.evidence import CARD_FILE, Evidence, FileEvidence, MAX_FILE_BYTES, SourceIssue, freeze, is_license_file
from scanner.redact import redact, register
from scanner.sources.files import file_evidence
from scanner.sources.hfutils import hf_utils
from scanner.sources.http import RETRY_STATUSES, Body, Deadline, HttpError, Transport, TransportSettings, describe
from scanner.sources.interface import Source
from scanner.sources.shapes import hub_info, is_sha, load_json
from scanner.sources.metacache import MetadataCache
from scanner.sources.snapshot import CorruptRecord, SnapshotStore, evidence_from_info
from scanner.targets import Target, TargetError

__all__ = ["HubSettings", "HubSource", "RETRY_STATUSES", "default_cache_dir", "info_to_json"]

MAX_INFO_BYTES = 16_000_000      # a model_info answer with every file's metadata; real ones are far smaller
MAX_SEARCH_BYTES = 1_000_000

# Which card to read besides the license files: (model_info, cardData) -> the card text is needed.
CardRule = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]


@dataclass(frozen=True)
class HubSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    attempts: int = 4                 # tries per request, first included
    backoff: float = 0.5              # seconds, doubled per retry, with jitter
    max_retry_after: float = 10.0     # cap on a server's Retry-After
    deadline: float = 90.0            # seconds per target: its reads, its lineage, its datasets
    suggest_deadline: float = 5.0     # seconds for the "did you mean" search
    max_file_bytes: int = MAX_FILE_BYTES
    max_info_bytes: int = MAX_INFO_BYTES

    def transport(self) -> TransportSettings:
        return TransportSettings(connect_timeout=self.connect_timeout, read_timeout=self.read_timeout,
                                 attempts=self.attempts, backoff=self.backoff, max_retry_after=self.max_retry_after)


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def default_cache_dir() -> Path:
    if os.environ.get("MODELSCAN_CACHE"):
        return Path(os.environ["MODELSCAN_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(hf_home) / "modelscan" / "metadata"


class HubSource(Source):
    name = "hub"

    def __init__(self, settings: HubSettings | None = None, cache_dir: Path | None = None,
                 token: str | None | bool = None, offline: bool | None = None, endpoint: str | None = None,
                 use_cache: bool = True, needs_card: CardRule | None = None, transport: Transport | None = None,
                 store: SnapshotStore | None = None):
        """`store`: write what is fetched into this snapshot (`modelscan record`) instead of the
        metadata cache, and reuse what it already holds."""
        # Keep the client from calling home on import (its agent-registry side request goes to
        # huggingface.co whatever endpoint is passed): a compliance gate makes only the requests it needs.
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
        import huggingface_hub
        from huggingface_hub import constants

        self.settings = settings or HubSettings()
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        register_userinfo(self.endpoint)
        self.offline = _truthy(os.environ.get("HF_HUB_OFFLINE")) if offline is None else offline
        if token is None or token is True:      # True: the client's token, as huggingface_hub reads it
            try:
                token = huggingface_hub.get_token()
            except Exception:  # noqa: BLE001 - an unreadable token file: go on anonymously
                token = None
        self._token: str | None = token if isinstance(token, str) and token else None
        register(self._token)
        # Set when the Hub answers 401 "invalid credentials": the token is then sent no more (public
        # repos and their files are read anonymously) but still redacted from every message.
        self._token_rejected = False
        self._built_headers: dict[str | bool, Mapping[str, str]] = {}
        self.needs_card = needs_card
        self.transport = transport or Transport(self.settings.transport(), secrets=lambda: (self._token or "",))
        self.cache: MetadataCache | SnapshotStore | None = store
        self.cache_problem: str | None = None
        if use_cache and store is None:
            try:
                self.cache = MetadataCache(cache_dir or default_cache_dir(), create=True)
            except (OSError, TargetError) as exc:
                # An unreadable or unwritable cache folder costs requests, never the scan.
                self.cache_problem = f"metadata cache unavailable: {getattr(exc, 'strerror', None) or exc}"
        # record --withhold-known: decides which texts a snapshot keeps only as hashes
        self.withhold: Callable[[str, str], bool] | None = None

    @property
    def requests(self) -> int:
        return self.transport.requests

    @property
    def default_deadline(self) -> float:
        return self.settings.deadline

    # -- safety ------------------------------------------------------------------------------------
    def _auth(self) -> str | bool:
        """The token to send (False: none, never the client's implicit one)."""
        return False if self._token_rejected or not self._token else self._token

    def redact(self, text: str) -> str:
        return redact(text, self._token)

    def _headers(self, anonymous: bool = False) -> Callable[[], Mapping[str, str]]:
        def build() -> Mapping[str, str]:
            token = False if anonymous else self._auth()
            try:
                return self._built_headers[token]
            except KeyError:
                # the client's headers (user agent, token) for this token, built once: its builder
                # validates its arguments by signature on every call
                headers = self._built_headers[token] = hf_utils("build_hf_headers")(token=token)
                return headers
        return build

    # -- model_info ----------------------------------------------------------------------------------
    def _model_info(self, repo_id: str, revision: str | None, kind: str, deadline: Deadline,
                    anonymous: bool = False, suggest: bool = True) -> tuple[dict[str, Any], list[str]]:
        """(Hub-shaped info with every ill-typed field dropped, the problems); TargetError when the
        repository cannot be read at all."""
        GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, RevisionNotFoundError = (
            hf_utils(n) for n in ("GatedRepoError", "HfHubHTTPError", "RepositoryNotFoundError",
                                  "RevisionNotFoundError"))

        what = f"{kind} info for {repo_id}"
        plural = "models" if kind == "model" else "datasets"

        def get(rev: str | None) -> Body:
            url = f"{self.endpoint}/api/{plural}/{repo_id}" + (
                f"/revision/{quote(rev, safe='')}" if rev is not None else "")
            body = self.transport.get(url, what, deadline, self.settings.max_info_bytes,
                                      self._headers(anonymous or self._token_rejected), {"blobs": "true"})
            if body.status >= 400:
                _raise_for_status(body)
            return body

        try:
            try:
                body = get(revision)
            except GatedRepoError:
                if revision is None:
                    raise TargetError(f"{kind} {repo_id}: the Hub refused its metadata (gated)") from None
                # Some Hub versions gate /revision/{rev} for anonymous callers but not the default branch.
                body = get(None)
                head, _ = _peek_sha(body)
                if not (head or "").startswith(revision):
                    raise TargetError(f"{kind} {repo_id}@{revision}: gated; the pinned revision cannot be read "
                                      "without an accepted token (set HF_TOKEN)") from None
        except RevisionNotFoundError:
            raise TargetError(f"{kind} {repo_id}: revision '{revision}' not found on the Hub") from None
        except RepositoryNotFoundError:
            raise TargetError(f"{kind} {repo_id} not found on the Hub (or private)",
                              self.suggest(repo_id, deadline.left()) if kind == "model" and suggest else (),
                              not_found=True) from None
        except HfHubHTTPError as exc:
            if _status(exc) == 401 and self._auth() and not anonymous:
                # An invalid or revoked token is refused even for public repos: go on without it,
                # for this repo's files and every later request too.
                self._token_rejected = True
                return self._model_info(repo_id, revision, kind, deadline, anonymous=True, suggest=suggest)
            raise TargetError(self.redact(f"{kind} {repo_id}: Hub error {describe(exc)}")) from None
        except HttpError as exc:
            if exc.kind == "deadline":
                raise TargetError(f"{kind} {repo_id}: {exc}") from None
            raise TargetError(f"{kind} {repo_id}: Hub unreachable: {exc}") from None
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - anything else: one line, exit 2
            raise TargetError(self.redact(f"{kind} {repo_id}: {describe(exc)}")) from None
        if not body.complete:
            raise TargetError(f"{kind} {repo_id}: the Hub's answer is over the {self.settings.max_info_bytes}-byte "
                              "limit; not read")
        try:
            data, problems = load_json(body.data, what)
        except ValueError as exc:
            raise TargetError(self.redact(f"{kind} {repo_id}: unreadable Hub response: {exc}")) from None
        info, more = hub_info(data, repo_id, kind)
        return info, problems + more

    # -- files ----------------------------------------------------------------------------------------
    def _get_file(self, repo_id: str, sha: str, path: str, kind: str, size: int | None,
                  deadline: Deadline) -> FileEvidence:
        cap = self.settings.max_file_bytes
        if size is not None and size > cap:
            return FileEvidence(path, "too-large", size=size, error=f"over the {cap}-byte limit; not fetched")
        prefix = "" if kind == "model" else "datasets/"
        url = f"{self.endpoint}/{prefix}{repo_id}/resolve/{quote(sha, safe='')}/{quote(path)}"
        try:
            body = self.transport.get(url, f"GET {path}", deadline, cap, self._headers())
            code = body.headers.get("x-error-code")
            if body.status == 401 and code is None and self._auth():
                # "Invalid credentials": the token is refused, not the file; read it anonymously.
                self._token_rejected = True
                body = self.transport.get(url, f"GET {path}", deadline, cap, self._headers(anonymous=True))
                code = body.headers.get("x-error-code")
        except HttpError as exc:
            return FileEvidence(path, "error", size=size, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any client failure becomes evidence, never a crash
            return FileEvidence(path, "error", size=size, error=self.redact(describe(exc)))
        status = body.status
        if status in (401, 403) and (code == "GatedRepo" or status == 403):
            return FileEvidence(path, "gated", size=size, error=f"HTTP {status} {code or ''}".strip())
        if status == 404:
            return FileEvidence(path, "missing", size=size, error=f"HTTP 404 {code or ''}".strip())
        if status >= 400:
            return FileEvidence(path, "error", size=size, error=f"HTTP {status} {code or ''}".strip())
        if not body.complete:
            # The listing said `size` (<= cap) but more came: the true size is unknown.
            listed = f" (listed as {size} bytes)" if size is not None else ""
            return FileEvidence(path, "too-large", size=body.received,
                                error=f"over the {cap}-byte limit{listed}; reading stopped")
        return file_evidence(path, body.data, cap, keep_raw=self.cache is not None)

    # -- the source --------------------------------------------------------------------------------
    def fetch(self, target: Target, deadline: Deadline | None = None) -> Evidence:
        return self._fetch(target.raw, target.repo_id or "", target.revision, "model", deadline)

    def fetch_dataset(self, repo_id: str, revision: str | None = None, deadline: Deadline | None = None) -> Evidence:
        return self._fetch(repo_id, repo_id, revision, "dataset", deadline)

    def fetch_within(self, target: Target, deadline: Deadline, suggest: bool = True) -> Evidence:
        return self._fetch(target.raw, target.repo_id or "", target.revision, "model", deadline, suggest)

    def dataset_within(self, repo_id: str, revision: str | None, deadline: Deadline) -> Evidence:
        return self._fetch(repo_id, repo_id, revision, "dataset", deadline)

    def _fetch(self, raw: str, repo_id: str, revision: str | None, kind: str, deadline: Deadline | None,
               suggest: bool = True) -> Evidence:
        deadline = deadline or Deadline(self.settings.deadline)
        cache = self.cache
        # A pinned commit already seen needs no request at all.
        # (load is None for a commit not held: no separate has() that would read the record twice)
        if cache is not None and revision and is_sha(revision):
            ev = _cache_load(cache, raw, repo_id, revision, kind)
            if ev is not None and not _transient(ev):
                return _with_source(ev, "hub", {"cache": "hit"})
        if self.offline:
            ev = cache.load(raw, repo_id, revision, kind) if cache is not None else None
            if ev is None:
                raise TargetError(f"{kind} {repo_id}{'@' + revision if revision else ''}: not in the metadata "
                                  "cache and HF_HUB_OFFLINE is set" + (f" ({self.cache_problem})"
                                                                        if self.cache_problem else ""))
            return _with_source(ev, "hub", {"cache": "offline"})
        if deadline.expired:
            raise TargetError(f"{kind} {repo_id}: not read: {deadline.describe()}")
        info, problems = self._model_info(repo_id, revision, kind, deadline, suggest=suggest)
        issues = [SourceIssue("field-malformed", self.redact(p)) for p in problems]
        sha = info.get("sha")                 # 40 hex digits or absent (shapes.hub_info)
        if cache is not None and sha:
            ev = _cache_load(cache, raw, repo_id, sha, kind)
            if ev is not None and not _transient(ev) and not issues:
                # The commit was cached under another ref (or its sha): remember that this ref points
                # at it too, or an offline scan (or a recorded snapshot) of the ref would not find it.
                _remember_ref(cache, repo_id, revision, sha, kind)
                return _with_source(_with_revision(ev, revision), "hub", {"cache": "files"})
        files = self._files(repo_id, sha or revision or "main", info, kind, deadline)
        if cache is not None and sha and not issues:
            try:
                cache.save(repo_id, revision, info, files, kind, withhold=self._withheld(info, files))
            except (OSError, ValueError) as exc:
                issues.append(SourceIssue("file-unreadable", f"metadata cache not written: "
                                                             f"{getattr(exc, 'strerror', None) or exc}"))
        files = [replace(f, raw=None) if f.raw is not None else f for f in files]   # recorded: bytes not kept
        ev = evidence_from_info(raw, "hub", kind, revision, info, tuple(files), None, {},
                                {"endpoint": without_credentials(self.endpoint)})
        return replace(ev, issues=tuple(issues))

    def _withheld(self, info: Mapping[str, Any], files: list[FileEvidence]) -> frozenset[str]:
        if self.withhold is None:
            return frozenset()
        out = {f.path for f in files if f.readable and self.withhold(f.path, f.text or "")}
        card = info.get("cardData")
        prompt = card.get("extra_gated_prompt") if isinstance(card, dict) else None
        if isinstance(prompt, str) and self.withhold("extra_gated_prompt", prompt):
            out.add("extra_gated_prompt")
        return frozenset(out)

    def _files(self, repo_id: str, sha: str, info: Mapping[str, Any], kind: str, deadline: Deadline
               ) -> list[FileEvidence]:
        siblings = {s["rfilename"]: s.get("size") for s in info.get("siblings") or ()}
        card = info.get("cardData") if isinstance(info.get("cardData"), dict) else None
        wanted = [p for p in sorted(siblings) if is_license_file(p)]
        # The card's metadata comes parsed in model_info; its text is needed only when that
        # metadata is missing or names no license (then the body and front matter are the evidence),
        # or when the caller's rule says its prose may matter (e.g. it may name a base model).
        if CARD_FILE in siblings and (card is None or not (card.get("license") or card.get("license_name"))
                                      or (kind == "model" and self.needs_card is not None
                                          and self.needs_card(info, card))):
            wanted.insert(0, CARD_FILE)
        return [self._get_file(repo_id, sha, p, kind, siblings.get(p), deadline) for p in wanted]

    def suggest(self, repo_id: str, budget: float | None = None) -> tuple[str, ...]:
        """'Did you mean': the Hub's model search under its own short deadline (and within `budget`,
        what is left of the target's); no answer = no suggestion."""
        deadline = Deadline(min(self.settings.suggest_deadline, budget if budget is not None else float("inf")))
        once = Transport(replace(self.transport.settings, attempts=1), self.transport.secrets, self.transport.hooks)
        name = repo_id.split("/")[-1]
        words = [w for w in re.split(r"[-_.]", name) if w]
        queries = [name] + ([" ".join(words)] if len(words) > 1 else []) + (
            [max(words, key=len)] if words else [])
        found: list[str] = []
        for q in queries:
            if deadline.left() <= 0.1 or len(found) >= 20:
                break
            try:
                body = once.get(f"{self.endpoint}/api/models", "model search", deadline, MAX_SEARCH_BYTES,
                                self._headers(), {"search": q, "limit": "20"})
            except HttpError:
                break      # a search endpoint that stalls or refuses will not answer the next query
            finally:
                self.transport.requests += once.requests
                once.requests = 0
            if body.status != 200 or not body.complete:
                continue
            try:
                data, _ = load_json(body.data, "model search")
            except ValueError:
                continue
            for item in data if isinstance(data, list) else ():
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] not in found:
                    found.append(item["id"])
        ranked = sorted(found, key=lambda c: -difflib.SequenceMatcher(None, repo_id.lower(), c.lower()).ratio())
        return tuple(c for c in ranked[:3] if difflib.SequenceMatcher(None, repo_id.lower(), c.lower()).ratio() > 0.5)


def _cache_load(cache: MetadataCache | SnapshotStore, raw: str, repo_id: str, revision: str | None,
                kind: str) -> Evidence | None:
    """A cached entry, or None (a damaged one is a miss: it is fetched again and rewritten)."""
    try:
        return cache.load(raw, repo_id, revision, kind)
    except CorruptRecord:
        return None


def _remember_ref(cache: MetadataCache | SnapshotStore, repo_id: str, revision: str | None, sha: str,
                  kind: str) -> None:
    try:
        cache.set_ref(repo_id, revision, sha, kind)
    except OSError:
        pass   # a cache that cannot be written only costs a request next time


def _with_source(ev: Evidence, source: str, extra: Mapping[str, Any]) -> Evidence:
    return replace(ev, source=source, provenance=freeze({**dict(ev.provenance), **extra}))


def _with_revision(ev: Evidence, revision: str | None) -> Evidence:
    return replace(ev, revision=revision)


def _transient(ev: Evidence) -> bool:
    """Cached evidence with gaps a new attempt might fill (gated with a new token, a failed GET)."""
    return any(f.status in ("gated", "error") for f in ev.files)


@functools.lru_cache(maxsize=16)        # one endpoint, asked for every model's provenance
def without_credentials(url: str) -> str:
    """An endpoint as reports may show it: no user:password@ part."""
    from urllib.parse import urlsplit, urlunsplit

    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        netloc = host + (f":{parts.port}" if parts.port else "")
    except ValueError:
        return redact(url)
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def register_userinfo(url: str) -> None:
    """Remember the password (and user) of an endpoint URL as secrets of this process."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url)
        register(parts.password)
        if parts.password:
            register(parts.username)
    except ValueError:
        pass


def _raise_for_status(body: Body) -> None:
    """The client's own error classes (gated, not found, revision not found) for an error answer."""
    hx = hf_utils("httpx")
    resp = hx.Response(body.status, headers=dict(body.headers), content=body.data,
                       request=hx.Request("GET", body.url))
    hf_utils("hf_raise_for_status")(resp)
    raise HttpError(f"HTTP {body.status}", body.status, "status")


def _peek_sha(body: Body) -> tuple[str | None, list[str]]:
    try:
        data, problems = load_json(body.data, "model info")
    except ValueError:
        return None, []
    sha = data.get("sha") if isinstance(data, dict) else None
    return (sha if is_sha(sha) else None), problems


def _status(exc: BaseException) -> int | None:
    resp = getattr(exc, "response", None)
    status = getattr(resp, "status_code", None)
    return status if isinstance(status, int) else None


def info_to_json(info: Any) -> dict[str, Any]:
    """Hub-shaped JSON from a huggingface_hub ModelInfo/DatasetInfo (what a snapshot records)."""
    card = getattr(info, "card_data", None)
    if card is not None and hasattr(card, "to_dict"):
        card = card.to_dict()
    elif card is not None and not isinstance(card, dict):
        card = None
    siblings = []
    for s in getattr(info, "siblings", None) or ():
        entry: dict[str, Any] = {"rfilename": s.rfilename}
        if getattr(s, "size", None) is not None:
            entry["size"] = s.size
        if getattr(s, "blob_id", None):
            entry["blobId"] = s.blob_id
        lfs = getattr(s, "lfs", None)
        if lfs:
            entry["lfs"] = {"sha256": lfs.sha256, "size": lfs.size, "pointerSize": lfs.pointer_size}
        siblings.append(entry)
    last = getattr(info, "last_modified", None)
    out = {
        "id": info.id, "sha": info.sha, "author": getattr(info, "author", None),
        "private": getattr(info, "private", None), "gated": getattr(info, "gated", None),
        "disabled": getattr(info, "disabled", None), "tags": list(getattr(info, "tags", None) or ()),
        "pipeline_tag": getattr(info, "pipeline_tag", None), "library_name": getattr(info, "library_name", None),
        "cardData": card, "config": getattr(info, "config", None), "siblings": siblings,
        "lastModified": last.strftime("%Y-%m-%dT%H:%M:%S.000Z") if last is not None else None,
    }
    return {k: v for k, v in out.items() if v is not None}
