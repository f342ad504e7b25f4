"""Hostile input never hangs, leaks, injects or allows (issue 11): each example of the issue as a
test, then each class on more inputs (hypothesis). Re-run the whole suite of hostile inputs, with
counts and peak memory, with benchmarks/hostile_bench.py.

Every test is bounded in time (small deadlines, a few seconds past them at most) and, where a read
could blow up, runs the CLI in a child process whose peak RSS is measured (< 300 MB).
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).parent / "hostile"

from hubserver import FakeHub  # noqa: E402

pytestmark = pytest.mark.timeout(60)

TOKEN = "hf_HostileTestTokenAbCdEfGhIjKlMnOpQr"
PASSWORD = "s3cretPassw0rd"
APACHE_TEXT = "Apache License\nVersion 2.0, January 2004\nhttp://www.apache.org/licenses/\n"
DEADLINE = 2.0
MAX_RSS_MB = 300


# ------------------------------------------------------------------------------------------ helpers
@pytest.fixture(scope="module", autouse=True)
def _warm():
    """Imports and the knowledge base loaded once, so that wall times measure the scan."""
    import huggingface_hub  # noqa: F401
    import rich.console  # noqa: F401

    from scanner import kb
    from scanner.cli import check, gate  # noqa: F401
    from scanner.formats import terminal  # noqa: F401
    kb.load()


@pytest.fixture
def hub():
    with FakeHub() as h:
        yield h


@pytest.fixture
def env(monkeypatch, tmp_path, hub):
    """The in-process CLI pointed at the fake Hub, with its own HF_HOME, run from tmp_path."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_DISABLE_TELEMETRY", True)
    for var in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_HUB_OFFLINE", "MODELSCAN_CACHE", "HF_ENDPOINT"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("MODELSCAN_NOW", "2026-11-30T00:00:00Z")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def cli(capsys, *argv: str) -> tuple[int, str, str, float]:
    from scanner.cli import main

    t0 = time.monotonic()
    with pytest.raises(SystemExit) as exit_:
        main(list(argv))
    out, err = capsys.readouterr()
    return exit_.value.code, out, err, time.monotonic() - t0


def check(capsys, *args: str, fmt: str = "json") -> tuple[int, str, str, float]:
    return cli(capsys, "check", *args, "-f", fmt, "--deadline", str(DEADLINE), "--timeout", "1")


def result_of(out: str) -> dict:
    report = json.loads(out)
    assert len(report["results"]) == 1
    return report["results"][0]


def codes(result: dict) -> set[str]:
    return {f["code"] for f in result["findings"]}


def one_line(err: str) -> None:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) <= 1, err
    assert "Traceback" not in err and "internal error" not in err, err


def child(argv: list[str], cwd: Path, env: dict[str, str], limit: float = 30) -> tuple[int, str, str, float, float]:
    """The CLI in a child process: (rc, stdout, stderr, wall seconds, peak RSS in MB)."""
    full = {**{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MODELSCAN_"))},
            "PYTHONPATH": str(ROOT), "HF_HUB_DISABLE_TELEMETRY": "1", "HF_HUB_DISABLE_XET": "1",
            "MODELSCAN_NOW": "2026-11-30T00:00:00Z", **env}
    t0 = time.monotonic()
    with open(cwd / ".out", "wb") as out, open(cwd / ".err", "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "scanner", *argv], cwd=cwd, env=full, stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL)
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > limit:
                proc.kill()
                os.wait4(proc.pid, 0)
                pytest.fail(f"modelscan {' '.join(argv)} still running after {limit} s")
            time.sleep(0.02)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return (proc.returncode, (cwd / ".out").read_text("utf-8", "replace"), (cwd / ".err").read_text("utf-8", "replace"),
            time.monotonic() - t0, usage.ru_maxrss / 1024)


def snapshot_copy(tmp_path: Path) -> Path:
    import shutil

    dst = tmp_path / "snap"
    shutil.copytree(ROOT / "examples" / "hub", dst)
    return dst


def recorded(snap: Path, repo: str, name: str) -> Path:
    return next((snap / "models" / repo).glob(f"*/{name}"))


def all_files_text(root: Path) -> str:
    out = []
    for p in root.rglob("*"):
        if p.is_file() and not p.is_symlink():
            out.append(p.read_bytes().decode("utf-8", "replace"))
    return "\n".join(out)


# ============================================================================ 1. unbounded reads
def test_trickling_model_info_is_cut_at_the_deadline(env, hub, capsys):
    hub.add_repo("org/trickle", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    hub.fail(r"^/api/models/org/trickle(\?|$)", "trickle", times=-1, nbytes=1, pause=0.5)
    rc, out, err, wall = check(capsys, "org/trickle")
    assert wall < DEADLINE + 2.5
    assert rc == 2 and result_of(out)["verdict"] == "error"
    assert "deadline" in err
    one_line(err)


def test_endless_model_info_body_is_capped_in_bytes(tmp_path, hub):
    hub.add_repo("org/endless", {"cardData": {"license": "apache-2.0"}})
    hub.fail(r"^/api/models/org/endless(\?|$)", "endless", times=-1)
    rc, out, err, wall, rss = child(["check", "org/endless", "-f", "json", "--deadline", "20", "--timeout", "2"],
                                    tmp_path, {"HF_ENDPOINT": hub.url, "HF_HOME": str(tmp_path / "hf")})
    assert rss < MAX_RSS_MB, f"peak RSS {rss:.0f} MB"
    assert rc == 2 and "byte limit" in err
    one_line(err)


def test_endless_license_body_is_a_too_large_file(env, hub, capsys):
    hub.add_repo("org/endlesslic", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    hub.fail(r"/resolve/[0-9a-f]{40}/LICENSE$", "endless", times=-1, prefix=b"")
    rc, out, err, wall = check(capsys, "org/endlesslic")
    r = result_of(out)
    assert r["verdict"] != "allow" and "file-too-large" in codes(r)
    assert wall < DEADLINE + 2.5


def test_lockfile_linked_to_dev_zero_is_not_read(env, hub, capsys):
    hub.add_repo("org/good", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    (env / "deploy").mkdir()
    (env / "deploy" / "run.sh").write_text("vllm serve org/good\n")
    os.symlink("/dev/zero", env / "modelscan.lock")
    rc, out, err, wall = cli(capsys, "gate", "deploy", "--locked", "-f", "json", "--deadline", str(DEADLINE))
    assert rc == 2 and "lockfile" in err and "not a regular file" in err
    one_line(err)
    assert wall < DEADLINE + 5


@pytest.mark.parametrize("make", ["fifo", "sparse", "devzero"])
def test_snapshot_file_that_is_no_regular_file_or_huge_is_a_finding(env, capsys, make):
    snap = snapshot_copy(env)
    card = recorded(snap, "microsoft/phi-4", "files/README.md")
    card.unlink()
    if make == "fifo":
        os.mkfifo(card)
    elif make == "sparse":
        with open(card, "wb") as fh:
            fh.truncate(2 * 1024 ** 3)
    else:
        os.symlink("/dev/zero", card)
    rc, out, err, wall = check(capsys, "microsoft/phi-4", "--snapshot", str(snap))
    r = result_of(out)
    assert r["verdict"] not in ("allow", "error"), r["verdict"]
    assert codes(r) & {"file-unreadable", "file-too-large"}
    assert wall < 10


def test_local_model_folder_with_pipes_and_device_links(env, capsys):
    model = env / "model"
    model.mkdir()
    (model / "README.md").write_text("---\nlicense: mit\n---\n# m\n")
    os.symlink("/dev/zero", model / "LICENSE")
    os.mkfifo(model / "config.json")
    rc, out, err, wall = check(capsys, "./model")
    r = result_of(out)
    assert r["verdict"] != "allow"
    assert wall < 10


# ============================================================================ 2. unbounded fan-out
def test_a_thousand_missing_base_models_are_capped(env, hub, capsys):
    from scanner.scan import MAX_PARENTS

    hub.add_repo("org/many", {"cardData": {"license": "apache-2.0",
                                           "base_model": [f"org/missing-{i}" for i in range(1000)]}})
    rc, out, err, wall = check(capsys, "org/many")
    r = result_of(out)
    assert r["verdict"] == "review" and "budget-exceeded" in codes(r)
    assert hub.count("GET") <= MAX_PARENTS + 5          # no "did you mean" search per missing parent
    assert wall < DEADLINE + 3


def test_the_deadline_bounds_the_target_with_its_lineage(env, hub, capsys):
    prev = None
    for i in range(6):
        card = {"license": "apache-2.0", **({"base_model": prev} if prev else {})}
        hub.add_repo(f"org/base{i}", {"cardData": card})
        prev = f"org/base{i}"
    hub.add_repo("org/child", {"cardData": {"license": "apache-2.0", "base_model": prev}})
    hub.fail(r"^/api/models/org/base\d", "stall", times=-1, seconds=0.8)
    rc, out, err, wall = check(capsys, "org/child")
    r = result_of(out)
    assert wall < DEADLINE + 2
    assert r["verdict"] != "allow" and codes(r) & {"budget-exceeded", "lineage-parent-unavailable"}


def test_a_shared_base_counts_against_the_first_asker_and_others_wait_no_longer_than_their_own():
    import threading

    from scanner.scan import FetchMemo
    from scanner.sources.http import Deadline
    from scanner.targets import TargetError

    memo = FetchMemo()
    started = threading.Event()

    def slow_fetch():
        started.set()
        time.sleep(1.5)
        return "base"

    first = threading.Thread(target=lambda: memo.get("base", slow_fetch, Deadline(5)))
    first.start()
    started.wait(2)
    t0 = time.monotonic()
    with pytest.raises(TargetError, match="deadline"):
        memo.get("base", lambda: "never", Deadline(0.3))
    assert time.monotonic() - t0 < 0.8
    first.join()
    assert memo.get("base", lambda: "never", Deadline(0.01)) == "base"


def test_a_rate_limit_pause_is_not_charged_to_the_deadline():
    from scanner.sources.http import Deadline

    clock = [0.0]
    d = Deadline(10, clock=lambda: clock[0])
    clock[0] = 4
    with d.paused():
        clock[0] = 30                     # a run-wide pause of 26 s
    assert d.left() == pytest.approx(6)   # only the 4 s before it were charged


# ============================================================================ 3. silent truncation
def test_datasets_past_the_cap_are_a_finding(env, hub, capsys):
    from scanner.scan import MAX_DATASETS

    names = []
    for i in range(MAX_DATASETS):
        hub.add_repo(f"org/ds{i}", {"cardData": {"license": "apache-2.0"}}, {}, kind="dataset")
        names.append(f"org/ds{i}")
    hub.add_repo("org/ncds", {"cardData": {"license": "cc-by-nc-4.0"}}, {}, kind="dataset")
    hub.add_repo("org/model", {"cardData": {"license": "apache-2.0", "datasets": names + ["org/ncds"]}},
                 {"LICENSE": APACHE_TEXT})
    rc, out, err, wall = check(capsys, "org/model", "--context", "commercial=true")
    r = result_of(out)
    assert r["verdict"] != "allow" and "budget-exceeded" in codes(r)


def test_a_license_is_found_in_a_folder_past_ten_thousand_entries(env, capsys):
    from scanner.sources.local import MAX_LISTED

    model = env / "model"
    model.mkdir()
    for i in range(MAX_LISTED + 10):
        (model / f"a-shard-{i:05d}.bin").touch()
    (model / "LICENSE").write_text("Creative Commons Attribution-NonCommercial 4.0 International Public License\n")
    (model / "README.md").write_text("---\nlicense: cc-by-nc-4.0\n---\n")
    rc, out, err, wall = check(capsys, "./model", "--context", "commercial=true")
    r = result_of(out)
    assert r["verdict"] != "allow"
    assert any(f["path"] == "LICENSE" for f in r["files"])


def test_a_capped_listing_is_never_silent(env, capsys):
    model = env / "model"
    (model / "weights").mkdir(parents=True)
    (model / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    (model / "LICENSE").write_text(APACHE_TEXT)
    from scanner.sources import local

    for i in range(30):
        (model / "weights" / f"w{i}").touch()
    old = local.MAX_LISTED
    local.MAX_LISTED = 10
    try:
        ev = local.LocalSource().fetch(__import__("scanner.targets", fromlist=["Target"]).parse_target("./model"))
    finally:
        local.MAX_LISTED = old
    assert any(i.code == "budget-exceeded" for i in ev.issues)


@pytest.mark.parametrize("front", [
    "license: cc-by-nc-4.0\nlicense: mit\n",
    "license: mit\nlicense: cc-by-nc-4.0\n",
    "license: mit\ntags: [a]\nlicense: mit\n",
])
def test_a_card_that_repeats_a_key_is_a_review_finding(env, capsys, front):
    (env / "model").mkdir()
    (env / "model" / "README.md").write_text(f"---\n{front}---\n# m\n")
    rc, out, err, wall = check(capsys, "./model")
    r = result_of(out)
    assert r["verdict"] != "allow" and "card-duplicate-key" in codes(r)
    msg = next(f["message"] for f in r["findings"] if f["code"] == "card-duplicate-key")
    assert "'license'" in msg and "line" in msg


def test_a_manifest_that_repeats_models_is_an_error_naming_file_line_key(env, capsys):
    (env / "modelscan.yaml").write_text("version: 1\ndeployments:\n  - name: app\n    models: [org/bad]\n"
                                        "    models: [org/good]\n")
    rc, out, err, wall = cli(capsys, "gate", ".", "-f", "json")
    assert rc == 2
    assert re.search(r"modelscan\.yaml:5: duplicate key 'models'", err), err
    one_line(err)


def test_a_policy_that_repeats_a_key_is_an_error(env, capsys):
    (env / "p.yaml").write_text("version: 1\nname: a\nextends: default\nname: b\n")
    rc, out, err, wall = cli(capsys, "check", "org/x", "--policy", "p.yaml")
    assert rc == 2 and re.search(r"p\.yaml:4: duplicate key 'name'", err), err
    one_line(err)


def test_a_lockfile_that_repeats_a_key_is_an_error(env, capsys):
    (env / "deploy").mkdir()
    (env / "deploy" / "run.sh").write_text("vllm serve org/good\n")
    (env / "modelscan.lock").write_text('{\n  "format": "modelscan-lock",\n  "version": 1,\n  "models": {},\n'
                                        '  "models": {}\n}\n')
    rc, out, err, wall = cli(capsys, "gate", "deploy", "--locked", "-f", "json")
    assert rc == 2 and "modelscan.lock:5: duplicate key 'models'" in err, err
    one_line(err)


# ============================================================================ 4. paths from the network
@pytest.mark.parametrize("sha", ["../../escaped", "../" * 8 + "tmp/escaped", "/tmp/escaped", "a" * 39 + "/",
                                 "A" * 40, 12345, None])
def test_a_sha_from_the_hub_is_never_a_path(env, hub, capsys, sha):
    hub.add_repo("org/shapath", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    body = {"id": "org/shapath", "sha": sha, "cardData": {"license": "apache-2.0"},
            "siblings": [{"rfilename": "LICENSE", "size": len(APACHE_TEXT)}]}
    hub.fail(r"^/api/models/org/shapath(\?|$)", "status", times=-1, code=200, body=json.dumps(body))
    rc, out, err, wall = check(capsys, "org/shapath")
    r = result_of(out)
    assert r["verdict"] != "allow" and "field-malformed" in codes(r)
    made = {p.name for p in env.rglob("*")}
    assert "escaped" not in made
    assert not Path("/tmp/escaped").exists()


# ============================================================================ 5. secrets
def test_credentials_in_hf_endpoint_reach_no_output(tmp_path, hub, capsys, monkeypatch, env):
    hub.add_repo("org/userinfo", {"cardData": {"license": "apache-2.0"}})
    hub.fail(r"^/api/models/org/userinfo", "status", times=-1, code=400)
    monkeypatch.setenv("HF_ENDPOINT", hub.url.replace("://", f"://user:{PASSWORD}@"))
    for fmt in ("json", "sarif", "junit", "markdown", "table"):
        rc, out, err, wall = cli(capsys, "check", "org/userinfo", "-f", fmt, "-o", f"report.{fmt}",
                                 "--deadline", str(DEADLINE))
        assert rc == 2
        assert PASSWORD not in out + err
        assert PASSWORD not in (env / f"report.{fmt}").read_text()
        one_line(err)
    assert PASSWORD not in all_files_text(env)


def test_a_token_echoed_by_the_hub_reaches_no_report_or_cache(env, hub, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    hub.add_repo("org/echo", {"cardData": {"license": TOKEN, "license_name": TOKEN, "model_name": TOKEN,
                                           "base_model": f"org/{TOKEN}"}})
    for fmt in ("json", "markdown", "table", "sarif", "junit"):
        rc, out, err, wall = check(capsys, "org/echo", "-o", f"out.{fmt}", fmt=fmt)
        assert TOKEN not in out + err
    assert TOKEN not in all_files_text(env)         # reports, metadata cache


@pytest.mark.parametrize("text", [
    f"x {TOKEN} y", f"https://u:{PASSWORD}@h/x", f"Authorization: Bearer {TOKEN}", f"bearer abc.def-{PASSWORD}",
    "hf_" + "a1B2" * 10,
])
def test_redaction_goes_by_shape(text, monkeypatch):
    from scanner.redact import redact

    monkeypatch.delenv("HF_TOKEN", raising=False)
    out = redact(text)
    assert TOKEN not in out and PASSWORD not in out and "a1B2a1B2" not in out


# ============================================================================ 6. injection
ESC = "\x1b[1A\x1b[2K\x1b[32mALLOW\x1b[0m"
_NOT_SGR = re.compile(r"\x1b(?!\[[0-9;]*m)")


def _terminal(report, color=True) -> str:
    from scanner.formats.terminal import TerminalFormat

    return TerminalFormat(color=color, width=120).render(report)


def test_escape_sequences_never_reach_the_terminal(env, hub, capsys):
    from scanner import kb as kbmod
    from scanner.sources.hub import HubSettings, HubSource
    from scanner.sources.local import LocalSource
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner
    import datetime as dt

    hub.add_repo("org/esc", {"cardData": {"license": "other", "license_name": ESC, "base_model": ESC,
                                          "model_name": ESC}},
                 {"config.json": json.dumps({"auto_map": {"AutoModel": ESC + "--x/y.M"}, "model_type": ESC}),
                  f"LICENSE{ESC}": "Some terms\n"})
    (env / "model").mkdir()
    (env / "model" / "README.md").write_text('---\nlicense: "\\e[1A\\e[2Kmit"\nlicense_name: "\\x9b2J"\n---\n')
    (env / "model" / f"LICENSE\x1b[2J\x1b[H{ESC}").write_text("Proprietary terms\n")
    source, local = HubSource(HubSettings(deadline=DEADLINE, read_timeout=1.0)), LocalSource()
    scanner = Scanner(source, kbmod.load(), load_policy("default"), dt.datetime(2026, 11, 30, tzinfo=dt.timezone.utc),
                      local=local)
    report = scanner.scan(["org/esc", "./model"])
    for color in (True, False):
        text = _terminal(report, color)
        assert not _NOT_SGR.search(text), repr(text[:300])
        assert "\x9b" not in text
    rc, out, err, wall = check(capsys, "org/esc", fmt="table")
    assert "\x1b" not in out + err


def test_rich_markup_in_a_policy_name_is_shown_as_text(env, hub, capsys):
    hub.add_repo("org/ok", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    hub.add_repo("org/ok2", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    (env / "p.yaml").write_text("version: 1\nname: '[/][bold red]ALLOW[/bold red][link=https://evil]x'\n"
                                "extends: default\n")
    rc, out, err, wall = check(capsys, "org/ok", "org/ok2", "--policy", "p.yaml", fmt="table")
    assert rc in (0, 1), err
    assert "[/][bold red]ALLOW[/bold red][link=https://evil]x" in re.sub(r"[\s│]+", " ", out)


def test_the_markdown_report_escapes_mentions_autolinks_html_and_bidi(env, hub, capsys):
    hub.add_repo("org/md", {"cardData": {"license": "other", "license_name":
                                         "@org/team see https://evil.example www.evil.example \u202eexe.txt "
                                         "<img src=x> | a | b | user@example.com"}})
    rc, out, err, wall = check(capsys, "org/md", fmt="markdown")
    assert "@org" not in out and "@example" not in out          # mentions broken by a zero-width space
    assert "https://" not in out and "www.evil" not in out
    assert "\u202e" not in out and not re.search(r"(?<!\\)<img", out), [
        line for line in out.splitlines() if "\u202e" in line]
    assert "evil.example" in out                                  # the text itself is kept


# ============================================================================ 7. whole-run aborts
@pytest.mark.parametrize("text, expect", [
    ("- a\n- b\n", "mapping"),
    ("version: 1\nname: x\nname: y\n", "duplicate key"),
    ("a: " + "[" * 5000 + "]" * 5000 + "\n", "YAML"),
    ("a: &a [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n", ""),
    ("\x00\x01", "YAML"),
    ("version: 1\nlicenses: 5\n", ""),
    ("version: 1\nwaivers: [{model: 5}]\n", ""),
])
def test_malformed_policies_have_a_named_one_line_error(env, capsys, text, expect):
    (env / "p.yaml").write_text(text)
    rc, out, err, wall = cli(capsys, "check", "org/x", "--policy", "p.yaml")
    assert rc == 2 and "p.yaml" in err and expect in err, err
    one_line(err)


@pytest.mark.parametrize("text", ["[]", "{", '{"format": "modelscan-lock", "version": 1, "models": 5}',
                                  '{"format": "modelscan-lock", "version": 1, "models": {"a/b": 5}}',
                                  '{"format": "modelscan-lock", "version": 1, "models": {"a/b": {"requested": {}}}}',
                                  '{"format": "modelscan-lock", "version": 1, "models": '
                                  + "[" * 5000 + "]" * 5000 + "}",
                                  '{"format": "modelscan-lock", "version": NaN}', "\xff\xfe"])
def test_malformed_lockfiles_have_a_named_one_line_error(env, capsys, text):
    (env / "deploy").mkdir()
    (env / "deploy" / "run.sh").write_text("vllm serve org/good\n")
    (env / "modelscan.lock").write_text(text, encoding="latin-1")
    rc, out, err, wall = cli(capsys, "gate", "deploy", "--locked", "-f", "json")
    assert rc == 2 and "modelscan.lock" in err, err
    one_line(err)


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "nan", "2026-13-01",
                                 "\x1b[2J", "1" * 5000, " ", "2026-11-30T25:00:00Z"])
def test_odd_now_values_have_a_named_one_line_error(env, capsys, now):
    rc, out, err, wall = cli(capsys, "check", "org/x", "--now", now)
    assert rc == 2 and "--now" in err, err
    assert "\x1b" not in err
    one_line(err)


def test_an_unreadable_hugging_face_cache_does_not_stop_a_local_scan(env, capsys):
    if os.geteuid() == 0:
        pytest.skip("root reads any folder")
    (env / "model").mkdir()
    (env / "model" / "README.md").write_text("---\nlicense: apache-2.0\n---\n")
    (env / "model" / "LICENSE").write_text(APACHE_TEXT)
    (env / "hf").mkdir()
    (env / "hf").chmod(0)
    try:
        rc, out, err, wall = check(capsys, "./model")
    finally:
        (env / "hf").chmod(0o700)
    assert rc in (0, 1) and result_of(out)["verdict"] != "error", err


def test_an_unwritable_metadata_cache_leaves_the_hub_source_working(tmp_path, hub):
    from scanner.sources.hub import HubSettings, HubSource

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    hub.add_repo("org/ok", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    src = HubSource(HubSettings(deadline=5), cache_dir=blocker / "cache", token=False, endpoint=hub.url)
    assert src.cache is None and src.cache_problem
    from scanner.targets import parse_target
    assert src.fetch(parse_target("org/ok")).file("LICENSE").status == "ok"


# ============================================================================ 8. reports lost
@pytest.mark.parametrize("fmt", ["json", "junit", "sarif", "markdown", "table"])
def test_a_lone_surrogate_in_a_recorded_card_renders_in_every_format(env, capsys, fmt):
    snap = snapshot_copy(env)
    info = recorded(snap, "microsoft/phi-4", "model_info.json")
    info.write_text(info.read_text().replace('"license": "mit"', '"license": "mit-x\\ud800y"'))
    (env / "out.report").write_text("OLD REPORT")
    rc, out, err, wall = check(capsys, "microsoft/phi-4", "--snapshot", str(snap), "-o", "out.report", fmt=fmt)
    assert rc in (0, 1), err
    data = (env / "out.report").read_bytes().decode("utf-8")          # valid UTF-8
    assert data != "OLD REPORT" and data
    if fmt in ("json", "sarif"):
        json.loads(data)
    if fmt == "junit":
        import xml.etree.ElementTree as ET
        ET.fromstring(data)


def test_the_previous_report_survives_a_failed_run(env, capsys, monkeypatch):
    from scanner.cli import common

    snap = snapshot_copy(env)
    (env / "out.json").write_text("OLD REPORT")

    def boom(report, fmt, color=False):
        raise RuntimeError("render failed")
    monkeypatch.setattr(common, "render", boom)
    monkeypatch.setattr("scanner.cli.check.render", boom, raising=False)
    rc, out, err, wall = check(capsys, "microsoft/phi-4", "--snapshot", str(snap), "-o", "out.json")
    assert rc == 2
    assert (env / "out.json").read_text() == "OLD REPORT"


def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    from scanner import atomic

    target = tmp_path / "report.json"
    target.write_text("OLD")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(atomic.os, "replace", broken_replace)
    with pytest.raises(OSError):
        atomic.write_atomic(target, b"NEW")
    assert target.read_text() == "OLD"
    assert [p.name for p in tmp_path.iterdir()] == ["report.json"]


# ============================================================================ 9. hostile field types
def _info(**over):
    body = {"id": "org/field", "sha": "0" * 40, "cardData": {"license": "apache-2.0"},
            "tags": ["license:apache-2.0"], "siblings": [{"rfilename": "LICENSE", "size": len(APACHE_TEXT)}]}
    body.update(over)
    return json.dumps(body, allow_nan=True)


@pytest.mark.parametrize("body", [
    _info(siblings=[{"rfilename": "LICENSE", "size": "big"}]),
    _info(siblings=[{"rfilename": "LICENSE", "size": math.nan}]),
    _info(siblings=[{"rfilename": "LICENSE", "size": -1}]),
    _info(siblings={"rfilename": "LICENSE"}),
    _info(tags="license:apache-2.0"),
    _info(cardData=["license", "mit"]),
    _info(sha=12345),
    _info(gated={"x": 1}),
    _info(lastModified=math.nan),
    _info(id=["a"]),
    _info()[:-1] + ', "config": ' + "[" * 100_000 + "]" * 100_000 + "}",
    _info(config={"model_type": {"a": [1, {"b": math.inf}]}}),
], ids=["size-str", "size-nan", "size-neg", "siblings-dict", "tags-str", "card-list", "sha-int", "gated-obj",
        "lastmod-nan", "id-list", "config-deep", "config-inf"])
def test_hostile_field_types_are_findings_not_lost_targets(env, hub, capsys, body):
    hub.add_repo("org/field", {"cardData": {"license": "apache-2.0"}}, {"LICENSE": APACHE_TEXT})
    hub.fail(r"^/api/models/org/field(\?|$)", "status", times=-1, code=200, body=body)
    rc, out, err, wall = check(capsys, "org/field")
    r = result_of(out)
    assert r["verdict"] in ("review", "deny"), (r["verdict"], r["reasons"])
    assert "field-malformed" in codes(r)
    one_line(err)


@pytest.mark.parametrize("where", ["provenance", "config"])
def test_hostile_values_in_a_snapshot_are_findings(env, capsys, where):
    snap = snapshot_copy(env)
    if where == "provenance":
        files = recorded(snap, "microsoft/phi-4", "files.json")
        data = json.loads(files.read_text())
        files.write_text(json.dumps({**data, "provenance": {"x": math.nan, "y": [1, {"z": math.inf}]}}))
    else:
        recorded(snap, "microsoft/phi-4", "files/config.json").write_text(
            '{"model_type": ' + "[" * 100_000 + "]" * 100_000 + "}")
    rc, out, err, wall = check(capsys, "microsoft/phi-4", "--snapshot", str(snap))
    r = result_of(out)
    assert r["verdict"] == "review" and "field-malformed" in codes(r)


# ============================================================================ the gate over a hostile tree
def test_the_gate_decides_every_model_it_can_find_in_a_hostile_tree(env, hub, capsys):
    for name in ("good", "also-good", "compose-a", "compose-b"):
        hub.add_repo(f"org/{name}", {"cardData": {"license": "apache-2.0"}})
    deploy = env / "deploy"
    deploy.mkdir()
    (deploy / "serve.sh").write_text("vllm serve org/good\n")
    (deploy / "app.py").write_text('from transformers import AutoModel\nAutoModel.from_pretrained("org/also-good")\n')
    os.mkfifo(deploy / "start.sh")                                          # a FIFO
    os.symlink("/dev/zero", deploy / "run.sh")                              # a link to a device
    with open(deploy / "huge.sh", "wb") as fh:                              # a 2 GB sparse file
        fh.truncate(2 * 1024 ** 3)
    (deploy / "deep.yaml").write_text("a: " + "[" * 50_000 + "]" * 50_000 + "\n")      # nested YAML
    (deploy / "long.py").write_text("x = " + "(" * 100_000 + "1" + ")" * 100_000 + "\n"
                                    "y = " + "1+" * 100_000 + "1\n")                 # long Python expressions
    (deploy / "compose.yaml").write_text("services:\n  api:\n    command: vllm serve org/compose-a\n"
                                         "    command: vllm serve org/compose-b\n")  # a gated key set twice
    rc, out, err, wall = cli(capsys, "gate", "deploy", "-f", "json", "--deadline", str(DEADLINE), "-j", "2")
    results = json.loads(out)["results"]
    decided = {r["repo_id"]: r["verdict"] for r in results if r["repo_id"]}
    assert decided == {"org/good": "allow", "org/also-good": "allow", "org/compose-a": "allow",
                       "org/compose-b": "allow"}, decided
    problems = {r["target"]: r for r in results if not r["repo_id"]}
    assert {"deploy/start.sh", "deploy/run.sh", "deploy/huge.sh", "deploy/deep.yaml",
            "deploy/compose.yaml"} <= set(problems), set(problems)
    assert all(r["verdict"] == "review" for r in problems.values())
    assert rc == 1                        # review: unread files keep the gate from passing
    assert wall < 30
    one_line(err)


# ============================================================================ each class on more inputs
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

PROPS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HOSTILE_CHARS = st.sampled_from(list("\x1b\x07\x9b\u202e\u2066\u200f\r\n\t@|<>[]`*_#&\\:/.w") +
                                ["\ud800", "\udfff", "https://", "www.", "@org/team", "[/]", "[bold]", "\x00"])
STRANGER_TEXT = st.lists(st.one_of(HOSTILE_CHARS, st.text(max_size=5)), max_size=30).map("".join)
JSON_LEAF = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                      STRANGER_TEXT)
JSON_ANY = st.recursive(JSON_LEAF, lambda c: st.one_of(st.lists(c, max_size=4),
                                                       st.dictionaries(STRANGER_TEXT, c, max_size=4)), max_leaves=25)


@PROPS
@given(STRANGER_TEXT)
def test_markdown_escaping_holds_for_any_text(text):
    from scanner.textsafe import markdown_inline

    out = markdown_inline(text)
    assert "\n" not in out
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]", out)
    assert not re.search(r"@[A-Za-z0-9]", out)                 # no mention
    assert "://" not in out and not re.search(r"(?i)\bwww\.", out)
    assert not re.search(r"(?<!\\)[|<>\[\]`]", out)            # no table cell, HTML, link or code


@PROPS
@given(STRANGER_TEXT)
def test_terminal_text_renders_as_itself_without_controls(text):
    import io

    from rich.console import Console
    from rich.text import Text

    from scanner.textsafe import plain, terminal

    shown = Text.from_markup(terminal(text)).plain          # never a markup error, never live markup
    # rich's escape doubles a trailing backslash (so that it cannot escape what follows)
    assert shown in (plain(text), plain(text) + "\\")
    buf = io.StringIO()
    Console(file=buf, force_terminal=True, width=80).print(terminal(text))
    assert not re.search(r"\x1b(?!\[[0-9;]*m)", buf.getvalue())


@PROPS
@given(STRANGER_TEXT, STRANGER_TEXT)
def test_junit_and_sarif_stay_valid_for_any_text(name, message):
    import xml.etree.ElementTree as ET

    from scanner import formats
    from scanner.findings import Finding
    from scanner.result import Location, PolicyRef, Report, Result

    r = Result(target=name or "x", repo_id=None, revision=None, sha=None, source="none", verdict="review",
               reasons=(message,), findings=(Finding("file-unreadable", message, evidence={"file": name}),),
               locations=(Location(name, 1),))
    report = Report(schema_version="1.0.0", tool={"name": "modelscan", "version": "0"},
                    knowledge_base={"hash": "sha256:0", "records": 0}, policy=PolicyRef(None, name, "sha256:0"),
                    evaluated_at="2026-11-30T00:00:00Z", context={}, results=(r,))
    ET.fromstring(formats.get("junit").render(report).encode("utf-8"))
    from scanner.textsafe import encodable
    json.loads(encodable(formats.get("sarif").render(report)))


@PROPS
@given(JSON_ANY)
def test_hub_info_of_any_shape_is_fields_or_problems(value):
    from scanner.sources.shapes import hub_info, is_sha
    from scanner.sources.snapshot import evidence_from_info

    info, problems = hub_info(value, "org/x")
    assert isinstance(info["id"], str) and all(isinstance(p, str) for p in problems)
    assert "sha" not in info or is_sha(info["sha"])
    for s in info.get("siblings", ()):
        assert isinstance(s["rfilename"], str) and (s.get("size") is None or isinstance(s["size"], int))
    evidence_from_info("org/x", "hub", "model", None, info, (), None, {}, {})


@PROPS
@given(JSON_ANY, st.integers(min_value=1, max_value=200))
def test_json_from_outside_is_bounded_and_finite(value, depth):
    from scanner.sources.shapes import load_json

    text = "[" * depth + json.dumps(value, allow_nan=True) + "]" * depth
    parsed, problems = load_json(text, "x", max_depth=64)
    json.dumps(parsed, allow_nan=False)                       # no NaN or infinity left
    if depth > 64:
        assert problems


@PROPS
@given(st.lists(st.one_of(st.just("license: mit"), st.just("license: cc-by-nc-4.0"), st.just("a: &x [1, *x]"),
                          st.just("base_model: org/x"), st.just("- item"), st.just("k: " + "[" * 70 + "]" * 70),
                          st.just("datasets: [a/b]"), STRANGER_TEXT.map(lambda t: "x: " + json.dumps(t))),
                max_size=8))
def test_card_front_matter_never_raises(lines):
    from scanner.card import parse_card

    text = "---\n" + "\n".join(lines) + "\n---\n# card\n"
    card = parse_card(text)
    keys = [line.split(":")[0] for line in lines if ":" in line and not line.startswith("-")]
    if card.data is not None and len(keys) != len(set(keys)) and all(not line.startswith("-") for line in lines):
        assert any(p.code == "card-duplicate-key" for p in card.problems)


@PROPS
@given(JSON_ANY)
def test_base_model_and_dataset_values_of_any_shape(value):
    from scanner.lineage import dataset_ids, parents_of

    for card in ({"base_model": value}, {"datasets": value}, {"base_model_relation": value, "base_model": "a/b"}):
        parents_of(card, ())
        dataset_ids(card, ())


@PROPS
@given(STRANGER_TEXT | st.text(alphabet="0123456789-:TZ+ .", max_size=40))
def test_any_now_value_is_a_time_or_a_named_error(value):
    import click

    from scanner.cli.common import evaluation_time

    try:
        when = evaluation_time(value)
    except click.exceptions.Exit as exc:
        assert exc.exit_code == 2
    else:
        assert when.tzinfo is not None


@PROPS
@given(st.lists(st.one_of(st.just("version: 1"), st.just("name: x"), st.just("extends: default"),
                          st.just("licenses: 5"), st.just("context: [1]"), st.just("waivers: [{model: 5}]"),
                          st.just("licenses: {allow: [5, {a: b}]}"), st.just("- 1"),
                          STRANGER_TEXT.map(lambda t: "description: " + json.dumps(t))), max_size=6))
def test_any_policy_text_loads_or_is_a_policy_error(tmp_path_factory, lines):
    from scanner.policy.model import PolicyError, load_policy

    path = tmp_path_factory.mktemp("p") / "p.yaml"
    path.write_text("\n".join(lines), encoding="utf-8", errors="surrogatepass")
    try:
        load_policy(str(path))
    except PolicyError as exc:
        assert str(exc).strip() and "\n" not in str(exc).strip()


@PROPS
@given(st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.~+/=", min_size=8,
               max_size=40), STRANGER_TEXT)
def test_any_held_token_is_redacted_wherever_it_appears(token, text):
    from scanner import redact as r

    r.register(token)
    try:
        assert token not in r.redact(text + token + text)
        assert token.encode() not in r.redact_bytes((text + token).encode("utf-8", "surrogatepass"))
    finally:
        r._registered.discard(token)


@PROPS
@given(st.lists(st.sampled_from(["services:", "  api:", "    command: vllm serve org/a",
                                 "    command: vllm serve org/b",
                                 "    environment: {MODEL_ID: org/c, MODEL_ID: org/d}", "  x: " + "[" * 80 + "]" * 80,
                                 "apiVersion: v1", "kind: Pod", "a: &a [*a]", "\t- ]"]), max_size=8))
def test_discovery_parsers_never_raise_but_file_problems(lines):
    from scanner.gate.discover.containers import yaml_refs
    from scanner.gate.discover.python import python_refs
    from scanner.gate.discover.reference import FileProblem, collecting, stop_collecting
    from scanner.gate.discover.shell import shell_refs

    text = "\n".join(lines)
    noted: list = []
    token = collecting(noted)
    try:
        for parse in (yaml_refs, python_refs, shell_refs):
            try:
                parse(text, "f.yaml", Path("/nonexistent"))
            except FileProblem:
                pass
    finally:
        stop_collecting(token)
