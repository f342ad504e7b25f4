"""The compliance bundle of a gate run: `gate --bundle DIR`, `lock --bundle DIR` (the digest in
modelscan.lock, format version 2) and the stale-bundle check of `gate --locked`, through the CLI
on the example snapshot (no network)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from scanner.kb import load_schema

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "hub"
NOW = "2026-11-28T00:00:00Z"
LLAMA, PHI, QWEN = "meta-llama/Meta-Llama-3-70B", "microsoft/phi-4", "Qwen/Qwen2.5-7B-Instruct"
WATT = "watt-ai/watt-tool-70B"      # reviewed under the default policy

pytestmark = pytest.mark.timeout(300)


def manifest(*models: str) -> str:
    return "version: 1\ndeployments:\n  - name: prod\n    models:\n" + "".join(f"      - {m}\n" for m in models)


def cli(repo: Path, *args: str, hub: str | None = None) -> subprocess.CompletedProcess:
    """The CLI in `repo`, on the example snapshot, or with `hub` on that (fake) Hub."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE_", "MODELSCAN_", "INPUT_"))}
    env.update(PYTHONPATH=str(ROOT), MODELSCAN_NOW=NOW, CI="true", HF_HOME=str(repo.parent / "hf"),
               MODELSCAN_CACHE=str(repo.parent / "cache"), HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_XET="1")
    if hub:
        env["HF_ENDPOINT"] = hub
    else:
        env["HF_HUB_OFFLINE"] = "1"
    source = ("--timeout", "5", "--deadline", "30") if hub else ("--snapshot", str(EXAMPLES))
    proc = subprocess.run([sys.executable, "-m", "scanner", *args, *source], cwd=repo, env=env,
                          capture_output=True, text=True, timeout=120)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def report(proc: subprocess.CompletedProcess) -> dict:
    data = json.loads(proc.stdout)
    jsonschema.Draft202012Validator(load_schema("report.schema.json")).validate(data)
    return data


def folder(path: Path) -> dict[str, bytes]:
    return {p.relative_to(path).as_posix(): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()}


def spelled_out_digest(files: dict[str, bytes]) -> str:
    """The digest as docs/bundle.md defines it, written out here independently of scanner.bundle."""
    h = hashlib.sha256()
    for path in sorted(files):
        h.update(path.encode() + b"\0" + hashlib.sha256(files[path]).digest())
    return "sha256:" + h.hexdigest()


def stale(data: dict) -> list[dict]:
    return [f for r in data["results"] for f in r["findings"] if f["code"] == "bundle-stale"]


@pytest.fixture
def locked(tmp_path):
    """A deployment of two models, locked with its bundle in compliance/."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "modelscan.yaml").write_text(manifest(LLAMA, PHI))
    proc = cli(repo, "lock", "--bundle", "compliance")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bundle compliance: 2 model(s)" in proc.stdout
    return repo


def test_lock_records_the_bundle_and_the_gate_reproduces_it(locked, tmp_path):
    repo = locked
    data = json.loads((repo / "modelscan.lock").read_text())
    files = folder(repo / "compliance")
    lock_schema = jsonschema.Draft202012Validator(load_schema("lock.schema.json"))
    lock_schema.validate(data)
    assert data["version"] == 2
    assert data["bundle"]["path"] == "compliance"
    assert data["bundle"]["digest"] == spelled_out_digest(files)
    assert data["bundle"]["files"] == {p: hashlib.sha256(b).hexdigest() for p, b in files.items()}
    assert {m["model"] for m in json.loads(files["obligations.json"])["models"]} == {LLAMA, PHI}

    # the gate, locked, finds the bundle current; with --bundle it writes the same bytes elsewhere
    proc = cli(repo, "gate", "--locked", "--bundle", "out", "-f", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rep = report(proc)
    assert not stale(rep)
    assert rep["configuration"]["bundle"]["locked"] == {"path": "compliance", "digest": data["bundle"]["digest"],
                                                        "status": "current", "checked_models": True}
    assert rep["configuration"]["bundle"]["out"] == {"path": "out", "digest": data["bundle"]["digest"]}
    assert folder(repo / "out") == files
    assert "bundle out: 2 model(s)" in proc.stderr

    # the same writer as `modelscan bundle`: the same models (in another order) give the same bytes
    other = tmp_path / "by-hand"
    proc = cli(repo, "bundle", PHI, LLAMA, "--out", str(other))
    assert proc.returncode == 0, proc.stderr
    assert folder(other) == files

    # a re-lock later rewrites the lockfile and the bundle byte for byte
    lock_before = (repo / "modelscan.lock").read_bytes()
    proc = cli(repo, "lock", "--now", "2027-01-02")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (repo / "modelscan.lock").read_bytes() == lock_before and folder(repo / "compliance") == files


def test_a_changed_missing_or_replaced_bundle_fails_the_locked_gate(locked):
    repo = locked
    bundle = repo / "compliance"
    original = folder(bundle)

    (bundle / "NOTICE").write_bytes(original["NOTICE"] + b"edited by hand\n")
    proc = cli(repo, "gate", "--locked", "--fail-on", "deny", "-f", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report(proc)
    [finding] = stale(rep)
    result = next(r for r in rep["results"] if r["target"] == "compliance")
    assert result["verdict"] == "deny" and finding["effect"] == "deny" and finding["severity"] == "high"
    assert "compliance: the bundle's files differ" in finding["message"] and "changed NOTICE" in finding["message"]
    assert finding["evidence"]["files"] == {"added": [], "removed": [], "changed": ["NOTICE"]}
    assert rep["configuration"]["bundle"]["locked"]["status"] == "stale"
    assert {r["verdict"] for r in rep["results"] if r["repo_id"]} == {"allow"}     # the models themselves pass

    (bundle / "NOTICE").write_bytes(original["NOTICE"])
    (bundle / "licenses").mkdir(exist_ok=True)
    (bundle / "licenses" / "extra.txt").write_text("not from the scan\n")
    (bundle / "obligations.json").unlink()
    (bundle / "obligations.json").symlink_to(bundle / "OBLIGATIONS.md")
    [finding] = stale(report(cli(repo, "gate", "--locked", "-f", "json")))
    assert finding["evidence"]["files"]["added"] == ["licenses/extra.txt"]
    assert finding["evidence"]["files"]["removed"] == ["obligations.json"]
    assert "obligations.json: a symbolic link" in finding["message"]

    # a README beside the bundle is not part of it
    shutil.rmtree(bundle)
    bundle.mkdir()
    for rel, data in original.items():
        (bundle / rel).parent.mkdir(parents=True, exist_ok=True)
        (bundle / rel).write_bytes(data)
    (bundle / "README.md").write_text("what this folder is\n")
    assert cli(repo, "gate", "--locked").returncode == 0

    shutil.rmtree(bundle)
    proc = cli(repo, "gate", "--locked", "-f", "json")
    assert proc.returncode == 1
    rep = report(proc)
    [finding] = stale(rep)
    assert "is missing" in finding["message"] and "modelscan lock --bundle compliance" in finding["message"]
    assert rep["configuration"]["bundle"]["locked"]["status"] == "missing"


def test_the_bundle_of_the_models_deployed_now_must_match_the_recorded_one(locked):
    repo = locked
    # a model dropped from the deployment: no approval finding names it, the bundle does
    (repo / "modelscan.yaml").write_text(manifest(LLAMA))
    proc = cli(repo, "gate", "--locked", "-f", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report(proc)
    [finding] = stale(rep)
    assert "the bundle for the models deployed now differs" in finding["message"]
    assert finding["evidence"]["models"]["removed"] == [f"{PHI}@01e33d12b383"]
    assert "obligations.json" in finding["evidence"]["files"]["changed"]
    assert [r["verdict"] for r in rep["results"] if r["repo_id"]] == ["allow"]

    # a model added: approval-missing (review) and a stale bundle (deny)
    (repo / "modelscan.yaml").write_text(manifest(LLAMA, PHI, QWEN))
    rep = report(cli(repo, "gate", "--locked", "-f", "json"))
    [finding] = stale(rep)
    assert finding["evidence"]["models"]["added"][0].startswith(QWEN + "@")
    assert f"models added {QWEN}@" in finding["message"]

    # re-locking brings the lockfile and the bundle back in step (the recorded folder is kept)
    assert cli(repo, "lock", "--fail-on", "never").returncode == 0
    rep = report(cli(repo, "gate", "--locked", "--fail-on", "deny", "-f", "json"))
    assert not stale(rep) and rep["configuration"]["bundle"]["locked"]["status"] == "current"
    assert QWEN in {m["model"] for m in json.loads((repo / "compliance" / "obligations.json").read_text())["models"]}


def test_a_waiver_added_later_keeps_the_approval_but_the_bundle_names_the_new_verdict(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "modelscan.yaml").write_text(manifest(WATT))
    policy = "version: 1\nname: org\nextends: default\nwaivers: []\n"
    (repo / "org.yaml").write_text(policy)
    assert cli(repo, "lock", "--policy", "org.yaml", "--bundle", "compliance", "--fail-on", "never").returncode == 0
    entry = json.loads((repo / "modelscan.lock").read_text())["models"][WATT]
    assert entry["verdict"] == "review"
    (repo / "org.yaml").write_text(policy.replace("waivers: []", f"""waivers:
  - model: {WATT}
    revision: {entry['revision']}
    verdict: allow
    reason: read by legal (LEGAL-1)
    owner: legal@example.com
    expires: 2027-05-01"""))
    proc = cli(repo, "gate", "--locked", "--policy", "org.yaml", "-f", "json")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    rep = report(proc)
    qwen = next(r for r in rep["results"] if r["repo_id"] == WATT)
    assert qwen["verdict"] == "allow" and "approval-stale" not in {f["code"] for f in qwen["findings"]}
    [finding] = stale(rep)
    assert finding["evidence"]["models"]["changed"] == [f"{WATT}@{entry['revision'][:12]} (verdict review -> allow)"]
    assert finding["evidence"]["files"]["changed"] == ["obligations.json"]


def test_license_texts_in_the_bundle_and_a_changed_notice_file_on_the_hub(tmp_path):
    from conftest import reference_text
    from hubserver import FakeHub

    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "modelscan.yaml").write_text(manifest("acme/apache-model"))
    info = {"cardData": {"license": "apache-2.0"}}
    texts = {"LICENSE": reference_text("apache-2.0.LICENSE.txt"),
             "NOTICE": "Example Model\nCopyright 2025 Example Labs\n"}
    with FakeHub() as hub:
        old_sha = hub.add_repo("acme/apache-model", info, texts)
        proc = cli(repo, "lock", "--bundle", "compliance", hub=hub.url)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        files = folder(repo / "compliance")
        assert files["licenses/acme_apache-model/acme_apache-model__LICENSE"] == texts["LICENSE"].encode()
        assert "Copyright 2025 Example Labs" in files["NOTICE"].decode()
        assert json.loads((repo / "modelscan.lock").read_text())["bundle"]["digest"] == spelled_out_digest(files)
        rep = report(cli(repo, "gate", "--locked", "-f", "json", hub=hub.url))
        assert rep["configuration"]["bundle"]["locked"]["status"] == "current" and not stale(rep)

        # the model's NOTICE changes in a new commit: license drift, and the bundle says what it changes
        new_sha = hub.add_repo("acme/apache-model", info, {**texts, "NOTICE": "Example Model\nCopyright 2026 Other\n"})
        proc = cli(repo, "gate", "--locked", "-f", "json", hub=hub.url)
    assert proc.returncode == 1
    rep = report(proc)
    [finding] = stale(rep)
    assert finding["evidence"]["files"]["changed"] == [
        "NOTICE", "OBLIGATIONS.md", "licenses/acme_apache-model/acme_apache-model__NOTICE", "obligations.json"]
    assert finding["evidence"]["models"]["changed"] == [
        f"acme/apache-model@{old_sha[:12]} -> acme/apache-model@{new_sha[:12]}"]
    assert "license-drift" in {f["code"] for r in rep["results"] for f in r["findings"]}


def test_fail_closed_on_bad_folders_and_undecidable_models(locked):
    repo = locked
    foreign = repo / "docs"
    foreign.mkdir()
    (foreign / "index.md").write_text("someone's notes\n")
    for cmd in (("gate", "--bundle", "docs"), ("lock", "--bundle", "docs")):
        proc = cli(repo, *cmd)
        assert proc.returncode == 2 and "holds no modelscan bundle" in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1
    assert (foreign / "index.md").read_text() == "someone's notes\n" and len(list(foreign.iterdir())) == 1
    assert cli(repo, "lock", "--bundle", "x", "--no-bundle").returncode == 2

    # a model that cannot be decided: no bundle is written, and the lock keeps the bundle it recorded
    before = json.loads((repo / "modelscan.lock").read_text())["bundle"]
    (repo / "modelscan.yaml").write_text(manifest(LLAMA, "nobody/no-such-model"))
    proc = cli(repo, "gate", "--bundle", "new")
    assert proc.returncode == 2 and "bundle not written to new" in proc.stderr and not (repo / "new").exists()
    proc = cli(repo, "lock")
    assert proc.returncode == 2 and "bundle not written to compliance" in proc.stderr
    assert json.loads((repo / "modelscan.lock").read_text())["bundle"] == before
    rep = report(cli(repo, "gate", "--locked", "-f", "json"))
    assert rep["configuration"]["bundle"]["locked"]["checked_models"] is False and not stale(rep)

    # --no-bundle drops the record and leaves the folder
    (repo / "modelscan.yaml").write_text(manifest(LLAMA, PHI))
    assert cli(repo, "lock", "--no-bundle").returncode == 0
    assert "bundle" not in json.loads((repo / "modelscan.lock").read_text())
    assert (repo / "compliance" / "NOTICE").exists()
    rep = report(cli(repo, "gate", "--locked", "-f", "json"))
    assert "bundle" not in rep["configuration"]


def test_lockfile_versions(locked):
    repo = locked
    data = json.loads((repo / "modelscan.lock").read_text())
    v1 = {**data, "version": 1}
    v1.pop("bundle")
    lock_schema = jsonschema.Draft202012Validator(load_schema("lock.schema.json"))
    assert lock_schema.is_valid(v1) and lock_schema.is_valid(data)
    assert not lock_schema.is_valid({**data, "version": 1}) and not lock_schema.is_valid({**data, "version": 3})
    (repo / "modelscan.lock").write_text(json.dumps(v1))
    proc = cli(repo, "gate", "--locked")
    assert proc.returncode == 0, proc.stdout + proc.stderr      # a version-1 lockfile is still read
    assert cli(repo, "lock").returncode == 0
    assert json.loads((repo / "modelscan.lock").read_text())["version"] == 2

    (repo / "modelscan.lock").write_text(json.dumps({**data, "version": 1}))
    proc = cli(repo, "gate", "--locked")
    assert proc.returncode == 2 and "a version-1 lockfile records no bundle" in proc.stderr
    (repo / "modelscan.lock").write_text(json.dumps({**data, "version": 3}))
    proc = cli(repo, "gate", "--locked")
    assert proc.returncode == 2 and "unsupported lockfile version 3" in proc.stderr
    (repo / "modelscan.lock").write_text(json.dumps({**data, "bundle": {**data["bundle"], "digest": "md5:1"}}))
    proc = cli(repo, "gate", "--locked")
    assert proc.returncode == 2 and "bundle: malformed (digest" in proc.stderr


def test_build_is_independent_of_input_order_and_changes_name_the_models():
    import datetime as dt

    from scanner import kb as kbmod
    from scanner.bundle import BundleInput, build, changes, chain_of, digest, digest_of, file_hashes, model_changes
    from scanner.policy.model import load_policy
    from scanner.scan import Scanner, hub_target
    from scanner.sources.snapshot import SnapshotSource

    kb, policy = kbmod.load(), load_policy("default")
    scanner = Scanner(SnapshotSource(EXAMPLES), kb, policy, dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc))
    items = []
    for repo in (LLAMA, PHI, "google/gemma-2-9b-it"):
        ev = scanner.fetch(hub_target(repo))
        graph = scanner.lineage_graph(ev)
        result = scanner.decide(ev, graph)
        items.append(BundleInput(result, chain_of(result, ev, graph)))
    files = build(items, kb, dict(policy.context))
    shuffled = items[:]
    random.Random(7).shuffle(shuffled)
    assert build(shuffled[::-1], kb, dict(policy.context)) == files
    assert digest(files) == digest_of(file_hashes(files)) == spelled_out_digest(files)
    # a deployment's own figures go with its model
    rich = BundleInput(items[0].result, items[0].chain, {**policy.context, "monthly_active_users": 800_000_000})
    doc = json.loads(build([rich], kb, dict(policy.context))["obligations.json"])
    mau = next(r for r in doc["models"][0]["checklist"]["thresholds"] if r["term"] == "mau-threshold")
    assert mau["deployment_figure"]["value"] == 800_000_000
    fewer = build(items[:2], kb, dict(policy.context))
    # the snapshot withholds the texts: no licenses/ files, and no notice line read from a text
    assert changes(file_hashes(files), file_hashes(fewer)) == {
        "added": [], "removed": [], "changed": ["OBLIGATIONS.md", "obligations.json"]}
    assert model_changes(files["obligations.json"], fewer["obligations.json"]) == {
        "added": [], "removed": ["google/gemma-2-9b-it@b324657be7ec"], "changed": []}
    assert model_changes(b"not json", fewer["obligations.json"]) == {"added": [], "removed": [], "changed": []}


def test_the_action_passes_its_bundle_input_to_the_gate(tmp_path):
    from scanner.cli.ci import gate_argv

    argv, _ = gate_argv({"INPUT_BUNDLE": "compliance", "INPUT_LOCKED": "true"}, tmp_path / "r.json",
                        tmp_path / "r.md")
    assert argv[argv.index("--bundle") + 1] == "compliance" and "--locked" in argv
    argv, _ = gate_argv({}, tmp_path / "r.json", tmp_path / "r.md")
    assert "--bundle" not in argv


def test_reading_a_bundle_folder_never_follows_links_or_opens_fifos(tmp_path):
    from scanner.sources.bundledir import BundleDirError, check_writable, read_bundle, write_bundle

    out = tmp_path / "b"
    files = {"NOTICE": b"n\n", "OBLIGATIONS.md": b"# O\n", "obligations.json": b'{"bundle_version": "1.0.0"}\n',
             "licenses/m/r__LICENSE": b"text\n"}
    write_bundle(out, files)
    assert read_bundle(out).files == files and not read_bundle(out).problems
    check_writable(out)                                  # a bundle may be replaced
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not part of any bundle\n")
    (out / "licenses" / "elsewhere").symlink_to(outside, target_is_directory=True)
    os.mkfifo(out / "licenses" / "m" / "pipe")
    read = read_bundle(out)
    assert sorted(read.problems) == ["licenses/elsewhere: a symbolic link", "licenses/m/pipe: not a regular file"]
    assert set(read.files) == set(files)
    write_bundle(out, files)                             # the writer removes the link, never what it points to
    assert (outside / "secret").exists() and read_bundle(out).files == files and not read_bundle(out).problems
    assert not read_bundle(tmp_path / "none").exists
    with pytest.raises(BundleDirError):
        check_writable(outside)
