"""Hub rate limits (scanner/sources/ratelimit.py) against a fake Hub that enforces a per-window
quota and announces it with RateLimit / RateLimit-Policy headers (tests/hubserver.QuotaHub), scaled
down to 10 calls per 1 s window so the tests stay fast. The benchmark (benchmarks/ratelimit_bench.py)
measures the 100-calls-per-20-s scale."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

import gate_fixtures as gf  # noqa: E402
from hubserver import FakeHub, QuotaHub  # noqa: E402

from scanner.sources import ratelimit  # noqa: E402

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(autouse=True)
def fresh_pacers():
    ratelimit.reset()
    yield
    ratelimit.reset()


def add_models(hub, n: int, prefix: str = "rl", license_file: bool = False) -> list[str]:
    ids = []
    for i in range(n):
        rid = f"{prefix}/model-{i:03d}"
        files = {"LICENSE": "MIT License\n\nCopyright (c) 2024 someone\n"} if license_file else None
        hub.add_repo(rid, {"cardData": {"license": "mit" if license_file else "apache-2.0"},
                           "tags": ["text-generation"]}, files)
        ids.append(rid)
    return ids


def deploy_repo(base: Path, ids: list[str]) -> Path:
    lines = ["version: 1", "deployments:", "  - name: fleet", "    models:"] + [f"      - {r}" for r in ids]
    return gf.write_tree(base, {"modelscan.yaml": "\n".join(lines) + "\n"})


# ---------------------------------------------------------------------------------- through the CLI
def test_gate_paces_to_the_quota_and_pauses_for_the_window(tmp_path):
    with QuotaHub(quota=10, window=1.0, latency=0.01) as hub:
        ids = add_models(hub, 25)
        repo = deploy_repo(tmp_path / "repo", ids)
        proc, wall = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--jobs", "6", cwd=repo)
        assert proc.returncode == 0, proc.stderr
        results = gf.report(proc)["results"]
        assert len(results) == 25 and all(r["verdict"] == "allow" for r in results)
        assert hub.limited == 0                                  # no call spent on an announced 429
        assert hub.count(path_regex=r"^/api/models/") == 25       # one model_info each, nothing retried
        assert "Hub rate limit: waiting 1 s; a token raises the limit" in proc.stderr
        assert proc.stderr.count("Hub rate limit: waiting") == 2  # 25 calls, 10 a window: two pauses


def test_gate_fails_closed_when_the_wait_is_past_the_bound(tmp_path):
    with QuotaHub(quota=10, window=30.0) as hub:
        ids = add_models(hub, 14)
        repo = deploy_repo(tmp_path / "repo", ids)
        proc, wall = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--rate-limit-wait", "5",
                                  cwd=repo)
        assert proc.returncode == 2
        assert wall < 20                                         # no wait for the 30 s window
        results = gf.report(proc)["results"]
        decided = [r for r in results if r["verdict"] != "error"]
        failed = [r for r in results if r["verdict"] == "error"]
        assert len(decided) == 10 and len(failed) == 4
        assert all(r["reasons"][0].startswith("Hub rate limit: waiting 30 s is past the run's bound of 5 s")
                   and "a token raises the limit" in r["reasons"][0] for r in failed), failed[0]["reasons"]
        assert hub.limited == 0 and hub.count(path_regex=r"^/api/models/") == 10
        assert "Hub rate limit: waiting 30 s is past" in proc.stderr


def test_rate_limit_wait_is_checked_and_documented(tmp_path):
    proc = gf.modelscan("http://127.0.0.1:9", tmp_path, "gate", "--rate-limit-wait", "-1", cwd=tmp_path)[0]
    assert proc.returncode == 2 and "--rate-limit-wait" in proc.stderr
    help_text = gf.modelscan("http://127.0.0.1:9", tmp_path, "check", "--help")[0].stdout
    assert "--rate-limit-wait" in help_text


# ---------------------------------------------------------------------------------- in process
def _scanner(hub, cache: Path, jobs: int, deadline: float = 90.0):
    from scanner import kb as kbmod
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner
    from scanner.sources.hub import HubSettings, HubSource

    source = HubSource(HubSettings(deadline=deadline), cache_dir=cache, token=False, endpoint=hub.url)
    return Scanner(source, kbmod.load(), load_policy("default"), dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc),
                   jobs=jobs)


def test_deadlines_do_not_tick_while_the_run_is_paused(tmp_path):
    """Each target's deadline (0.6 s) is shorter than the pause (about 2 s): the targets after the
    pause still read their license file within it."""
    said: list[str] = []
    ratelimit.configure(max_wait=30, notify=said.append)
    with QuotaHub(quota=3, window=2.0) as hub:
        ids = add_models(hub, 5, license_file=True)
        sc = _scanner(hub, tmp_path / "cache", jobs=5, deadline=0.6)
        t0 = time.monotonic()
        report = sc.scan(ids)
        assert time.monotonic() - t0 > 1.5                      # it did pause
        assert said and said[0].startswith("Hub rate limit: waiting 2 s")
        first = report.results[0]
        assert first.verdict != "error" and not any("deadline" in f.message for f in first.findings)
        for r in report.results:                          # the targets after the pause read as much
            assert (r.verdict, [f.code for f in r.findings]) == (first.verdict, [f.code for f in first.findings])
        assert hub.limited == 0


def test_a_hub_without_rate_limit_headers_is_not_paced(tmp_path):
    with FakeHub() as hub:
        ids = add_models(hub, 6)
        sc = _scanner(hub, tmp_path / "cache", jobs=6)
        assert all(r.verdict == "allow" for r in sc.scan(ids).results)
    (pacer,) = [p for (host, _, _), p in ratelimit.pacers().items() if host == hub.url.split("//")[1]]
    assert pacer.unpaced and not pacer.known and pacer.stats.calls == 6 and pacer.stats.pauses == 0


def test_the_clock_stops_during_a_pause():
    before = ratelimit.clock()
    ratelimit._CLOCK.enter()
    time.sleep(0.2)
    assert ratelimit.clock() - before < 0.1
    ratelimit._CLOCK.leave()
    time.sleep(0.05)
    assert 0.04 <= ratelimit.clock() - before < 0.15


# ---------------------------------------------------------------------------------- the pacer alone
def _headers(r: int, t: int, q: int = 10, w: int = 60) -> dict[str, str]:
    return {"RateLimit": f'"api";r={r};t={t}', "RateLimit-Policy": f'"fixed window";"api";q={q};w={w}'}


def test_pacer_counts_calls_of_others_and_stops_before_the_quota():
    p = ratelimit.Pacer()
    tag = p.before()                                   # nothing known: this call asks first
    p.after(tag, 200, _headers(r=5, t=60))             # 4 calls were someone else's
    assert (p.quota, p.window, p.left, p.others) == (10, 60.0, 5, 4)
    tags = [p.before() for _ in range(5)]
    assert p.left == 0
    for t in tags:                                     # answers in any order change nothing
        p.after(t, 200, _headers(r=0, t=59))
    assert p.left == 0
    ratelimit.configure(max_wait=10)
    with pytest.raises(ratelimit.RateLimited, match=r"^Hub rate limit: waiting 59 s is past the run's bound of 10 s"):
        p.before()


def test_pacer_with_a_token_does_not_suggest_one():
    p = ratelimit.Pacer(anonymous=False)
    p.after(p.before(), 429, _headers(r=0, t=100))
    ratelimit.configure(max_wait=1)
    with pytest.raises(ratelimit.RateLimited) as err:
        p.before()
    assert "a token raises" not in str(err.value) and p.stats.limited == 1


def test_pacer_keys_buckets_by_host_credential_and_kind():
    a = ratelimit.pacer_for("http://h:1/api/models/x", None)
    assert ratelimit.pacer_for("http://h:1/api/datasets/y", None) is a
    assert ratelimit.pacer_for("http://h:1/x/resolve/abc/LICENSE", None) is not a
    b = ratelimit.pacer_for("http://h:1/api/models/x", "Bearer hf_secret")
    assert b is not a and not b.anonymous
    assert all("hf_secret" not in "".join(k) for k in ratelimit.pacers())



def test_a_window_spent_by_an_earlier_run_costs_one_call(tmp_path):
    """Nothing is known at the start: one call asks first, and its 429 stops the others."""
    import urllib.request

    said: list[str] = []
    ratelimit.configure(max_wait=30, notify=said.append)
    with QuotaHub(quota=5, window=2.0) as hub:
        ids = add_models(hub, 8)
        for rid in ids[:5]:                                      # another process spends the window
            urllib.request.urlopen(f"{hub.url}/api/models/{rid}").read()
        hub.reset_log()
        sc = _scanner(hub, tmp_path / "cache", jobs=4)
        assert all(r.verdict == "allow" for r in sc.scan(ids).results)
        assert hub.limited == 1 and said and said[0].startswith("Hub rate limit: waiting")
