"""`modelscan bundle`: notices, license texts and obligations a deployment ships (scanner/bundle.py)."""

from __future__ import annotations

import datetime as dt
import json

import jsonschema
import pytest
from conftest import ROOT, reference_text, run_cli
from hubserver import FakeHub

from scanner import kb as kbmod
from scanner.bundle import BundleInput, build, chain_of, digest
from scanner.kb import load_schema
from scanner.policy.model import load_policy
from scanner.scan import Scanner, hub_target
from scanner.sources.hub import HubSettings, HubSource

WHEN = dt.datetime(2026, 11, 28, tzinfo=dt.timezone.utc)
APACHE_NOTICE = "Example Model\nCopyright 2025 Example Labs\nThis product includes a tokenizer made by Example Labs.\n"


@pytest.fixture(scope="module")
def bundles(tmp_path_factory):
    with FakeHub() as hub:
        hub.add_repo("meta-llama/Meta-Llama-3-8B", {"cardData": {"license": "llama3"}, "config": {"model_type": "llama"}},
                     {"LICENSE": reference_text("llama3.LICENSE.txt"),
                      "USE_POLICY.md": reference_text("llama3.USE_POLICY.md")})
        hub.add_repo("acme/Llama-3-chat-ft", {"cardData": {"license": "llama3", "base_model": "meta-llama/Meta-Llama-3-8B"},
                                              "config": {"model_type": "llama"}}, {"model.safetensors": b"\0" * 16})
        hub.add_repo("google/gemma-2-9b", {"cardData": {"license": "gemma"}, "config": {"model_type": "gemma2"}},
                     {"LICENSE": reference_text("gemma-2024-04-01.LICENSE.txt")})
        hub.add_repo("acme/gemma-ft", {"cardData": {"license": "gemma", "base_model": "google/gemma-2-9b"},
                                       "config": {"model_type": "gemma2"}}, {"model.safetensors": b"\0" * 16})
        hub.add_repo("acme/apache-model", {"cardData": {"license": "apache-2.0"}},
                     {"LICENSE": reference_text("apache-2.0.LICENSE.txt"), "NOTICE": APACHE_NOTICE})
        kb = kbmod.load()
        policy = load_policy("default")
        source = HubSource(HubSettings(read_timeout=5, deadline=20, attempts=2, backoff=0.05),
                           cache_dir=tmp_path_factory.mktemp("c"), token=False, endpoint=hub.url)
        scanner = Scanner(source, kb, policy, WHEN)
        out = {}
        for repo in ("acme/Llama-3-chat-ft", "acme/gemma-ft", "acme/apache-model"):
            ev = scanner.fetch(hub_target(repo))
            graph = scanner.lineage_graph(ev)
            result = scanner.decide(ev, graph)
            item = BundleInput(result, chain_of(result, ev, graph))
            out[repo] = (build([item], kb, dict(policy.context)), build([item], kb, dict(policy.context)))
    return out


def _all_text(files) -> str:
    return "\n".join(b.decode("utf-8", "replace") for b in files.values())


def test_llama3_finetune_bundle(bundles):
    files, again = bundles["acme/Llama-3-chat-ft"]
    assert files == again and digest(files) == digest(again)          # deterministic
    lic = files["licenses/acme_Llama-3-chat-ft/meta-llama_Meta-Llama-3-8B__LICENSE"]
    assert lic.decode() == reference_text("llama3.LICENSE.txt")       # the base repository's text
    assert "licenses/acme_Llama-3-chat-ft/meta-llama_Meta-Llama-3-8B__USE_POLICY.md" in files
    notice = files["NOTICE"].decode()
    assert "Meta Llama 3 is licensed under the Meta Llama 3 Community License" in notice
    doc = json.loads(files["obligations.json"])
    jsonschema.validate(doc, load_schema("obligations.schema.json"))
    [model] = doc["models"]
    checklist = model["checklist"]
    assert any("Built with Meta Llama 3" in row["text"] for row in checklist["displays"])
    assert any('"Llama 3"' in row["text"] for row in checklist["naming"])
    assert any(row["term"] == "acceptable-use-policy" for row in checklist["use-policy"])
    mau = next(row for row in checklist["thresholds"] if row["term"] == "mau-threshold")
    assert mau["deployment_figure"]["key"] == "monthly_active_users"
    md = files["OBLIGATIONS.md"].decode()
    assert "Built with Meta Llama 3" in md and "meta-llama_Meta-Llama-3-8B__LICENSE" in md
    assert doc["summary"]["texts"] == 2 and doc["summary"]["withheld"] == 0


def test_gemma_derivative_has_no_built_with_line(bundles):
    files, _ = bundles["acme/gemma-ft"]
    assert "Built with" not in _all_text({k: v for k, v in files.items() if not k.startswith("licenses/")})
    assert "Gemma" in files["NOTICE"].decode()                        # its own notice line, read from its text


def test_apache_model_passes_its_notice_file_on(bundles):
    files, _ = bundles["acme/apache-model"]
    notice = files["NOTICE"].decode()
    assert "Copyright 2025 Example Labs" in notice and "--- NOTICE of acme/apache-model ---" in notice
    doc = json.loads(files["obligations.json"])
    assert doc["summary"]["notice_files"] == 1


def test_cli_bundle_on_the_snapshot_lists_withheld_texts(tmp_path):
    out = tmp_path / "b"
    proc = run_cli("bundle", "meta-llama/Meta-Llama-3-70B", "--snapshot", str(ROOT / "examples" / "hub"),
                   "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((out / "obligations.json").read_text())
    jsonschema.validate(doc, load_schema("obligations.schema.json"))
    assert doc["summary"]["withheld"] == 2 and doc["summary"]["texts"] == 0
    withheld = [t for t in doc["models"][0]["texts"] if t["status"] == "withheld"]
    assert all(t["sha256"] and t["url"].startswith("https://huggingface.co/meta-llama/") for t in withheld)
    first = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    proc = run_cli("bundle", "meta-llama/Meta-Llama-3-70B", "--snapshot", str(ROOT / "examples" / "hub"),
                   "--out", str(out))
    assert proc.returncode == 2 and "not empty" in proc.stderr
    proc = run_cli("bundle", "meta-llama/Meta-Llama-3-70B", "--snapshot", str(ROOT / "examples" / "hub"),
                   "--out", str(out), "--force")
    assert proc.returncode == 0
    assert {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()} == first
    proc = run_cli("bundle", "nobody/no-such-model", "--snapshot", str(ROOT / "examples" / "hub"),
                   "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
