"""Hub rate limits: read the quota the Hub announces, share it across the worker pool, and pause
the run for the window instead of spending calls on 429 answers.

The Hub limits calls per fixed window (5 minutes; per user with a token, per IP without) in
buckets: the API (`/api/...`) and resolvers (`/resolve/` file reads). Every answer carries

    RateLimit: "api";r=499;t=187                       calls left in the window, seconds to its end
    RateLimit-Policy: "fixed window";"api";q=500;w=300 the quota and the window

(parsed by `huggingface_hub.utils.parse_ratelimit_headers`, huggingface_hub >= 1.2). A 429 often
has no Retry-After.

One `Pacer` per (endpoint, credential, bucket), shared by every worker thread: a call is sent only
while the bucket has calls left (counting the ones already on their way), so the pool slows down
before the quota runs out rather than after. With none left, the run pauses until the window
ends (every worker of that bucket waits, and says so once on stderr), provided the total pause
of the run stays within a run-wide bound (`--rate-limit-wait`, by default one anonymous window,
300 s). Past the bound the call fails at once with the same message: fail closed, never a hang.
Per-target deadlines do not tick while the run is paused (`clock()` stops).

Until an answer carries these headers, one call asks first and the others wait briefly for its
answer; a Hub that sends no headers is not paced at all.

The hook is transport-level: `attach(client)` adds a request and a response event hook to an
httpx client (the one huggingface_hub shares), so every call the Hub source makes, model_info,
file reads and searches alike, goes through it.
"""

from __future__ import annotations

import hashlib
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from scanner.sources.hfutils import hf_utils
from scanner.targets import TargetError

DEFAULT_MAX_WAIT = 300.0      # seconds of pause per run: one anonymous 5-minute window
_MARGIN = 0.05                # seconds after the announced end of a window before calling again
_ANSWER_WAIT = 2.0            # seconds to wait for a new window's first answers before calling anyway


class RateLimited(TargetError):
    """The Hub's quota is spent and the wait is past the run-wide bound."""


# -------------------------------------------------------------------------------- the run clock
class _PauseClock:
    """A monotonic clock that stops while any pacer pauses the run: deadlines read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused = 0.0          # seconds spent in finished pauses
        self._depth = 0
        self._since = 0.0

    def now(self) -> float:
        t = time.monotonic()
        if self._depth:             # read without the lock: a stale value only errs by one pause
            return self._since - self._paused
        return t - self._paused

    def enter(self) -> None:
        with self._lock:
            if self._depth == 0:
                self._since = time.monotonic()
            self._depth += 1

    def leave(self) -> None:
        with self._lock:
            self._depth -= 1
            if self._depth == 0:
                self._paused += time.monotonic() - self._since


_CLOCK = _PauseClock()


def clock() -> float:
    """Seconds on the run clock: time.monotonic() less the time the run spent paused."""
    return _CLOCK.now()


# -------------------------------------------------------------------------------- settings
@dataclass
class Settings:
    """Run-wide rate-limit settings: the pause allowed and where its messages go."""
    max_wait: float = DEFAULT_MAX_WAIT          # total pause allowed per run, seconds
    notify: Callable[[str], None] | None = None  # where pause messages go (default: stderr)
    waited: float = 0.0                          # pause so far in this run (all pacers)
    lock: threading.Lock = field(default_factory=threading.Lock)


SETTINGS = Settings()


def configure(max_wait: float | None = None, notify: Callable[[str], None] | None = None) -> None:
    """Set the run-wide bound (seconds) and where messages go; resets the pause spent so far."""
    if max_wait is not None:
        SETTINGS.max_wait = max(0.0, float(max_wait))
    if notify is not None:
        SETTINGS.notify = notify
    SETTINGS.waited = 0.0


def _say(message: str) -> None:
    if SETTINGS.notify is not None:
        SETTINGS.notify(message)
        return
    try:
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _parse(headers: Mapping[str, str]) -> Any:
    try:
        return hf_utils("parse_ratelimit_headers")(headers)
    except (ValueError, TypeError):
        return None


# -------------------------------------------------------------------------------- one bucket
@dataclass
class Stats:
    """One bucket's calls, 429 answers and pauses in this run."""
    calls: int = 0
    limited: int = 0           # 429 answers
    pauses: int = 0
    paused_s: float = 0.0


class Pacer:
    """The calls left in one bucket's window, shared by the threads that call it."""

    def __init__(self, anonymous: bool = True) -> None:
        self.anonymous = anonymous
        self._cond = threading.Condition()
        self.known = False          # an answer with headers arrived in this window
        self.unpaced = False        # an answer came without headers: the Hub announces no quota here
        self.prober: int | None = None   # the thread whose call asks first
        self.probe_at = 0.0
        self.spent_since = 0.0      # when the window's calls ran out before any answer said when it ends
        self.others = 0             # calls in this window the Hub counted that were not ours
        self.refused = False        # the Hub answered 429 in this window
        self.epoch = 0              # our count of windows
        self.sent = 0               # calls sent in this window
        self.left = 0               # calls that may still be sent in this window
        self.reset_at: float | None = None   # time.monotonic() when the window ends
        self.quota: int | None = None
        self.window: float | None = None
        self.pausing = False
        self.stats = Stats()

    # -- before a call ----------------------------------------------------------------------------
    def before(self) -> tuple[int, int]:
        """Block until a call may be sent (or raise RateLimited); returns the call's tag."""
        with self._cond:
            while True:
                now = time.monotonic()
                if self.reset_at is not None and now >= self.reset_at:
                    self._next_window()
                if not self.known:
                    # Nothing announced yet: one call asks first (a previous run may have spent the
                    # window), the others wait for its answer, but not long: a Hub that sends no
                    # headers, or a call that fails, must not hold the pool.
                    me = threading.get_ident()
                    if self.prober in (None, me) or now - self.probe_at > _ANSWER_WAIT or self.unpaced:
                        self.prober, self.probe_at = me, now
                        break
                    self._cond.wait(_ANSWER_WAIT / 4)
                    continue
                if self.left > 0:
                    self.left -= 1
                    break
                self._pause(now)
            self.sent += 1
            self.stats.calls += 1
            return self.epoch, self.sent

    def _next_window(self) -> None:
        self.epoch += 1
        self.sent = 0
        self.reset_at = None
        self.spent_since = 0.0
        self.others = 0
        self.refused = False
        if self.quota is not None:
            self.left, self.known = self.quota, True      # the policy says what a new window holds
        else:
            self.left, self.known, self.prober = 0, False, None

    def _pause(self, now: float) -> None:
        """Wait (lock held, released while waiting) for the window to end, within the bound."""
        if self.reset_at is None:
            # Spent before any answer of this window came back: wait for them (they say when it
            # ends); if none comes (the calls failed), go on as if nothing were known.
            if self.spent_since == 0.0:
                self.spent_since = now
            if now - self.spent_since > _ANSWER_WAIT:
                self.known, self.spent_since = False, 0.0
            else:
                self._cond.wait(_ANSWER_WAIT / 4)
            return
        wait = self.reset_at - now
        if self.pausing:                          # another worker already paused the run
            self._cond.wait(min(wait, 1.0))
            return
        with SETTINGS.lock:
            fits = SETTINGS.waited + wait <= SETTINGS.max_wait
            if fits:
                SETTINGS.waited += wait
        shown = max(1, round(wait))
        hint = "a token raises the limit" if self.anonymous else "the quota resets then"
        if not fits:
            raise RateLimited(f"Hub rate limit: waiting {shown} s is past the run's bound of "
                              f"{SETTINGS.max_wait:g} s (--rate-limit-wait); {hint}")
        _say(f"Hub rate limit: waiting {shown} s; {hint}")
        self.pausing = True
        self.stats.pauses += 1
        _CLOCK.enter()
        started = time.monotonic()
        try:
            while self.reset_at is not None and time.monotonic() < self.reset_at:
                self._cond.wait(self.reset_at - time.monotonic())
        finally:
            _CLOCK.leave()
            self.pausing = False
            self.stats.paused_s += time.monotonic() - started
            self._cond.notify_all()

    # -- after an answer --------------------------------------------------------------------------
    def after(self, tag: tuple[int, int] | None, status: int, headers: Mapping[str, str]) -> None:
        info = _parse(headers)
        with self._cond:
            if status == 429:
                self.stats.limited += 1
            self.prober = None
            if info is None:
                if not self.known:
                    self.unpaced = True           # no quota announced: nothing to pace
                self._cond.notify_all()
                return
            self.unpaced = False
            if info.limit and info.window_seconds:
                self.quota, self.window = int(info.limit), float(info.window_seconds)
            if tag is None or tag[0] != self.epoch:
                # An answer from an earlier window says nothing about this one, unless the Hub
                # refused it: then our window is over later than we thought.
                if status != 429:
                    return
            end = time.monotonic() + float(info.reset_in_seconds) + _MARGIN
            current = tag is not None and tag[0] == self.epoch
            if status == 429:
                self.refused, estimate = True, 0
            elif self.refused:
                estimate = 0
            elif self.quota is not None:
                # The Hub had counted q - r calls when it answered; at most `sent` of them were ours,
                # so at least the rest were someone else's (another process with the same token or IP).
                self.others = max(self.others, self.quota - int(info.remaining) - self.sent)
                estimate = max(0, self.quota - self.sent - self.others)
            else:
                # No quota announced: calls sent after this one may not be in its `r` yet.
                later = self.sent - tag[1] if current and tag is not None else self.sent
                estimate = max(0, int(info.remaining) - later)
            if not self.known:
                self.known = True
                self.left, self.reset_at = estimate, end
            else:
                self.left = min(self.left, estimate) if self.quota is None else estimate
                # t is rounded up: the earliest announced end is the closest one
                self.reset_at = end if self.reset_at is None or status == 429 else min(self.reset_at, end)
            self._cond.notify_all()


# -------------------------------------------------------------------------------- registry + hooks
_PACERS: dict[tuple[str, str, str], Pacer] = {}
_REGISTRY_LOCK = threading.Lock()


def bucket_of(path: str) -> str:
    """The Hub's bucket for a URL path: resolvers serve files, everything else is the API."""
    return "resolvers" if "/resolve/" in path else "api"


def pacer_for(url: str, authorization: str | None) -> Pacer:
    parts = urlsplit(url)
    # The credential is kept only as a short hash: quotas are per user, tokens never stored.
    who = hashlib.sha256(authorization.encode()).hexdigest()[:16] if authorization else ""
    key = (parts.netloc, who, bucket_of(parts.path))
    pacer = _PACERS.get(key)
    if pacer is None:
        with _REGISTRY_LOCK:
            pacer = _PACERS.setdefault(key, Pacer(anonymous=not authorization))
    return pacer


def pacers() -> dict[tuple[str, str, str], Pacer]:
    return dict(_PACERS)


def reset() -> None:
    """Forget every bucket (tests, or a new run in the same process)."""
    with _REGISTRY_LOCK:
        _PACERS.clear()
    configure()


_TAG = "modelscan_pace"


def _on_request(request: Any) -> None:
    pacer = pacer_for(str(request.url), request.headers.get("authorization"))
    request.extensions = {**request.extensions, _TAG: (pacer, pacer.before())}


def _on_response(response: Any) -> None:
    got = response.request.extensions.get(_TAG)
    if got is not None:
        pacer, tag = got
        pacer.after(tag, response.status_code, response.headers)


def attach(client: Any) -> Any:
    """Add the pacing hooks to an httpx client (once); returns it."""
    hooks = client.event_hooks
    if _on_request not in hooks.get("request", ()):
        client.event_hooks = {"request": [*hooks.get("request", ()), _on_request],
                              "response": [*hooks.get("response", ()), _on_response]}
    return client
