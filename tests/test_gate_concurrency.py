"""The gate's worker pool: results in input order, every repo fetched once however many workers
ask for it at the same time, and a Hub failure for one model that leaves the others decided."""

from __future__ import annotations

import copy
import datetime as dt
import re
import threading
import time

import pytest


import gate_fixtures as gf  # noqa: E402
from hubserver import FakeHub  # noqa: E402

from scanner.gate.discover import Reference  # noqa: E402
from scanner.gate.runner import Gate, plan  # noqa: E402
from scanner.scan import FetchMemo, Scanner, exit_code  # noqa: E402
from scanner.targets import TargetError  # noqa: E402

pytestmark = pytest.mark.timeout(120)
needs_corpus = pytest.mark.skipif(not gf.cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")
NOW = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)


def test_fetch_memo_runs_each_key_once_and_shares_failures():
    memo = FetchMemo()
    calls: list[str] = []
    gate = threading.Event()

    def slow(key):
        def fetch():
            calls.append(key)
            gate.wait(2)
            if key == "bad":
                raise TargetError("model bad: Hub error")
            return key.upper()
        return fetch

    out: dict[int, object] = {}

    def worker(i):
        key = "bad" if i % 2 else "good"
        try:
            out[i] = memo.get(key, slow(key))
        except TargetError as exc:
            out[i] = str(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    gate.set()
    for t in threads:
        t.join(5)
    assert sorted(calls) == ["bad", "good"]
    assert {out[i] for i in range(0, 16, 2)} == {"GOOD"}
    assert {out[i] for i in range(1, 16, 2)} == {"model bad: Hub error"}


def test_scanner_map_keeps_input_order(kb, default_policy):
    sc = Scanner(None, kb, default_policy, NOW, jobs=8)
    done: list[int] = []

    def slow_square(n: int) -> int:
        time.sleep(0.002 * (20 - n))        # later items finish first
        return n * n

    assert sc.map(slow_square, list(range(20)), done.append) == [n * n for n in range(20)]
    assert sorted(done) == [n * n for n in range(20)] and done != [n * n for n in range(20)]


def test_scanner_map_runs_jobs_at_once_and_on_done_one_at_a_time(kb, default_policy):
    sc = Scanner(None, kb, default_policy, NOW, jobs=4)
    running, peak, in_done, overlap = [0], [0], [0], [False]
    lock = threading.Lock()

    def work(n: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1
        return n

    def on_done(_: int) -> None:
        in_done[0] += 1
        overlap[0] |= in_done[0] > 1
        time.sleep(0.001)
        in_done[0] -= 1

    assert sc.map(work, list(range(24)), on_done) == list(range(24))
    assert peak[0] == 4 and not overlap[0]


def test_scanner_map_stops_taking_items_after_a_failure_and_raises_it(kb, default_policy):
    sc = Scanner(None, kb, default_policy, NOW, jobs=3)
    started: list[int] = []

    def work(n: int) -> int:
        started.append(n)
        if n == 2:
            raise ValueError("item 2")
        time.sleep(0.01)
        return n

    with pytest.raises(ValueError, match="item 2"):
        sc.map(work, list(range(50)))
    assert 2 in started and len(started) < 10
    assert not [t for t in threading.enumerate() if t.name.startswith("modelscan-")]   # all joined


def test_scanner_map_raises_what_on_done_raises(kb, default_policy):
    sc = Scanner(None, kb, default_policy, NOW, jobs=2)

    def on_done(n: int) -> None:
        if n == 3:
            raise RuntimeError("progress broke")

    with pytest.raises(RuntimeError, match="progress broke"):
        sc.map(lambda n: n, list(range(10)), on_done)


@needs_corpus
def test_fifty_fine_tunes_fetch_their_base_once(tmp_path, kb, default_policy):
    from scanner.sources.hub import HubSource

    specs = gf.corpus_specs((gf.ZEPHYR, gf.MISTRAL))
    zephyr = specs[gf.ZEPHYR]
    with FakeHub(latency=0.02) as hub:
        hub.add_repo(gf.MISTRAL, specs[gf.MISTRAL].model_info, specs[gf.MISTRAL].files)
        refs = []
        for i in range(50):
            rid = f"HuggingFaceH4/zephyr-7b-beta-ft{i:02d}"      # 50 fine-tunes shaped like zephyr, base Mistral 7B
            hub.add_repo(rid, copy.deepcopy(zephyr.model_info), zephyr.files)
            refs.append(Reference(rid, None, "deploy/k8s.yaml", i + 1, "k8s"))
        source = HubSource(cache_dir=tmp_path / "cache", token=False, endpoint=hub.url)
        scanner = Scanner(source, kb, default_policy, NOW, jobs=8)
        t0 = time.monotonic()
        decisions = Gate(scanner).run(plan(refs))
        wall = time.monotonic() - t0
        assert [d.result.repo_id for d in decisions] == [r.repo_id for r in refs]
        assert all(d.result.verdict != "error" for d in decisions)
        assert all(any(n.id == gf.MISTRAL for n in d.result.lineage.nodes) for d in decisions)
        assert gf.model_info_requests(hub, gf.MISTRAL) == 1
        for ds in ("HuggingFaceH4/ultrachat_200k", "HuggingFaceH4/ultrafeedback_binarized"):
            assert hub.count("GET", rf"^/api/datasets/{ds}$") == 1
        assert hub.count("GET", r"^/api/models/") == 51 and hub.count("HEAD") == 0
        # the requests overlapped (timing itself is benchmarks/gate_bench.py's business)
        starts = sorted(r.time for r in hub.requests if r.path.startswith("/api/models/"))
        assert wall > 0 and min(b - a for a, b in zip(starts, starts[1:], strict=False)) < 0.02


@needs_corpus
def test_thirty_models_one_failing_at_the_hub_decides_the_rest_and_exits_2(tmp_path):
    records = gf.cf.load_records()
    specs = []
    for rid in sorted(records):
        spec = gf.cf.repo_spec(records[rid])
        if not spec.model_info.get("gated") and "/" in spec.repo_id:
            specs.append(spec)
        if len(specs) == 30:
            break
    broken = specs[17].repo_id
    repo = gf.write_tree(tmp_path / "repo", {"modelscan.yaml": "version: 1\ndeployments:\n  - name: fleet\n"
                                             "    models:\n" + "".join(f"      - {s.repo_id}\n" for s in specs)})
    with FakeHub() as hub:
        for s in specs:
            hub.add_repo(s.repo_id, s.model_info, s.files)
        hub.fail(rf"^/api/models/{re.escape(broken)}(\?|$)", "status", times=-1, code=500)
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--timeout", "1", "--deadline", "5",
                               "--no-lineage", cwd=repo)
    assert proc.returncode == 2, proc.stderr
    results = gf.report(proc)["results"]
    assert [r["repo_id"] for r in results] == [s.repo_id for s in specs]
    errors = [r for r in results if r["verdict"] == "error"]
    assert [r["repo_id"] for r in errors] == [broken]
    assert errors[0]["locations"] == [{"file": "modelscan.yaml", "line": 5 + 17, "kind": "manifest",
                                       "deployment": "fleet"}]
    assert "target-unavailable" in gf.codes(errors[0]) and "HTTP 500" in errors[0]["reasons"][0]
    assert all(r["verdict"] in ("allow", "review", "deny") for r in results if r["repo_id"] != broken)
    assert f"modelscan: error: {broken}:" in proc.stderr
    assert exit_code([]) == 0
