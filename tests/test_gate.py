"""`modelscan gate`: finding the models a deployment uses (manifests, vLLM, compose, k8s, TGI,
Ollama, Python) with file and line, the manifest's validation, and the gate end to end against
the fake Hub (locations in the JSON and SARIF reports, CI files)."""

from __future__ import annotations

import json

import pytest
import yaml


import gate_fixtures as gf  # noqa: E402
from hubserver import FakeHub  # noqa: E402

from scanner.evidence import thaw  # noqa: E402
from scanner.gate.discover import DiscoveryError, discover, hub_model_id  # noqa: E402
from scanner.gate.discover.manifest import ManifestError  # noqa: E402
from scanner.gate.runner import plan, progress_wanted  # noqa: E402

pytestmark = pytest.mark.timeout(90)
needs_corpus = pytest.mark.skipif(not gf.cf.DEFAULT_CORPUS_DIR.is_dir(), reason="shared corpus not found")


@pytest.fixture
def deploy_repo(tmp_path, monkeypatch):
    repo = gf.write_tree(tmp_path / "repo", gf.DEPLOY_FILES)
    monkeypatch.chdir(repo)
    return repo


# ---------------------------------------------------------------------------------- discovery
def test_every_model_found_with_file_and_line(deploy_repo):
    refs = discover(["."])
    got = [(r.repo_id, r.file, r.line, r.kind, r.deployment) for r in refs]
    assert got == gf.EXPECTED
    # each line really names the model (the locations SARIF will point at)
    for r in refs:
        line = (deploy_repo / r.file).read_text().splitlines()[r.line - 1]
        assert r.repo_id in line or r.repo_id.split("/")[1] in line, (r, line)
        if r.column:
            assert line[r.column - 1:].startswith(r.repo_id.split("/")[0]) or "hf.co" in line
    manifest = [r for r in refs if r.kind == "manifest"]
    assert all(thaw(r.context) == {"commercial": True, "deployment_regions": ["US"]} for r in manifest)
    assert next(r for r in refs if r.kind == "ollama").location().extra == {"quant": "Q4_K_M"}


def test_a_model_in_several_files_is_one_item_with_all_locations(deploy_repo):
    items = plan(discover(["."]))
    assert [i.repo_id for i in items] == [gf.PHI2, gf.MISTRAL, gf.FALCON_RW, gf.PHI2_GGUF, gf.ZEPHYR, gf.QWEN,
                                          gf.TINYLLAMA]
    qwen = next(i for i in items if i.repo_id == gf.QWEN)
    assert [(loc.file, loc.line, loc.kind) for loc in qwen.locations] == [
        ("deploy/docker-compose.yml", 9, "compose"), ("deploy/serve.sh", 3, "vllm")]


def test_files_named_explicitly_are_read_whatever_their_name(deploy_repo):
    (deploy_repo / "run-tgi").write_text("text-generation-launcher --model-id Qwen/Qwen2.5-7B-Instruct "
                                         "--revision v1.0\n")
    refs = discover(["run-tgi", "deploy/Modelfile"])
    assert [(r.repo_id, r.revision, r.kind, r.line) for r in refs] == [
        (gf.QWEN, "v1.0", "tgi", 1), (gf.PHI2_GGUF, None, "ollama", 1)]
    with pytest.raises(DiscoveryError, match="no-such-file"):
        discover(["no-such-file"])


@pytest.mark.parametrize("value, expected", [
    ("org/name", ("org/name", None)),
    ("'org/name'", ("org/name", None)),
    ("https://huggingface.co/org/name", ("org/name", None)),
    ("https://huggingface.co/org/name/tree/abc123", ("org/name", "abc123")),
    ("hf.co/org/name:Q4_K_M", ("org/name", None)),
    ("https://example.com/org/name", None),          # another host
    ("s3://bucket/model", None),
    ("/models/llama", None), ("./models/llama", None), ("~/models/llama", None),
    ("$MODEL", None), ("${MODEL_ID}", None), ("{{ .Values.model }}", None),
    ("llama3", None),                                  # one part: not guessed outside a manifest
    ("org/name/sub", None),
    ("org/model.gguf", None),
    ("https://huggingface.co/datasets/org/name", None),
])
def test_what_is_a_hub_model_id(value, expected, tmp_path):
    assert hub_model_id(value, tmp_path) == expected


def test_an_existing_relative_directory_is_a_path_not_a_model(tmp_path):
    (tmp_path / "models" / "llama").mkdir(parents=True)
    assert hub_model_id("models/llama", tmp_path) is None
    assert hub_model_id("models/other", tmp_path) == ("models/other", None)


def test_shell_and_dockerfile_forms(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gf.write_tree(tmp_path, {
        "Dockerfile": "FROM vllm/vllm-openai\nENV MODEL_ID Qwen/Qwen2.5-7B-Instruct\nENV REVISION abc\n"
                      'CMD ["sh", "-c", "vllm serve mistralai/Mistral-7B-v0.1 --revision main"]\n',
        ".env": "MODEL_ID=microsoft/phi-2  # the model\n",
        "start.sh": "python -m vllm.entrypoints.openai.api_server \\\n  --host 0.0.0.0 \\\n"
                    "  --model=\"TinyLlama/TinyLlama-1.1B-Chat-v1.0\"\nollama pull llama3\n"
                    "ollama pull hf.co/bartowski/Qwen2.5-72B-Instruct-GGUF\n",
    })
    got = [(r.repo_id, r.revision, r.file, r.line, r.kind, r.detail) for r in discover(["."])]
    assert got == [
        (gf.PHI2, None, ".env", 1, "tgi", "MODEL_ID"),
        (gf.QWEN, "abc", "Dockerfile", 2, "tgi", "MODEL_ID"),
        (gf.MISTRAL, "main", "Dockerfile", 4, "vllm", "vllm serve"),
        (gf.TINYLLAMA, None, "start.sh", 3, "vllm", "--model"),
        ("bartowski/Qwen2.5-72B-Instruct-GGUF", None, "start.sh", 5, "ollama", "ollama pull"),
    ]


def test_python_calls_with_literals_only(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gf.write_tree(tmp_path, {"m.py": (
        "from vllm import LLM\nfrom huggingface_hub import snapshot_download\n"
        "llm = LLM(model='Qwen/Qwen2.5-7B-Instruct')\n"
        "snapshot_download(repo_id='HuggingFaceH4/ultrachat_200k', repo_type='dataset')\n"
        "snapshot_download('microsoft/phi-2', revision='abc')\n"
        "AutoModel.from_pretrained(\n    pretrained_model_name_or_path=\"org/name\",\n    revision=REV)\n"),
        "broken.py": "def f(:\n    AutoModel.from_pretrained('mistralai/Mistral-7B-v0.1')\n"})
    got = [(r.repo_id, r.revision, r.file, r.line, r.detail) for r in discover(["."])]
    assert got == [(gf.MISTRAL, None, "broken.py", 2, "from_pretrained"),
                   (gf.QWEN, None, "m.py", 3, "LLM"), (gf.PHI2, "abc", "m.py", 5, "snapshot_download"),
                   ("org/name", None, "m.py", 7, "from_pretrained")]


def test_yaml_that_is_neither_compose_nor_k8s_is_not_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    gf.write_tree(tmp_path, {"workflow.yml": "jobs:\n  x:\n    args: ['--model', 'org/name']\n",
                             "broken.yaml": "services: [\n"})
    assert discover(["."]) == []


# ---------------------------------------------------------------------------------- the manifest
@pytest.mark.parametrize("text, message", [
    ("version: 2\ndeployments: []\n", "modelscan.yaml:1: version:"),
    ("version: 1\ndeployments:\n  - name: a\n    models: [org/x]\n    extra: 1\n",
     "modelscan.yaml:3: deployments.0: Additional properties are not allowed ('extra'"),
    ("version: 1\ndeployments:\n  - name: a\n    context:\n      domicile: Germany\n    models: [org/x]\n",
     "modelscan.yaml:5: deployments.0.context.domicile: 'Germany' is not an ISO 3166-1 alpha-2"),
    ("version: 1\ndeployments:\n  - name: a\n    models:\n      - org/x\n      - {id: org/y, rev: abc}\n",
     "modelscan.yaml:6: deployments.0.models.1: "),
    ("version: 1\ndeployments:\n  - name: a\n    models:\n      - org/x\n      - ./local/dir\n",
     "modelscan.yaml:6: deployments.0.models.1: not a valid Hub repo id"),
    ("version: 1\ndeployments:\n  - {name: a, models: [org/x]}\n  - {name: a, models: [org/y]}\n",
     "modelscan.yaml:4: deployments.1.name: deployment name 'a' is used twice"),
    ("version: 1\ndeployments:\n  - name: a\n    models: [org/x\n", "modelscan.yaml:5: invalid YAML"),
])
def test_manifest_errors_name_file_line_and_key(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "modelscan.yaml").write_text(text)
    with pytest.raises(ManifestError) as err:
        discover(["."])
    assert str(err.value).startswith(message), str(err.value)
    assert "\n" not in str(err.value)


def test_a_manifest_under_another_name_is_recognised(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.yml").write_text("version: 1\ndeployments:\n  - name: a\n    models:\n"
                                         "      - id: org/x\n        revision: main\n")
    [ref] = discover(["."])
    assert (ref.repo_id, ref.revision, ref.line, ref.kind, ref.deployment) == ("org/x", "main", 5, "manifest", "a")


def test_progress_bar_never_in_ci_or_when_piped(monkeypatch):
    class Tty:
        def isatty(self):
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("MODELSCAN_NO_PROGRESS", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    class Pipe:
        def isatty(self):
            return False

    assert progress_wanted(Tty())
    assert not progress_wanted(Pipe())
    monkeypatch.setenv("CI", "true")
    assert not progress_wanted(Tty())


# ---------------------------------------------------------------------------------- end to end
@needs_corpus
def test_gate_end_to_end_json_and_sarif_locations(deploy_repo, tmp_path):
    specs = gf.corpus_specs()
    with FakeHub() as hub:
        gf.serve(hub, specs)
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--jobs", "4", cwd=deploy_repo)
        assert proc.returncode in (0, 1), proc.stderr
        rep = gf.report(proc)
        results = rep["results"]
        assert [r["repo_id"] for r in results] == [gf.PHI2, gf.MISTRAL, gf.FALCON_RW, gf.PHI2_GGUF, gf.ZEPHYR,
                                                   gf.QWEN, gf.TINYLLAMA]
        assert all(r["verdict"] != "error" for r in results), [r["reasons"] for r in results]
        locs = [(r["repo_id"], loc["file"], loc["line"], loc["kind"], loc.get("deployment"))
                for r in results for loc in r["locations"]]
        assert sorted(locs, key=str) == sorted(gf.EXPECTED, key=str)
        by_id = {r["repo_id"]: r for r in results}
        assert by_id[gf.FALCON_RW]["verdict"] in ("review", "deny")          # no license: never allow
        assert proc.returncode == 1
        # Every repo fetched once: Qwen (two files), Mistral (a target and Zephyr's base), phi-2
        # (a target and the GGUF's base).
        for rid in gf.CORPUS_REPOS:
            assert gf.model_info_requests(hub, rid) == 1, rid
        assert hub.count("HEAD") == 0

        sarif_out = tmp_path / "out.sarif"
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "sarif", "-o", str(sarif_out),
                               cwd=deploy_repo)
        if proc.returncode == 2 and "sarif" in proc.stderr:
            pytest.skip("SARIF format not available yet")
        assert proc.returncode == 1, proc.stderr
        sarif = json.loads(sarif_out.read_text())
        places = {(loc["physicalLocation"]["artifactLocation"]["uri"], loc["physicalLocation"]["region"]["startLine"])
                  for res in sarif["runs"][0]["results"] for loc in res["locations"] if "physicalLocation" in loc}
        # SARIF has a result per finding: every model with a finding is shown at each of its lines.
        flagged = {(loc["file"], loc["line"]) for r in results if r["findings"] for loc in r["locations"]}
        assert (("app/load.py", 5)) in flagged and flagged <= places


@needs_corpus
def test_gate_exit_codes_fail_on_and_nothing_found(tmp_path):
    specs = gf.corpus_specs((gf.PHI2, gf.FALCON_RW))
    repo = gf.write_tree(tmp_path / "repo", {"serve.sh": f"vllm serve {gf.PHI2}\n"})
    with FakeHub() as hub:
        gf.serve(hub, specs)
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "serve.sh", cwd=repo)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        (repo / "serve.sh").write_text(f"vllm serve {gf.FALCON_RW}\n")
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", cwd=repo)
        assert proc.returncode == 1 and gf.report(proc)["results"][0]["verdict"] == "review"
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "--fail-on", "deny", cwd=repo)
        assert proc.returncode == 0
        # nothing to gate (pre-commit passes a YAML that deploys nothing): exit 0 and say so
        (repo / "other.yaml").write_text("a: 1\n")
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "other.yaml", "-f", "json", cwd=repo)
        assert proc.returncode == 0 and "no model references" in proc.stderr
        assert gf.report(proc)["results"] == []
        # a broken manifest: exit 2, one line, file:line
        (repo / "modelscan.yaml").write_text("version: 1\ndeployments:\n  - name: a\n    models: [\"bad id\"]\n")
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", cwd=repo)
        assert proc.returncode == 2
        assert proc.stderr.startswith("modelscan: error: modelscan.yaml:4: deployments.0.models.0")
        assert len(proc.stderr.strip().splitlines()) == 1


# ---------------------------------------------------------------------------------- CI files
def test_action_and_pre_commit_hook_definitions():
    action = yaml.safe_load((gf.ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {"paths", "policy", "fail-on", "format", "output", "formats", "context", "snapshot"} <= set(action["inputs"])
    script = "\n".join(s.get("run", "") for s in action["runs"]["steps"])
    assert "pip install" in script and "bin/modelscan\" ci github" in script     # tests/test_ci_github.py runs it
    hooks = yaml.safe_load((gf.ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "modelscan-gate")
    assert hook["language"] == "python" and hook["pass_filenames"] is True
    assert hook["entry"].startswith("modelscan-compliance gate")
    import re
    files = re.compile(hook["files"])
    for name in ("modelscan.yaml", "deploy/k8s/app.yaml", "docker-compose.yml", "Dockerfile", "serve.sh",
                 "Modelfile", "app/load.py", ".env"):
        assert files.search(name), name
    assert not files.search("README.md")
