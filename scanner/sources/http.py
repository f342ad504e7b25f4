"""Transport policy for every HTTP read the sources make: timeouts, bounded retries with backoff,
streamed bodies capped in bytes, and deadline accounting.

The rules (README "Deadlines and budgets" and docs/gate.md say the same to users):

* A `Deadline` is the wall-clock budget of one *target*: its own reads, the base models of its
  lineage and the datasets its cards list. Every request made for the target, every retry and
  every backoff sleep is taken from it; each read waits at most `min(read_timeout, time left)`,
  and a body is read chunk by chunk with the deadline checked after each chunk, so a server that
  trickles bytes is cut at the deadline (plus at most one read wait), not when it finishes.
* A repository shared by several targets (a base model) is fetched once, under the deadline of
  the first target that asks for it; every other target waits for that fetch no longer than its
  own deadline allows (`scanner.scan.FetchMemo`).
* A run-wide pause (a Hub rate limit, see `TransportHooks`) is not charged to any target: the time
  spent inside `Deadline.paused()` moves the deadline's end. Such a pause is bounded on its own
  (`TransportSettings.max_pause`), by whoever asks for it.
* A body larger than its cap is never read past the cap: the caller gets what was read and
  `complete=False`, and turns that into a finding (never a silent cut).

Hooks: `TransportHooks.before_request(url)` runs before each attempt is sent and
`TransportHooks.on_headers(head)` sees each response's status and headers *before* its body is
read (the one place where rate-limit headers can be acted on). Either may raise `PauseRequested`
to ask for a pause (bounded by max_pause, not charged to the deadline) and a new attempt.
"""

from __future__ import annotations

import random
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urlencode

from scanner.redact import redact
from scanner.sources import ratelimit
from scanner.sources.hfutils import hf_utils

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
ERROR_BODY_BYTES = 64 * 1024          # error answers are read this far, never more


@dataclass(frozen=True)
class TransportSettings:
    """Timeouts, retries and backoff of every HTTP read."""
    connect_timeout: float = 5.0
    read_timeout: float = 15.0        # the longest wait for any one read
    attempts: int = 4                 # tries per request, first included
    backoff: float = 0.5              # seconds, doubled per retry, with jitter
    max_retry_after: float = 10.0     # cap on a server's Retry-After
    max_pause: float = 60.0           # cap on one run-wide pause asked for by a hook


class Deadline:
    """The wall-clock budget of one target (see the module docstring)."""

    # The run clock (scanner.sources.ratelimit) stops while a Hub rate limit pauses the run.
    def __init__(self, seconds: float, clock: Callable[[], float] = ratelimit.clock):
        self._clock = clock
        self.seconds = seconds
        self.end = clock() + seconds
        self._lock = threading.Lock()

    def left(self) -> float:
        return self.end - self._clock()

    @property
    def expired(self) -> bool:
        return self.left() <= 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Time spent inside is not charged to this deadline (a run-wide rate-limit pause)."""
        start = self._clock()
        try:
            yield
        finally:
            with self._lock:
                self.end += self._clock() - start

    def describe(self) -> str:
        return f"the target's {self.seconds:g}-second deadline was reached"


def unlimited() -> Deadline:
    return Deadline(float("inf"))


@dataclass(frozen=True)
class ResponseHead:
    """A response's status and headers, shown to the hooks before its body is read."""
    url: str
    status: int
    headers: Mapping[str, str]


class PauseRequested(Exception):
    """Raised by a hook: wait `seconds` (run-wide, not charged to the deadline), then try again."""

    def __init__(self, seconds: float, reason: str = "rate limited"):
        super().__init__(reason)
        self.seconds = seconds
        self.reason = reason


@dataclass
class TransportHooks:
    """Called before each attempt and on each response head (the rate limiter)."""
    before_request: Callable[[str], None] = lambda url: None
    on_headers: Callable[[ResponseHead], None] = lambda head: None


@dataclass(frozen=True)
class Body:
    """A response read within its caps."""

    url: str
    status: int
    headers: Mapping[str, str]
    data: bytes
    complete: bool = True             # False: the byte cap was reached; `data` is its first cap bytes
    received: int = 0                 # bytes received (past the cap when incomplete)


class HttpError(Exception):
    """A request that failed after its retries, or within the deadline; the message is redacted.
    kind: status | transport | deadline."""

    def __init__(self, message: str, status: int | None = None, kind: str = "transport",
                 code: str | None = None):
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.code = code


class _Retryable(Exception):
    def __init__(self, status: int | None, reason: str, retry_after: float | None = None):
        super().__init__(reason)
        self.status = status
        self.reason = reason
        self.retry_after = retry_after


@dataclass
class Transport:
    """GETs with the deadline, retry and byte-cap rules of the module docstring."""
    settings: TransportSettings = field(default_factory=TransportSettings)
    secrets: Callable[[], tuple[str, ...]] = lambda: ()
    hooks: TransportHooks = field(default_factory=TransportHooks)
    sleep: Callable[[float], None] = time.sleep
    requests: int = 0

    def redact(self, text: str) -> str:
        return redact(text, *self.secrets())

    def timeout(self, seconds: float) -> Any:
        seconds = max(0.05, seconds)
        try:
            return hf_utils("httpx").Timeout(   # the client's own HTTP library
                seconds, connect=min(self.settings.connect_timeout, seconds))
        except Exception:  # noqa: BLE001 - older clients take a plain number
            return seconds

    def get(self, url: str, what: str, deadline: Deadline, cap: int, headers: Callable[[], Mapping[str, str]],
            params: Mapping[str, str] | None = None) -> Body:
        """GET `url` with bounded retries (408/429/5xx and transport errors), each attempt's body
        streamed and cut at `cap` bytes and at the deadline. Any other status is returned as a
        Body (its data capped at ERROR_BODY_BYTES) for the caller to read. HttpError otherwise."""
        if params:
            # Written into the URL here: httpx merging a params mapping into the URL costs a fifth
            # of a request's CPU (benchmarks/cpu_bench.py)
            url += ("&" if "?" in url else "?") + urlencode(params)
        last: _Retryable | None = None
        attempt = 0
        while attempt < self.settings.attempts:
            if deadline.left() <= 0.05:
                break
            try:
                self.hooks.before_request(url)
                self.requests += 1
                return self._once(url, deadline, cap, headers())
            except PauseRequested as pause:
                wait = min(max(0.0, pause.seconds), self.settings.max_pause)
                with deadline.paused():
                    self.sleep(wait)
                continue                      # a pause is not a failed attempt
            except _Retryable as exc:
                last = exc
            attempt += 1
            if attempt >= self.settings.attempts:
                break
            delay = self.settings.backoff * (2 ** (attempt - 1)) * (0.75 + random.random() / 2)
            if last.retry_after is not None:
                delay = max(delay, min(last.retry_after, self.settings.max_retry_after))
            if delay >= deadline.left():
                break
            self.sleep(delay)
        if last is None or deadline.left() <= 0.05:
            reason = f"{deadline.describe()}" + (f" (last: {last.reason})" if last else "")
            raise HttpError(self.redact(f"{what}: {reason}"), last.status if last else None, "deadline")
        raise HttpError(self.redact(f"{what}: {last.reason} (after {attempt} attempts or the deadline)"),
                        last.status, "status" if last.status else "transport")

    def _once(self, url: str, deadline: Deadline, cap: int, headers: Mapping[str, str]) -> Body:
        wait = min(self.settings.read_timeout, max(0.05, deadline.left()))
        try:
            session = ratelimit.attach(hf_utils("get_session")())    # every call waits for the Hub's quota (shared)
            with session.stream("GET", url, headers=headers, timeout=self.timeout(wait),
                                follow_redirects=True) as resp:
                head = ResponseHead(str(resp.url), resp.status_code, dict(resp.headers))
                self.hooks.on_headers(head)           # before any of the body is read
                status = head.status
                limit = cap if status < 400 else ERROR_BODY_BYTES
                data, complete, received = self._read(resp, limit, deadline, url)
                if status in RETRY_STATUSES:
                    raise _Retryable(status, f"HTTP {status}", parse_retry_after(head.headers.get("retry-after")))
                return Body(head.url, status, head.headers, data, complete, received)
        except (PauseRequested, _Retryable, HttpError, ratelimit.RateLimited):
            raise
        except Exception as exc:  # noqa: BLE001 - classified: transport errors retry, others are one line
            if is_transport_error(exc):
                raise _Retryable(None, describe(exc)) from None
            raise HttpError(self.redact(describe(exc)), None, "transport") from None

    @staticmethod
    def _read(resp: Any, limit: int, deadline: Deadline, url: str) -> tuple[bytes, bool, int]:
        chunks: list[bytes] = []
        total = 0
        for chunk in resp.iter_bytes():
            total += len(chunk)
            if total > limit:
                chunks.append(chunk[: len(chunk) - (total - limit)])
                return b"".join(chunks), False, total
            chunks.append(chunk)
            if deadline.left() <= 0:
                # The read timeout bounds each wait, not a server that trickles bytes: this does.
                raise _Retryable(None, f"{deadline.describe()} after {total} bytes of the answer")
        return b"".join(chunks), True, total


def parse_retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        seconds = float(value)
        return max(0.0, seconds) if seconds == seconds else None
    except ValueError:
        try:
            import email.utils          # only for a Retry-After date: not imported by every scan

            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError, OverflowError):
            return None


def status_of(exc: BaseException | None) -> int | None:
    if exc is None:
        return None
    if isinstance(exc, HttpError):
        return exc.status
    resp = getattr(exc, "response", None)
    status = getattr(resp, "status_code", None)
    return status if isinstance(status, int) else None


def is_transport_error(exc: BaseException) -> bool:
    names = {c.__name__ for c in type(exc).__mro__}
    return bool(names & {"TransportError", "TimeoutException", "NetworkError", "RemoteProtocolError",
                         "ProtocolError", "ConnectionError", "Timeout", "ReadTimeout", "ConnectTimeout",
                         "TimeoutError", "ChunkedEncodingError", "DecodingError"}) \
        and "OfflineModeIsEnabled" not in names


def describe(exc: BaseException) -> str:
    status = status_of(exc)
    first = (str(exc).strip().splitlines() or [""])[0][:200]
    name = type(exc).__name__
    if status is not None:
        return f"HTTP {status} ({name}: {first})" if first else f"HTTP {status}"
    return f"{name}: {first}" if first else name
