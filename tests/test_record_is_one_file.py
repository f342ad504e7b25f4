"""Issue 9 (knowledge in the records): a license added as one YAML file, with its reference text in
a test directory, is listed, identified from its text and from a link, and inferred through a family
rule, with no Python change. The project is copied as it is; only a record and a text are added and
the reference-data script re-run."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

RECORD = """\
id: acme-open-model
name: Acme Open Model License
kind: model-license
licensor: Acme Test Labs
family: acme
category: restricted
verified: true
summary: A license invented for a test.
links:
  - 'acme\\.example/licen[cs]es/open-model'
families:
  - family: acme-widget
    name: ['acme[-_ ]?widget']
    prose: ['acme widget']
    source: https://acme.example/models
terms:
  - type: attribution-notice
    text: Built with Acme
    source: https://acme.example/licenses/open-model
sources:
  - url: https://acme.example/licenses/open-model
"""


def _text() -> str:
    """A made-up license text: seeded words, so it is the same on every run and copies nothing."""
    rng = random.Random(9)
    vocab = ("licensor licensee model weights grant use modify distribute notice attribution restrict term "
             "agreement acme widget output derivative party rights obligations warranty liability").split()
    paras = [" ".join(rng.choice(vocab) for _ in range(60)) + "." for _ in range(8)]
    return "ACME OPEN MODEL LICENSE\n\n" + "\n\n".join(paras) + "\n"


def run(copy: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scanner", *args], cwd=copy, capture_output=True, text=True,
                          env={"PYTHONPATH": str(copy), "PATH": "/usr/bin:/bin", "HF_HUB_OFFLINE": "1",
                               "HOME": str(copy)}, timeout=120)


def test_a_license_added_as_one_yaml_file(tmp_path):
    copy = tmp_path / "project"
    for part in ("scanner", "licenses", "policies", "scripts"):
        shutil.copytree(ROOT / part, copy / part, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "licenses" / "acme-open-model.yaml").write_text(RECORD, encoding="utf-8")
    texts = tmp_path / "texts"
    texts.mkdir()
    (texts / "acme-open-model.LICENSE.txt").write_text(_text(), encoding="utf-8")

    built = subprocess.run([sys.executable, "scripts/build_reference.py", "--texts", str(texts)], cwd=copy,
                           capture_output=True, text=True, timeout=300)
    assert built.returncode == 0 and "0 problems" in built.stdout, built.stdout + built.stderr

    assert run(copy, "licenses", "validate").returncode == 0
    listed = run(copy, "licenses", "list")
    assert "acme-open-model" in listed.stdout

    sample = tmp_path / "LICENSE"
    sample.write_text(_text(), encoding="utf-8")
    found = run(copy, "identify", "--format", "json", str(sample))
    assert found.returncode == 0, found.stderr
    assert "acme-open-model" in found.stdout

    linked = tmp_path / "linked-model"
    linked.mkdir()
    (linked / "README.md").write_text("---\nlicense: other\nlicense_name: see link\n"
                                      "license_link: https://acme.example/licenses/open-model\n---\n", encoding="utf-8")
    family = tmp_path / "acme-widget-7b-ft"
    family.mkdir()
    (family / "README.md").write_text("---\nlicense: mit\n---\nA fine-tune.\n", encoding="utf-8")
    report = run(copy, "check", str(linked), str(family), "--format", "json", "--now", "2026-11-28")
    results = json.loads(report.stdout)["results"]
    eff = [[lic["id"] for lic in r["licenses"]["effective"]] for r in results]
    assert "acme-open-model" in eff[0], results[0]
    assert "acme-open-model" in eff[1] and "mit" in eff[1], results[1]
    assert any(f["code"] == "lineage-inferred" and "acme-widget" in f["message"] for f in results[1]["findings"])
