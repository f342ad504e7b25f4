"""The Hugging Face Hub source, through huggingface_hub.

One `model_info` call per target (card data, tags, gate, siblings with blob ids and
sizes, commit sha), then only the small files whose content is needed, each with one
streamed GET that stops at the size cap. Every call has explicit timeouts; 429 and 5xx
answers are retried a bounded number of times with backoff that honours a capped
Retry-After; and an overall deadline bounds each target. What was seen is kept in a
metadata cache keyed by repo and commit sha (the client caches files, never
model_info), so pinned, repeated and offline scans make no request.

The token (HF_TOKEN or the client's token file) is sent to the Hub and nowhere else,
and never appears in messages: every message passes through `redact`.
"""

from __future__ import annotations

import difflib
import email.utils
import os
import random
import re
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Mapping
from urllib.parse import quote

from scanner.evidence import CARD_FILE, Evidence, FileEvidence, MAX_FILE_BYTES, SourceIssue, freeze, is_license_file
from scanner.redact import redact
from scanner.sources.files import file_evidence
from scanner.sources import ratelimit
from scanner.sources.interface import Source
from scanner.sources.snapshot import CorruptRecord, MetadataCache, SnapshotStore, evidence_from_info
from scanner.targets import Target, TargetError

_SHA = re.compile(r"^[0-9a-f]{40}$")
RETRY_STATUSES = {408, 429, 500, 502, 503, 504}


@dataclass(frozen=True)
class HubSettings:
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    attempts: int = 4                 # tries per request, first included
    backoff: float = 0.5              # seconds, doubled per retry, with jitter
    max_retry_after: float = 10.0     # cap on a server's Retry-After
    deadline: float = 90.0            # seconds per target, all requests included
    suggest_deadline: float = 5.0     # seconds for the "did you mean" search
    max_file_bytes: int = MAX_FILE_BYTES


def _truthy(value: str | None) -> bool:
    return (value or "").strip().upper() in ("1", "ON", "YES", "TRUE")


def default_cache_dir() -> Path:
    if os.environ.get("MODELSCAN_CACHE"):
        return Path(os.environ["MODELSCAN_CACHE"])
    hf_home = os.environ.get("HF_HOME") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "huggingface")
    return Path(hf_home) / "modelscan" / "metadata"


class _Deadline:
    # The run clock stops while a Hub rate limit pauses the run: the pause is bounded on its own.
    def __init__(self, seconds: float):
        self.end = ratelimit.clock() + seconds

    def left(self) -> float:
        return self.end - ratelimit.clock()


class HubRequestError(Exception):
    """A request that failed after its retries (or one that must not be retried)."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class HubSource(Source):
    name = "hub"

    def __init__(self, settings: HubSettings | None = None, cache_dir: Path | None = None,
                 token: str | None | bool = None, offline: bool | None = None, endpoint: str | None = None,
                 use_cache: bool = True):
        # Keep the client from calling home on import (its agent-registry side request goes to
        # huggingface.co whatever endpoint is passed): a compliance gate makes only the requests it needs.
        os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
        os.environ.setdefault("HF_HUB_DISABLE_XET", "1")
        import huggingface_hub
        from huggingface_hub import constants

        self.settings = settings or HubSettings()
        self.endpoint = (endpoint or os.environ.get("HF_ENDPOINT") or constants.ENDPOINT).rstrip("/")
        self.offline = _truthy(os.environ.get("HF_HUB_OFFLINE")) if offline is None else offline
        if token is None or token is True:      # True: the client's token, as huggingface_hub reads it
            token = huggingface_hub.get_token()
        self._token: str | None = token if isinstance(token, str) and token else None
        # Set when the Hub answers 401 "invalid credentials": the token is then sent no more (public
        # repos and their files are read anonymously) but still redacted from every message.
        self._token_rejected = False
        self.api = huggingface_hub.HfApi(endpoint=self.endpoint, token=self._token or False)
        self.cache = MetadataCache(cache_dir or default_cache_dir(), create=True) if use_cache else None
        self.requests = 0
        # record --withhold-known: decides which texts a snapshot keeps only as hashes
        self.withhold: Callable[[str, str], bool] | None = None
        self._sleep: Callable[[float], None] = time.sleep

    # -- safety ------------------------------------------------------------------------------------
    def _auth(self) -> str | bool:
        """The token to send (False: none, never the client's implicit one)."""
        return False if self._token_rejected or not self._token else self._token

    def redact(self, text: str) -> str:
        return redact(text, self._token)

    # -- retries -----------------------------------------------------------------------------------
    def _retry(self, what: str, call: Callable[[float], Any], deadline: _Deadline) -> Any:
        """Run call(timeout) with bounded retries on 429/5xx/transport errors, within the deadline."""
        last: Exception | None = None
        from huggingface_hub.utils import get_session
        ratelimit.attach(get_session())    # every call waits for the Hub's quota (shared by the workers)
        for attempt in range(self.settings.attempts):
            left = deadline.left()
            if left <= 0.05:
                break
            try:
                self.requests += 1
                return call(min(self.settings.read_timeout, left))
            except HubRequestError as exc:
                if exc.status not in RETRY_STATUSES:
                    raise
                last = exc
                wait = getattr(exc, "retry_after", None)
            except Exception as exc:  # noqa: BLE001 - classified below
                status = _status_of(exc)
                if status is not None and status not in RETRY_STATUSES:
                    raise
                if status is None and not _is_transport_error(exc):
                    raise
                last = exc
                wait = _retry_after(exc)
            if attempt + 1 >= self.settings.attempts:
                break
            delay = self.settings.backoff * (2 ** attempt) * (0.75 + random.random() / 2)
            if wait is not None:
                delay = max(delay, min(wait, self.settings.max_retry_after))
            if delay >= deadline.left():
                break
            self._sleep(delay)
        reason = _describe(last) if last else "deadline reached"
        raise HubRequestError(self.redact(f"{what}: {reason} (after {self.settings.attempts} attempts or the deadline)"),
                              _status_of(last) if last else None)

    def _timeout(self, seconds: float) -> Any:
        try:
            from huggingface_hub.utils import httpx as hx  # the client's own HTTP library (httpx or httpx2)
            return hx.Timeout(seconds, connect=min(self.settings.connect_timeout, seconds))
        except Exception:  # noqa: BLE001 - older clients: a plain number
            return seconds

    # -- model_info ----------------------------------------------------------------------------------
    def _model_info(self, repo_id: str, revision: str | None, kind: str, deadline: _Deadline,
                    anonymous: bool = False) -> dict[str, Any]:
        from huggingface_hub.utils import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError, \
            RevisionNotFoundError

        api = self.api
        if anonymous or self._token_rejected:
            import huggingface_hub
            api = huggingface_hub.HfApi(endpoint=self.endpoint, token=False)
        fn = api.model_info if kind == "model" else api.dataset_info

        def call(timeout: float) -> Any:
            return fn(repo_id, revision=revision, files_metadata=True, timeout=self._timeout(timeout))

        try:
            info = self._retry(f"{kind} info for {repo_id}", call, deadline)
        except GatedRepoError:
            if revision is None:
                raise TargetError(f"{kind} {repo_id}: the Hub refused its metadata (gated)") from None
            # Some Hub versions gate /revision/{rev} for anonymous callers but not the default branch.
            info = self._retry(f"{kind} info for {repo_id}", lambda t: fn(repo_id, files_metadata=True,
                                                                            timeout=self._timeout(t)), deadline)
            if not (info.sha or "").startswith(revision):
                raise TargetError(f"{kind} {repo_id}@{revision}: gated; the pinned revision cannot be read "
                                  "without an accepted token (set HF_TOKEN)") from None
        except RevisionNotFoundError:
            raise TargetError(f"{kind} {repo_id}: revision '{revision}' not found on the Hub") from None
        except RepositoryNotFoundError:
            raise TargetError(f"{kind} {repo_id} not found on the Hub (or private)",
                              self.suggest(repo_id, deadline.left()) if kind == "model" else (),
                              not_found=True) from None
        except HfHubHTTPError as exc:
            if _status_of(exc) == 401 and self._auth() and not anonymous:
                # An invalid or revoked token is refused even for public repos: go on without it,
                # for this repo's files and every later request too.
                self._token_rejected = True
                return self._model_info(repo_id, revision, kind, deadline, anonymous=True)
            raise TargetError(self.redact(f"{kind} {repo_id}: Hub error {_describe(exc)}")) from None
        except HubRequestError as exc:
            raise TargetError(f"{kind} {repo_id}: Hub unreachable: {exc}") from None
        except ConnectionError as exc:  # OfflineModeIsEnabled
            raise TargetError(self.redact(f"{kind} {repo_id}: {exc}")) from None
        except TargetError:
            raise
        except Exception as exc:  # noqa: BLE001 - e.g. the client's own id validation: one line, exit 2
            raise TargetError(self.redact(f"{kind} {repo_id}: {_describe(exc)}")) from None
        try:
            return info_to_json(info)
        except Exception as exc:  # noqa: BLE001 - a response the client parsed into odd shapes
            raise TargetError(self.redact(f"{kind} {repo_id}: unreadable Hub response: {_describe(exc)}")) from None

    # -- files ----------------------------------------------------------------------------------------
    def _get_file(self, repo_id: str, sha: str, path: str, kind: str, size: int | None,
                  deadline: _Deadline) -> FileEvidence:
        cap = self.settings.max_file_bytes
        if size is not None and size > cap:
            return FileEvidence(path, "too-large", size=size, error=f"over the {cap}-byte limit; not fetched")
        prefix = "" if kind == "model" else "datasets/"
        url = f"{self.endpoint}/{prefix}{repo_id}/resolve/{quote(sha, safe='')}/{quote(path)}"
        from huggingface_hub.utils import build_hf_headers, get_session

        def call(timeout: float) -> FileEvidence:
            sent = self._auth()
            with get_session().stream("GET", url, headers=build_hf_headers(token=sent),
                                      timeout=self._timeout(timeout), follow_redirects=True) as resp:
                status = resp.status_code
                code = resp.headers.get("X-Error-Code")
                if status == 401 and code is None and sent:
                    # "Invalid credentials": the token is refused, not the file; read it anonymously.
                    self._token_rejected = True
                    resp.close()
                    return call(timeout)
                if status in (401, 403) and (code == "GatedRepo" or status == 403):
                    return FileEvidence(path, "gated", size=size, error=f"HTTP {status} {code or ''}".strip())
                if status == 404:
                    return FileEvidence(path, "missing", size=size, error=f"HTTP 404 {code or ''}".strip())
                if status in RETRY_STATUSES:
                    err = HubRequestError(f"GET {path}: HTTP {status}", status, code)
                    err.retry_after = _parse_retry_after(resp.headers.get("Retry-After"))  # type: ignore[attr-defined]
                    raise err
                if status >= 400:
                    return FileEvidence(path, "error", size=size, error=f"HTTP {status} {code or ''}".strip())
                chunks, total = [], 0
                for chunk in resp.iter_bytes():
                    chunks.append(chunk)
                    total += len(chunk)
                    if total > cap:
                        # The listing said `size` (<= cap) but more came: the true size is unknown.
                        listed = f" (listed as {size} bytes)" if size is not None else ""
                        return FileEvidence(path, "too-large", size=total,
                                            error=f"over the {cap}-byte limit{listed}; reading stopped")
                    if deadline.left() <= 0:
                        # The read timeout bounds each wait, not a server that trickles bytes.
                        raise HubRequestError(f"GET {path}: deadline reached after {total} bytes")
                return file_evidence(path, b"".join(chunks), cap, keep_raw=self.cache is not None)

        try:
            return self._retry(f"GET {path}", call, deadline)
        except HubRequestError as exc:
            return FileEvidence(path, "error", size=size, error=str(exc))
        except Exception as exc:  # noqa: BLE001 - any client failure becomes evidence, never a crash
            return FileEvidence(path, "error", size=size, error=self.redact(_describe(exc)))

    # -- the source --------------------------------------------------------------------------------
    def fetch(self, target: Target) -> Evidence:
        return self._fetch(target.raw, target.repo_id or "", target.revision, "model")

    def fetch_dataset(self, repo_id: str, revision: str | None = None) -> Evidence:
        return self._fetch(repo_id, repo_id, revision, "dataset")

    def _fetch(self, raw: str, repo_id: str, revision: str | None, kind: str) -> Evidence:
        deadline = _Deadline(self.settings.deadline)
        cache = self.cache
        # A pinned commit already seen needs no request at all.
        if cache is not None and revision and _SHA.match(revision) and cache.has(repo_id, revision, kind):
            ev = _cache_load(cache, raw, repo_id, revision, kind)
            if ev is not None and not _transient(ev):
                return _with_source(ev, "hub", {"cache": "hit"})
        if self.offline:
            ev = cache.load(raw, repo_id, revision, kind) if cache is not None else None
            if ev is None:
                raise TargetError(f"{kind} {repo_id}{'@' + revision if revision else ''}: not in the metadata "
                                  "cache and HF_HUB_OFFLINE is set")
            return _with_source(ev, "hub", {"cache": "offline"})
        info = self._model_info(repo_id, revision, kind, deadline)
        sha = info.get("sha")
        if cache is not None and sha and cache.has(repo_id, sha, kind):
            ev = _cache_load(cache, raw, repo_id, sha, kind)
            if ev is not None and not _transient(ev):
                # The commit was cached under another ref (or its sha): remember that this ref points
                # at it too, or an offline scan (or a recorded snapshot) of the ref would not find it.
                _remember_ref(cache, repo_id, revision, sha, kind)
                return _with_source(_with_revision(ev, revision), "hub", {"cache": "files"})
        files, issues = self._files(repo_id, sha or revision or "main", info, kind, deadline)
        if cache is not None and sha:
            try:
                cache.save(repo_id, revision, info, files, kind, withhold=self._withheld(info, files))
            except OSError as exc:
                issues.append(SourceIssue("file-unreadable", f"metadata cache not written: {exc.strerror or exc}"))
        files = [replace(f, raw=None) if f.raw is not None else f for f in files]   # recorded: bytes not kept
        ev = evidence_from_info(raw, "hub", kind, revision, info, tuple(files), None, {},
                                {"endpoint": _without_credentials(self.endpoint)})
        return replace(ev, issues=tuple(issues))

    def _withheld(self, info: Mapping[str, Any], files: list[FileEvidence]) -> frozenset[str]:
        if self.withhold is None:
            return frozenset()
        out = {f.path for f in files if f.readable and self.withhold(f.path, f.text or "")}
        card = info["cardData"] if isinstance(info.get("cardData"), dict) else {}
        prompt = card.get("extra_gated_prompt")
        if isinstance(prompt, str) and self.withhold("extra_gated_prompt", prompt):
            out.add("extra_gated_prompt")
        return frozenset(out)

    def _files(self, repo_id: str, sha: str, info: Mapping[str, Any], kind: str, deadline: _Deadline
               ) -> tuple[list[FileEvidence], list[SourceIssue]]:
        siblings = {s["rfilename"]: s.get("size") for s in info.get("siblings") or () if isinstance(s, dict)
                    and isinstance(s.get("rfilename"), str)}
        card = info.get("cardData") if isinstance(info.get("cardData"), dict) else None
        wanted = [p for p in sorted(siblings) if is_license_file(p)]
        # The card's metadata comes parsed in model_info; its text is needed only when that
        # metadata is missing or names no license (then the body and front matter are the evidence),
        # or when the card names no base model for an architecture that restrictively licensed
        # families use (then its prose may say what it was made from).
        if CARD_FILE in siblings and (card is None or not (card.get("license") or card.get("license_name"))
                                      or (kind == "model" and _may_hide_a_base(info, card))):
            wanted.insert(0, CARD_FILE)
        files = [self._get_file(repo_id, sha, p, kind, siblings.get(p), deadline) for p in wanted]
        return files, []

    def suggest(self, repo_id: str, budget: float | None = None) -> tuple[str, ...]:
        """'Did you mean': the Hub's model search under its own short deadline (and within `budget`,
        what is left of the target's); no answer = no suggestion."""
        from huggingface_hub.utils import build_hf_headers, get_session

        deadline = _Deadline(min(self.settings.suggest_deadline, budget if budget is not None else float("inf")))
        name = repo_id.split("/")[-1]
        words = [w for w in re.split(r"[-_.]", name) if w]
        queries = [name] + ([" ".join(words)] if len(words) > 1 else []) + (
            [max(words, key=len)] if words else [])
        found: list[str] = []
        for q in queries:
            if deadline.left() <= 0.1 or len(found) >= 20:
                break
            url = f"{self.endpoint}/api/models"
            try:
                self.requests += 1
                resp = get_session().get(url, params={"search": q, "limit": 20}, headers=build_hf_headers(
                    token=self._auth()), timeout=self._timeout(max(0.1, min(self.settings.read_timeout,
                                                                              deadline.left()))))
                if resp.status_code != 200:
                    continue
                data = resp.json()
            except Exception as exc:  # noqa: BLE001 - a suggestion is best effort
                if _is_transport_error(exc):
                    break      # a search endpoint that stalls or refuses will not answer the next query
                continue
            for item in data if isinstance(data, list) else ():
                if isinstance(item, dict) and isinstance(item.get("id"), str) and item["id"] not in found:
                    found.append(item["id"])
        ranked = sorted(found, key=lambda c: -difflib.SequenceMatcher(None, repo_id.lower(), c.lower()).ratio())
        return tuple(c for c in ranked[:3] if difflib.SequenceMatcher(None, repo_id.lower(), c.lower()).ratio() > 0.5)


def _cache_load(cache: SnapshotStore, raw: str, repo_id: str, revision: str | None, kind: str) -> Evidence | None:
    """A cached entry, or None (a damaged one is a miss: it is fetched again and rewritten)."""
    try:
        return cache.load(raw, repo_id, revision, kind)
    except CorruptRecord:
        return None


def _remember_ref(cache: SnapshotStore, repo_id: str, revision: str | None, sha: str, kind: str) -> None:
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


def _without_credentials(url: str) -> str:
    """An endpoint as reports may show it: no user:password@ part."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = host + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def _may_hide_a_base(info: Mapping[str, Any], card: Mapping[str, Any]) -> bool:
    """A card that names no base model, for an architecture that licensed families use, under a
    license none of those families has: its prose may say what it was made from."""
    from scanner.card import as_list
    from scanner.lineage import family_licenses_for, parents_of

    if parents_of(card, info.get("tags") or ()):
        return False
    config = info["config"] if isinstance(info.get("config"), dict) else {}
    family_licenses = family_licenses_for(str(config.get("model_type") or "").lower())
    if not family_licenses:
        return False
    declared = {str(v).lower() for v in as_list(card.get("license")) + as_list(card.get("license_name"))}
    return not declared & family_licenses


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


def _status_of(exc: BaseException | None) -> int | None:
    if exc is None:
        return None
    if isinstance(exc, HubRequestError):
        return exc.status
    resp = getattr(exc, "response", None)
    status = getattr(resp, "status_code", None)
    return status if isinstance(status, int) else None


def _is_transport_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"TransportError", "TimeoutException", "NetworkError", "RemoteProtocolError",
                         "ProtocolError", "ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout",
                         "TimeoutError", "ChunkedEncodingError"}) and "OfflineModeIsEnabled" not in names


def _parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            return None


def _retry_after(exc: BaseException) -> float | None:
    resp = getattr(exc, "response", None)
    headers = getattr(resp, "headers", None)
    return _parse_retry_after(headers.get("Retry-After")) if headers is not None else None


def _describe(exc: BaseException) -> str:
    status = _status_of(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    name = type(exc).__name__
    if status is not None:
        return f"HTTP {status} ({name}: {first})" if first else f"HTTP {status}"
    return f"{name}: {first}" if first else name
