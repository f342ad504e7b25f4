"""Discovery additions (issue 13, item 5): Dockerfile exec form, .gitignore, --exclude,
--require-models, and the pre-commit hook's file pattern against the discovery registry."""

from __future__ import annotations

import re
from pathlib import Path

import yaml


import gate_fixtures as gf  # noqa: E402
from hubserver import FakeHub  # noqa: E402

from scanner.gate.discover import REGISTRY, Skipped, discover  # noqa: E402
from scanner.gate.discover.dockerfile import dockerfile_refs  # noqa: E402


def refs_of(text: str) -> list[tuple]:
    return [(r.repo_id, r.revision, r.line, r.column, r.kind, r.detail)
            for r in dockerfile_refs(text, "Dockerfile", Path("."))]


# ---------------------------------------------------------------------------------- Dockerfiles
def test_exec_form_cmd_entrypoint_and_run():
    text = ('FROM vllm/vllm-openai\n'
            'CMD ["vllm","serve","org/model"]\n'
            'FROM python:3.11 AS two\n'
            'ENTRYPOINT ["vllm", "serve"]\n'
            'CMD ["other/model", \\\n'
            '     "--revision", "abc123"]\n'
            'RUN ["sh", "-c", "vllm serve third/model --revision main"]\n'
            'ENTRYPOINT ["python3", "-m", "vllm.entrypoints.openai.api_server"]\n'
            'CMD ["--model", "fourth/model"]\n')
    assert refs_of(text) == [
        ("org/model", None, 2, 22, "vllm", "vllm serve"),
        ("other/model", "abc123", 5, 7, "vllm", "vllm serve"),      # ENTRYPOINT words + CMD words
        ("third/model", "main", 7, 30, "vllm", "vllm serve"),
        ("fourth/model", None, 9, 18, "vllm", "--model"),
    ]


def test_shell_form_env_and_what_is_not_exec_form():
    text = ("# escape=`\n"
            "FROM x\n"
            "ENV MODEL_ID=org/tgi-model REVISION=r1\n"
            "RUN pip install vllm && `\n"
            "    # a comment inside the instruction\n"
            "    vllm serve shell/model\n"
            "CMD [not json \"x/y\"]\n"
            "CMD echo vllm serve\n")
    assert refs_of(text) == [("org/tgi-model", "r1", 3, 14, "tgi", "MODEL_ID"),
                             ("shell/model", None, 6, 16, "vllm", "vllm serve")]
    # A CMD after a new FROM does not take the previous stage's ENTRYPOINT.
    assert refs_of('FROM a\nENTRYPOINT ["vllm","serve"]\nFROM b\nCMD ["org/model"]\n') == []
    assert refs_of('CMD ["vllm", "serve", 5]\n') == []          # not an array of strings: shell form


def test_dockerfile_names_go_to_the_dockerfile_kind():
    for name in ("Dockerfile", "dockerfile.gpu", "Containerfile", "serve.dockerfile", "api.Containerfile"):
        assert REGISTRY.classify(Path(name)).name == "dockerfile", name


# ---------------------------------------------------------------------------------- .gitignore, --exclude
def tree(base: Path, files: dict[str, str]) -> Path:
    gf.write_tree(base, files)
    (base / ".git").mkdir(exist_ok=True)        # a work tree (no git binary needed to read its rules)
    return base


def test_gitignore_rules(tmp_path):
    repo = tree(tmp_path / "repo", {
        ".gitignore": "local/\n*.local.sh\n!keep.local.sh\n",
        "serve.sh": "vllm serve org/a\n",
        "dev.local.sh": "vllm serve org/ignored-1\n",
        "keep.local.sh": "vllm serve org/kept\n",
        "local/run.sh": "vllm serve org/ignored-2\n",
        "sub/.gitignore": "!*.local.sh\nsecret.sh\n",
        "sub/x.local.sh": "vllm serve org/sub-kept\n",
        "sub/secret.sh": "vllm serve org/ignored-3\n",
        "other/excluded.sh": "vllm serve org/ignored-4\n",
    })
    (repo / ".git" / "info").mkdir()
    (repo / ".git" / "info" / "exclude").write_text("other/\n")
    skipped = Skipped()
    found = [r.repo_id for r in discover([repo], skipped=skipped)]
    assert found == ["org/kept", "org/a", "org/sub-kept"]
    assert (skipped.ignored, skipped.excluded) == (4, 0)
    everything = {r.repo_id for r in discover([repo], gitignore=False)}
    assert {"org/ignored-1", "org/ignored-2", "org/ignored-3", "org/ignored-4"} <= everything
    # a sub-folder of the work tree is read with the rules of the folders above it
    assert [r.repo_id for r in discover([repo / "sub"])] == ["org/sub-kept"]


def test_exclude_patterns(tmp_path, monkeypatch):
    repo = gf.write_tree(tmp_path / "repo", {
        "serve.sh": "vllm serve org/a\n",
        "tests/fixtures/deploy.sh": "vllm serve org/fixture\n",
        "app/test_load.py": "from_pretrained('org/in-a-test')\n",
    })
    monkeypatch.chdir(repo)
    skipped = Skipped()
    found = [r.repo_id for r in discover(["."], exclude=("tests/", "test_*.py"), skipped=skipped)]
    assert found == ["org/a"] and skipped.excluded == 2
    # an explicitly named file is excluded too
    assert discover(["tests/fixtures/deploy.sh"], exclude=("**/fixtures/**",)) == []


# ---------------------------------------------------------------------------------- through the CLI
def test_gate_reads_an_exec_form_dockerfile_and_leaves_out_ignored_files(tmp_path):
    repo = tree(tmp_path / "repo", {
        "Dockerfile": 'FROM vllm/vllm-openai\nCMD ["vllm","serve","org/model"]\n',
        ".gitignore": "deploy/local/\n",
        "deploy/local/dev.sh": "vllm serve org/ignored\n",
        "tests/fixtures/serve.sh": "vllm serve org/fixture\n",
    })
    with FakeHub() as hub:
        for rid in ("org/model", "org/ignored", "org/fixture"):
            hub.add_repo(rid, {"cardData": {"license": "apache-2.0"}})
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--exclude", "tests/", cwd=repo)
        assert proc.returncode == 0, proc.stderr
        results = gf.report(proc)["results"]
        assert [r["repo_id"] for r in results] == ["org/model"]
        assert results[0]["locations"][0]["file"] == "Dockerfile" and results[0]["locations"][0]["line"] == 2
        assert "left out 1 git-ignored and 1 excluded file(s) or folder(s)" in proc.stderr
        assert "--no-gitignore" in proc.stderr
        proc, _ = gf.modelscan(hub.url, tmp_path / "home", "gate", "-f", "json", "--no-gitignore", cwd=repo)
        assert [r["repo_id"] for r in gf.report(proc)["results"]] == ["org/model", "org/ignored", "org/fixture"]


def test_require_models_fails_when_nothing_is_found(tmp_path):
    repo = gf.write_tree(tmp_path / "repo", {"notes.sh": "echo hello\n"})
    proc, _ = gf.modelscan("http://127.0.0.1:9", tmp_path / "home", "gate", cwd=repo)
    assert proc.returncode == 0 and "no model references found" in proc.stderr
    proc, _ = gf.modelscan("http://127.0.0.1:9", tmp_path / "home", "gate", "--require-models", cwd=repo)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "modelscan: error: no model references found in . (--require-models)"]


# ---------------------------------------------------------------------------------- pre-commit
NAMES = ["modelscan.yaml", ".modelscan.yml", "k8s/deploy.yaml", "compose.yml", "app/load.py", "Dockerfile",
         "docker/Dockerfile.gpu", "x/serve.dockerfile", "Containerfile", "api.containerfile", "Modelfile",
         "models/Modelfile.q4", "llama.modelfile", "run.sh", "run.bash", "run.zsh", ".env", ".env.prod",
         "prod.env", "Procfile", "Makefile", "makefile", "deploy/Procfile",
         # not read
         "README.md", "setup.cfg", "main.go", "Dockerfile/inside.txt", "notes.txt", "Makefile.am", "x.yaml.bak",
         "env", "shell", "docker-compose.override.json", "procfile.txt"]


def test_pre_commit_files_pattern_is_what_the_gate_reads():
    hooks = yaml.safe_load((gf.ROOT / ".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(next(h for h in hooks if h["id"] == "modelscan-gate")["files"])
    for name in NAMES:
        reads = REGISTRY.classify(Path(name)) is not None
        assert bool(pattern.search(name)) == reads, (name, reads)
