"""Broken cards, hostile files and bad input: findings or a one-line exit 2, never a traceback or a pass."""

from __future__ import annotations

import json
import time

import pytest

from conftest import NOW, card, make_model_dir, reference_text, run_cli
from scanner.card import parse_card

BOMB = ("---\nlicense: mit\na: &a [\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\",\"x\"]\n"
        + "".join(f"{n}: &{n} [" + ",".join([f"*{p}"] * 9) + "]\n" for p, n in zip("abcdefgh", "bcdefghi"))
        + "---\n# card\n")


def scan(d, *extra):
    proc = run_cli("check", str(d), "--format", "json", "--now", NOW, *extra)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc.returncode, json.loads(proc.stdout)["results"][0]


def test_yaml_alias_bomb_is_refused_in_milliseconds(tmp_path):
    t0 = time.perf_counter()
    parsed = parse_card(BOMB)
    assert time.perf_counter() - t0 < 0.05
    assert parsed.data is None and parsed.problems[0].code == "card-yaml-aliases"
    d = make_model_dir(tmp_path, "bomb", BOMB)
    rc, res = scan(d)
    assert "card-yaml-aliases" in {f["code"] for f in res["findings"]}
    assert res["verdict"] in ("review", "deny") and rc == 1


def test_malformed_card_yaml(tmp_path):
    d = make_model_dir(tmp_path, "bad", "---\nlicense: [apache-2.0\nbase_model: x\n---\n# card\n")
    rc, res = scan(d)
    found = [f for f in res["findings"] if f["code"] == "card-malformed"]
    assert found and "line" in found[0]["message"]
    assert res["verdict"] == "review" and rc == 1


def test_malformed_card_with_identifying_license_file_is_still_not_allowed(tmp_path):
    d = make_model_dir(tmp_path, "bad2", "---\nlicense: [apache-2.0\n---\n# card\n",
                       {"LICENSE": reference_text("apache-2.0.LICENSE.txt")})
    rc, res = scan(d)
    assert [u["id"] for u in res["licenses"]["effective"]] == ["apache-2.0"]
    assert res["verdict"] == "review"          # a gap in the evidence never yields allow


def test_card_without_front_matter(tmp_path):
    d = make_model_dir(tmp_path, "plain", "# A model\n\nNo metadata at all.\n")
    rc, res = scan(d)
    assert res["verdict"] in ("review", "deny")
    assert {"license-unknown", "card-no-license"} <= {f["code"] for f in res["findings"]}


def test_huge_readme_is_bounded(tmp_path):
    d = make_model_dir(tmp_path, "huge", b"---\nlicense: mit\n---\n" + b"x" * (50 * 1024 * 1024))
    t0 = time.perf_counter()
    rc, res = scan(d)
    assert time.perf_counter() - t0 < 20
    assert "file-too-large" in {f["code"] for f in res["findings"]}
    assert res["verdict"] == "review"


def test_binary_license_file(tmp_path):
    d = make_model_dir(tmp_path, "bin", card({"license": "mit"}), {"LICENSE": bytes(range(256)) * 40})
    rc, res = scan(d)
    assert "file-binary" in {f["code"] for f in res["findings"]}
    assert res["verdict"] == "review"


def test_non_utf8_license_file_is_read(tmp_path):
    text = reference_text("mit.LICENSE.txt").replace("Copyright (c)", "Copyright \u00a9 J\u00fcrgen")
    d = make_model_dir(tmp_path, "latin", card({"license": "mit"}), {"LICENSE": text.encode("latin-1", "replace")})
    rc, res = scan(d)
    assert "file-binary" not in {f["code"] for f in res["findings"]}
    assert "mit" in [u["id"] for u in res["licenses"]["detected"]]


def test_empty_license_file(tmp_path):
    d = make_model_dir(tmp_path, "empty", card({"license": "mit"}), {"LICENSE": ""})
    rc, res = scan(d)
    assert "license-file-unidentified" in {f["code"] for f in res["findings"]}
    assert res["verdict"] == "review"


@pytest.mark.parametrize("target", ["../../etc/passwd", "meta-llama/Llama\n3", "org/na me", "a/b/c", "-x/y",
                                    "org/name@../../etc", "org/name@", "org--x/y", "\u202eorg/name"])
def test_bad_targets_exit_2_with_one_line(target):
    proc = run_cli("check", target, "--snapshot", "examples/hub")
    assert proc.returncode == 2, proc.stdout
    assert proc.stdout == ""
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("modelscan: error:"), proc.stderr
    assert "\n" not in lines[0]


@pytest.mark.parametrize("args", [
    ["check"], ["check", "x/y", "--format", "xml"], ["check", "x/y", "--fail-on", "never"],
    ["nosuchcommand"], ["check", "x/y", "--snapshot", "/no/such/dir"], ["check", "x/y", "--now", "yesterday"],
    ["licenses", "show", "no-such-license"],
])
def test_bad_command_lines_exit_2(args):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr


def test_unknown_repo_in_snapshot_suggests():
    proc = run_cli("check", "meta-llama/Llama-3-70B", "--snapshot", "examples/hub")
    assert proc.returncode == 2
    assert "did you mean meta-llama/Meta-Llama-3-70B" in proc.stderr
