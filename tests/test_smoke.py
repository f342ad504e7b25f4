"""`modelscan smoke`: tiny random models (built here from configs, nothing downloaded from any hub),
served from local folders or the fake Hub, loaded and run on the CPU.

The command runs in-process (click's CliRunner) so torch and transformers are imported once;
the checks that need a clean interpreter (the smoke extra missing, the GPU script standalone)
run as subprocesses.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

from conftest import card  # noqa: E402
from hubserver import FakeHub  # noqa: E402

HAVE_BACKENDS = all(__import__("importlib").util.find_spec(m) for m in ("torch", "transformers", "safetensors"))
needs_torch = pytest.mark.skipif(not HAVE_BACKENDS, reason="the smoke extra (torch, transformers) is not installed")
pytestmark = pytest.mark.timeout(120)

LICENSED = card({"license": "apache-2.0"})
WEIGHTS = r"/resolve/[0-9a-f]{40}/(model.*\.safetensors|pytorch_model.*\.bin)$"


# -- fixtures: tiny models, built once ---------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    """name -> folder: llama (causal LM), bert (encoder), pickle (llama as pytorch_model.bin only),
    custom (llama behind auto_map custom code), corrupt (bad safetensors), unknown (unknown model type)."""
    if not HAVE_BACKENDS:
        pytest.skip("the smoke extra is not installed")
    from scanner.smoke import synthetic

    base = tmp_path_factory.mktemp("smoke-models")
    out = {}
    for kind in ("llama", "bert"):
        out[kind] = Path(synthetic.write_model(str(base / kind), kind))
    out["pickle"] = Path(synthetic.save(synthetic.build("llama"), str(base / "pickle"), safe=False))
    out["custom"] = _custom_code_model(base / "custom", synthetic)
    corrupt = Path(synthetic.write_model(str(base / "corrupt"), "llama"))
    (corrupt / "model.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not a header}" + b"\0" * 64)
    out["corrupt"] = corrupt
    unknown = Path(synthetic.write_model(str(base / "unknown"), "llama"))
    cfg = json.loads((unknown / "config.json").read_text())
    cfg.update(model_type="no-such-arch", architectures=["NoSuchArchForCausalLM"])
    (unknown / "config.json").write_text(json.dumps(cfg))
    out["unknown"] = unknown
    for d in out.values():
        (d / "README.md").write_text(LICENSED)
    return out


CUSTOM_CODE = '''\
import pathlib
pathlib.Path({marker!r}).write_text("custom code ran")
from transformers import LlamaConfig, LlamaForCausalLM


class MarkerConfig(LlamaConfig):
    model_type = "marker-llama"


class MarkerForCausalLM(LlamaForCausalLM):
    config_class = MarkerConfig
'''


def _custom_code_model(path: Path, synthetic) -> Path:
    synthetic.write_model(str(path), "llama")
    cfg = json.loads((path / "config.json").read_text())
    cfg.update(model_type="marker-llama", architectures=["MarkerForCausalLM"],
               auto_map={"AutoConfig": "custom.MarkerConfig", "AutoModelForCausalLM": "custom.MarkerForCausalLM"})
    (path / "config.json").write_text(json.dumps(cfg))
    return path


def with_marker(folder: Path, marker: Path) -> dict[str, bytes]:
    """The custom-code model's files, its module writing `marker` when imported."""
    files = repo_files(folder)
    files["custom.py"] = CUSTOM_CODE.format(marker=str(marker)).encode()
    return files


def repo_files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file() and p.name != "README.md"}


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A fresh HF cache and metadata cache per test; no token."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.setenv("MODELSCAN_CACHE", str(tmp_path / "meta"))
    monkeypatch.setenv("MODELSCAN_NOW", "2026-11-28T00:00:00Z")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return tmp_path


@pytest.fixture
def hub(env, monkeypatch):
    with FakeHub() as h:
        monkeypatch.setenv("HF_ENDPOINT", h.url)
        yield h


def policy(tmp_path: Path, **models) -> str:
    import yaml

    p = tmp_path / "policy.yaml"
    p.write_text(yaml.safe_dump({"version": 1, "name": "smoke-test", "extends": "default", "models": models}))
    return str(p)


def smoke(*args: str):
    """`modelscan smoke ARGS` in-process: (exit code, stdout, stderr)."""
    from click.testing import CliRunner

    from scanner.cli import cli

    try:
        runner = CliRunner(mix_stderr=False)      # click 8.1
    except TypeError:
        runner = CliRunner()                      # click 8.2+: stderr is always separate
    res = runner.invoke(cli, ["smoke", *args], catch_exceptions=False)
    return res.exit_code, res.stdout, res.stderr


def smoke_json(*args: str):
    code, out, err = smoke(*args, "--device", "cpu", "--format", "json")
    report = json.loads(out)
    return code, report["results"], err


def weight_gets(h: FakeHub) -> int:
    return h.count("GET", WEIGHTS)


# -- it loads and runs ------------------------------------------------------------------------------

@needs_torch
def test_allowed_causal_lm_from_hub_loads_pinned_and_generates(hub, models):
    sha = hub.add_repo("org/tiny-llama", {"cardData": {"license": "apache-2.0"}}, repo_files(models["llama"]))
    code, results, err = smoke_json("org/tiny-llama", "--max-new-tokens", "5")
    assert code == 0, err
    r = results[0]
    s = r["smoke"]
    assert r["verdict"] == "allow" and s["status"] == "passed"
    assert s["revision"] == sha and r["sha"] == sha
    assert s["task"] == "causal-lm" and s["model_class"] == "LlamaForCausalLM"
    assert s["new_tokens"] == 5
    assert s["parameters"] > 10_000 and s["dtype"] == "float32" and s["device"] == "cpu"
    for key in ("load_seconds", "forward_seconds", "time_to_first_token_seconds", "tokens_per_second",
                "peak_memory_bytes"):
        assert isinstance(s[key], (int, float)) and s[key] > 0, key
    assert s["memory_kind"] == "process-rss" and s["weights_format"] == "safetensors"
    # exactly the approved commit, exactly the files it needs
    gets = [q.path for q in hub.requests if q.method == "GET" and "/resolve/" in q.path]
    assert gets and all(f"/resolve/{sha}/" in p for p in gets if not p.endswith(("README.md",)))
    assert any(p.endswith("/model.safetensors") for p in gets)
    assert "smoke passed: org/tiny-llama" in err and "tok/s" in err


@needs_torch
def test_local_encoder_runs_forward_only_and_table_shows_figures(env, models):
    code, out, err = smoke(str(models["bert"]), "--device", "cpu")
    assert code == 0, err
    assert "modelscan smoke" in out and "passed" in out and "BertForMaskedLM" in out
    code, results, _ = smoke_json(str(models["bert"]))
    s = results[0]["smoke"]
    assert s["kind"] == "encoder" and s["task"] == "masked-lm"
    assert s["new_tokens"] is None and s["forward_seconds"] > 0 and s["output_finite"] is True


@needs_torch
def test_local_causal_lm_generates(env, models):
    code, results, err = smoke_json(str(models["llama"]), "--max-new-tokens", "3", "--dtype", "bfloat16")
    assert code == 0, err
    s = results[0]["smoke"]
    assert s["new_tokens"] == 3 and s["dtype"] == "bfloat16" and s["revision"] is None


# -- refused: policy, review, lockfile ------------------------------------------------------------------

@needs_torch
def test_denied_by_policy_refused_before_any_download(hub, models, tmp_path, monkeypatch):
    hub.add_repo("org/tiny-llama", {"cardData": {"license": "apache-2.0"}}, repo_files(models["llama"]))
    code, results, err = smoke_json("org/tiny-llama", "--policy", policy(tmp_path, deny=["org/tiny-llama"]))
    assert code == 1
    s = results[0]["smoke"]
    assert results[0]["verdict"] == "deny" and s["status"] == "refused" and s["code"] == "policy-deny"
    assert "model-denied" in s["finding_codes"] and s["reasons"]
    assert "refused: org/tiny-llama" in err and "model-denied" in err
    assert weight_gets(hub) == 0 and hub.count("GET", r"/resolve/.*config\.json$") == 0


@needs_torch
def test_denied_local_folder_is_never_loaded(env, models, tmp_path, monkeypatch):
    from scanner.smoke import runtime

    calls = []
    monkeypatch.setattr(runtime, "smoke_dir", lambda *a, **k: calls.append(a))
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: no-apache\nextends: default\nlicenses:\n  deny: [apache-2.0]\n")
    code, results, _ = smoke_json(str(models["llama"]), "--policy", str(pol))
    assert code == 1 and results[0]["smoke"]["code"] == "policy-deny" and calls == []


@needs_torch
def test_review_refuses_unless_fail_on_deny(env, models, tmp_path):
    pol = tmp_path / "p.yaml"
    pol.write_text("version: 1\nname: review-apache\nextends: default\nlicenses:\n  review: [apache-2.0]\n")
    code, results, _ = smoke_json(str(models["llama"]), "--policy", str(pol), "--max-new-tokens", "1")
    assert code == 1 and results[0]["verdict"] == "review" and results[0]["smoke"]["code"] == "policy-review"
    code, results, err = smoke_json(str(models["llama"]), "--policy", str(pol), "--max-new-tokens", "1",
                                    "--fail-on", "deny")
    assert code == 0, err
    assert results[0]["smoke"]["status"] == "passed"


def _write_lock(path: Path, repo_id: str, revision: str, verdict: str = "allow") -> None:
    lock = pytest.importorskip("scanner.gate.lock")
    entry = lock.LockEntry(repo_id=repo_id, revision=revision, verdict=verdict,
                           licenses=({"id": "apache-2.0", "version": None, "name": "Apache License 2.0"},),
                           license_files={}, policy_hash="sha256:test", kb_hash="sha256:test",
                           approved_at="2026-11-28T00:00:00Z")
    lock.write_lock(path, [entry])


@needs_torch
def test_lockfile_pinned_to_another_revision_refuses(hub, models, tmp_path):
    files = repo_files(models["llama"])
    old = hub.add_repo("org/tiny-llama", {"cardData": {"license": "apache-2.0"}}, files)
    new = hub.add_repo("org/tiny-llama", {"cardData": {"license": "apache-2.0"}, "tags": ["v2"]}, files)
    assert old != new
    lock = tmp_path / "modelscan.lock"
    _write_lock(lock, "org/tiny-llama", old)
    # main moved past the approved commit: refused, nothing fetched
    code, results, err = smoke_json("org/tiny-llama", "--lock", str(lock))
    assert code == 1, err
    s = results[0]["smoke"]
    assert s["status"] == "refused" and s["code"] == "lock-revision-mismatch" and s["revision"] == new
    assert old[:12] in s["message"] and weight_gets(hub) == 0
    # a model the lock does not list
    hub.add_repo("org/other", {"cardData": {"license": "apache-2.0"}}, files)
    code, results, _ = smoke_json("org/other", "--lock", str(lock))
    assert code == 1 and results[0]["smoke"]["code"] == "lock-no-entry" and weight_gets(hub) == 0
    # the approved commit itself loads (and no TARGET means: every model the lock approves)
    code, results, err = smoke_json("--lock", str(lock), "--max-new-tokens", "2")
    assert code == 0, err
    assert results[0]["smoke"]["revision"] == old and results[0]["smoke"]["status"] == "passed"
    assert all(f"/resolve/{old}/" in q.path for q in hub.requests if re.search(WEIGHTS, q.path))
    # the lock records a verdict that does not allow it
    _write_lock(lock, "org/tiny-llama", new, verdict="deny")
    code, results, _ = smoke_json(f"org/tiny-llama@{new}", "--lock", str(lock))
    assert code == 1 and results[0]["smoke"]["code"] == "lock-verdict"
    # an unreadable lockfile is bad input
    code, _, err = smoke(f"org/tiny-llama@{new}", "--lock", str(tmp_path / "missing.lock"))
    assert code == 2 and "missing.lock" in err


# -- refused: pickle weights, remote code -----------------------------------------------------------------

@needs_torch
def test_pickle_only_weights_refused_unless_policy_allows(hub, models, tmp_path):
    files = repo_files(models["pickle"])
    assert "pytorch_model.bin" in files and not any(n.endswith(".safetensors") for n in files)
    hub.add_repo("org/pickled", {"cardData": {"license": "apache-2.0"}}, files)
    code, results, err = smoke_json("org/pickled")
    assert code == 1
    s = results[0]["smoke"]
    assert s["status"] == "refused" and s["code"] == "pickle-weights-not-allowed"
    assert "allow_pickle" in s["message"] and hub.count("GET", r"/resolve/") == hub.count("GET", r"README")
    code, results, err = smoke_json("org/pickled", "--policy", policy(tmp_path, allow_pickle=["org/pickled"]),
                                    "--max-new-tokens", "2")
    assert code == 0, err
    assert results[0]["smoke"]["weights_format"] == "pickle"


@needs_torch
def test_remote_code_refused_and_never_run_unless_policy_trusts_it(hub, models, tmp_path):
    marker = tmp_path / "custom-code-ran"
    files = with_marker(models["custom"], marker)
    config = json.loads(files["config.json"])
    # As on the real Hub, model_info carries config.json's auto_map: refused before any download.
    hub.add_repo("org/custom", {"cardData": {"license": "apache-2.0"}, "config": config}, files)
    code, results, err = smoke_json("org/custom")
    assert code == 1, err
    s = results[0]["smoke"]
    assert s["code"] == "remote-code-not-allowed" and "trust_remote_code" in s["message"]
    assert hub.count("GET", r"/resolve/") == hub.count("GET", r"README") and not marker.exists()
    # Without config in model_info: config.json is fetched and read; custom code and weights are not.
    hub.add_repo("org/custom-bare", {"cardData": {"license": "apache-2.0"}}, files)
    code, results, _ = smoke_json("org/custom-bare")
    assert code == 1 and results[0]["smoke"]["code"] == "remote-code-not-allowed"
    assert hub.count("GET", r"custom\.py$") == 0 and weight_gets(hub) == 0 and not marker.exists()
    # A local folder: refused too, and its custom code never imported.
    local = models["custom"].parent / "custom-local"
    local.mkdir(exist_ok=True)
    for name, data in {**files, "README.md": LICENSED.encode()}.items():
        (local / name).write_bytes(data)
    code, results, _ = smoke_json(str(local))
    assert code == 1 and results[0]["smoke"]["code"] == "remote-code-not-allowed" and not marker.exists()
    # Trusted by the policy: the custom code is fetched and runs.
    trusting = policy(tmp_path, trust_remote_code=["org/custom-bare"])
    code, results, err = smoke_json("org/custom-bare", "--policy", trusting, "--max-new-tokens", "2")
    assert code == 0, err
    assert results[0]["smoke"]["trust_remote_code"] is True and marker.exists()
    assert results[0]["smoke"]["model_class"] == "MarkerForCausalLM"


# -- failed: exit 2, one line ----------------------------------------------------------------------------

def _one_line_error(err: str, *needles: str) -> None:
    errors = [line for line in err.splitlines() if line.startswith("modelscan: error:")]
    assert len(errors) == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in errors[0], errors[0]


@needs_torch
def test_corrupt_safetensors_fails_with_one_line(env, models):
    code, results, err = smoke_json(str(models["corrupt"]))
    assert code == 2
    s = results[0]["smoke"]
    assert s["status"] == "failed" and s["stage"] == "load"
    _one_line_error(err, "could not load")


@needs_torch
def test_unknown_architecture_fails_before_weights_are_fetched(hub, models):
    hub.add_repo("org/mystery", {"cardData": {"license": "apache-2.0"}}, repo_files(models["unknown"]))
    code, results, err = smoke_json("org/mystery")
    assert code == 2
    assert results[0]["smoke"]["stage"] == "config"
    _one_line_error(err, "no-such-arch", "does not know")
    assert weight_gets(hub) == 0


@needs_torch
def test_cuda_requested_without_a_gpu_fails_cleanly(env, models):
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, out, err = smoke(str(models["llama"]), "--device", "cuda")
    assert code == 2
    _one_line_error(err, "sees no GPU")


def test_unknown_target_is_exit_2_without_smoking(env):
    if not HAVE_BACKENDS:
        pytest.skip("the smoke extra is not installed")
    code, out, err = smoke("./no/such/folder")
    assert code == 2 and "not a model directory" in err


# -- the extra, the runtime on its own, the GPU script ---------------------------------------------------

def test_without_the_smoke_extra_says_how_to_install(tmp_path):
    code = ("import sys\n"
            "for m in ('torch', 'transformers', 'safetensors'): sys.modules[m] = None\n"
            "from scanner.cli import main\n"
            f"main(['smoke', {str(tmp_path)!r}])\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert "pip install 'modelscan-compliance[smoke]'" in proc.stderr
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_file_rules_without_torch():
    from scanner.smoke.runtime import SmokeError, SmokeRefused, check_remote_code, choose_weights

    sharded = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
               "model.safetensors.index.json", "pytorch_model.bin", "training_args.bin", "sub/model.safetensors"]
    w = choose_weights(sharded)
    assert w.format == "safetensors" and "pytorch_model.bin" not in w.files and len(w.files) == 3
    with pytest.raises(SmokeRefused):
        choose_weights(["pytorch_model.bin", "config.json"])
    assert choose_weights(["pytorch_model.bin"], allow_pickle=True).files == ("pytorch_model.bin",)
    with pytest.raises(SmokeError, match="found: model.gguf"):
        choose_weights(["model.gguf", "config.json"])
    with pytest.raises(SmokeRefused):
        check_remote_code(None, {"auto_map": {"AutoTokenizer": ["tok.Fast", None]}}, allowed=False)
    assert check_remote_code({"model_type": "llama"}, None, allowed=False) == {}


@needs_torch
def test_gpu_script_baseline_needs_only_torch_and_transformers(models):
    """The script's own process (model building, plain-transformers figures) imports neither the
    scanner nor its other dependencies (not PyYAML: transformers itself requires it)."""
    blocked = ("scanner", "click", "rich", "jsonschema", "license_expression")
    code = ("import sys, runpy\n"
            f"for m in {blocked!r}: sys.modules[m] = None\n"
            f"sys.argv = ['gpu_smoke.py', '--baseline', {str(models['llama'])!r}, '--device', 'cpu', '--dtype',"
            " 'float32', '--max-new-tokens', '3', '--warmup', '1']\n"
            "runpy.run_path('benchmarks/gpu_smoke.py', run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    assert figures["device"] == "cpu" and figures["dtype"] == "float32" and figures["new_tokens"] == 3
    assert figures["tokens_per_second"] > 0 and figures["load_seconds"] > 0 and figures["peak_memory_bytes"] > 0


@needs_torch
def test_gpu_script_fails_closed_without_cuda_or_wheelhouse(tmp_path, capsys):
    import runpy

    import torch

    script = runpy.run_path(str(ROOT / "benchmarks" / "gpu_smoke.py"))
    if not torch.cuda.is_available():
        assert script["main"]([str(tmp_path / "out"), "--device", "cuda", "--no-install"]) == 2
        err = capsys.readouterr().err
        assert "no CUDA device" in err and len(err.strip().splitlines()) == 1
    with pytest.raises(SystemExit) as exc:          # neither a wheelhouse nor --no-install
        script["main"]([str(tmp_path / "out"), "--device", "cpu", "--size", "tiny"])
    assert exc.value.code == 2 and "--wheelhouse" in capsys.readouterr().err


@needs_torch
@pytest.mark.skipif(os.environ.get("MODELSCAN_SLOW_TESTS") != "1",
                    reason="end to end through the CLI, minutes on a small CPU: set MODELSCAN_SLOW_TESTS=1")
@pytest.mark.timeout(900)
def test_gpu_script_end_to_end_on_the_cpu(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "benchmarks/gpu_smoke.py", str(out), "--size", "tiny", "--device", "cpu",
                           "--no-install", "--dtypes", "float32", "--max-new-tokens", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=880,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    report = json.loads((out / "report.json").read_text())
    assert proc.returncode == 0 and report["exit_code"] == 0, [c for c in report["checks"] if not c["passed"]]
    names = {c["name"] for c in report["checks"]}
    assert {"refusals-mixed: modelscan smoke exits 1", "lock-mismatch: modelscan smoke exits 1"} <= names
    assert report["figures"]["float32"]["ratio_smoke_over_plain"]["load_seconds"] > 0
    import xml.etree.ElementTree as ET
    suite = ET.parse(out / "junit.xml").getroot()
    assert suite.get("failures") == "0" and len(suite.findall("testcase")) == len(report["checks"])


# -- the runtime on its own: imports, exit codes -------------------------------------------------------------

RUNTIME = ROOT / "scanner" / "smoke" / "runtime.py"


def test_runtime_imports_only_torch_transformers_and_the_standard_library():
    import ast

    allowed = set(sys.stdlib_module_names) | {"torch", "transformers", "__future__"}
    tree = ast.parse(RUNTIME.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, "relative imports break loading by path"
            imported.add(node.module.split(".")[0])
    assert imported and imported <= allowed, imported - allowed
    assert {"torch", "transformers"} <= imported


@needs_torch
def test_runtime_loads_by_path_in_an_isolated_interpreter(models, tmp_path):
    """`python -I` (no PYTHONPATH, no script directory), the project off sys.path even where an
    editable install put it there, the scanner and its other dependencies unimportable:
    runtime.py loads by file path and smokes a model (exit 0 and JSON figures)."""
    blocked = ("scanner", "click", "rich", "jsonschema", "license_expression")
    code = ("import importlib.util, json, sys\n"
            f"root = {str(ROOT)!r}\n"
            "sys.path[:] = [p for p in sys.path if p.startswith(sys.prefix + '/')\n"
            "               or not (p == root or p.startswith(root + '/'))]   # a venv inside the checkout stays\n"
            f"for m in {blocked!r}: sys.modules[m] = None\n"
            f"spec = importlib.util.spec_from_file_location('smoke_runtime', {str(RUNTIME)!r})\n"
            "rt = importlib.util.module_from_spec(spec); sys.modules['smoke_runtime'] = rt\n"
            "spec.loader.exec_module(rt)\n"
            f"rc = rt.main([{str(models['llama'])!r}, '--device', 'cpu', '--max-new-tokens', '2'])\n"
            f"assert not [m for m in {blocked!r} if sys.modules.get(m) is not None]\n"
            "sys.exit(rc)\n")
    proc = subprocess.run([sys.executable, "-I", "-c", code], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    figures = json.loads(proc.stdout)
    assert figures["new_tokens"] == 2 and figures["warmup_runs"] == 1 and figures["device"] == "cpu"


@needs_torch
def test_runtime_exit_codes_passed_refused_failed(models, capsys):
    from scanner.smoke import runtime

    assert runtime.main([str(models["llama"]), "--device", "cpu", "--max-new-tokens", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["new_tokens"] == 1
    assert runtime.main([str(models["pickle"]), "--device", "cpu"]) == 1
    assert "pickle-weights-not-allowed" in capsys.readouterr().err
    assert runtime.main([str(models["custom"]), "--device", "cpu"]) == 1
    assert "remote-code-not-allowed" in capsys.readouterr().err
    assert runtime.main([str(models["corrupt"]), "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("failed (load):") and len(err.strip().splitlines()) == 1


# -- out of memory: exit 2, one line ---------------------------------------------------------------------

@needs_torch
@pytest.mark.parametrize("stage", ["load", "generate"])
@pytest.mark.parametrize("error", ["cuda", "host"])
def test_out_of_memory_is_one_line_and_exit_2(models, monkeypatch, capsys, stage, error):
    import torch

    from scanner.smoke import runtime

    exc = torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB\nmore detail") \
        if error == "cuda" else MemoryError()

    def boom(*a, **k):
        raise exc

    if stage == "load":
        monkeypatch.setattr(runtime, "_load_model", boom)
    else:
        monkeypatch.setattr(runtime, "_streamer", boom)
    assert runtime.main([str(models["llama"]), "--device", "cpu", "--max-new-tokens", "2"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith(f"failed ({stage}): out of memory on cpu during {stage} in float32")
    with pytest.raises(runtime.SmokeError) as info:
        runtime.smoke_dir(str(models["llama"]), device="cpu", max_new_tokens=2)
    assert info.value.out_of_memory and info.value.stage == stage


@needs_torch
def test_out_of_memory_through_the_cli_is_a_failed_model(env, models, monkeypatch):
    from scanner.smoke import runtime

    def boom(*a, **k):
        raise MemoryError()

    monkeypatch.setattr(runtime, "_load_model", boom)
    code, results, err = smoke_json(str(models["llama"]))
    assert code == 2
    s = results[0]["smoke"]
    assert s["status"] == "failed" and s["stage"] == "load" and s["out_of_memory"] is True
    _one_line_error(err, "out of memory")


def test_out_of_memory_is_recognised():
    from scanner.smoke.runtime import is_out_of_memory

    class OutOfMemoryError(RuntimeError):          # torch.cuda.OutOfMemoryError's name, without torch
        pass

    assert is_out_of_memory(OutOfMemoryError("CUDA out of memory"))
    assert is_out_of_memory(MemoryError())
    assert is_out_of_memory(
        RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory"))
    assert not is_out_of_memory(RuntimeError("shape mismatch"))
    assert not is_out_of_memory(ValueError("out of memory"))


# -- a run mixing passes, refusals and failures: the highest exit code wins ------------------------------------

@needs_torch
def test_mixed_run_exit_code_is_the_worst_outcome(env, models):
    code, results, err = smoke_json(str(models["llama"]), str(models["pickle"]), "--max-new-tokens", "1")
    assert code == 1, err
    assert [r["smoke"]["status"] for r in results] == ["passed", "refused"]
    code, results, err = smoke_json(str(models["pickle"]), str(models["llama"]), str(models["corrupt"]),
                                    "--max-new-tokens", "1")
    assert code == 2, err
    assert [r["smoke"]["status"] for r in results] == ["refused", "passed", "failed"]


# -- warm-up, CUDA synchronisation, peak memory, dtype, placement (torch.cuda monkeypatched) --------------------

@needs_torch
def test_warm_up_runs_before_the_timed_generation(models, monkeypatch):
    import transformers

    from scanner.smoke import runtime

    calls = []
    real = transformers.LlamaForCausalLM.generate

    def spy(self, *a, **k):
        calls.append(("timed" if k.get("streamer") is not None else "warm-up", k["max_new_tokens"]))
        return real(self, *a, **k)

    monkeypatch.setattr(transformers.LlamaForCausalLM, "generate", spy)
    fig = runtime.smoke_dir(str(models["llama"]), device="cpu", max_new_tokens=6, warmup=2)
    assert calls == [("warm-up", 4), ("warm-up", 4), ("timed", 6)]
    assert fig.warmup_runs == 2 and fig.new_tokens == 6 and fig.time_to_first_token_seconds > 0
    calls.clear()
    fig = runtime.smoke_dir(str(models["llama"]), device="cpu", max_new_tokens=3, warmup=0)
    assert calls == [("timed", 3)] and fig.warmup_runs == 0


class FakeCuda:
    """torch.cuda's memory and synchronisation calls, recorded."""

    def __init__(self, monkeypatch, allocated=100, peak=5000, reserved=6000):
        import torch

        self.log = []
        for name, value in (("synchronize", None), ("reset_peak_memory_stats", None), ("memory_allocated", allocated),
                            ("max_memory_allocated", peak), ("max_memory_reserved", reserved)):
            monkeypatch.setattr(torch.cuda, name, self._rec(name, value))

    def _rec(self, name, value):
        def f(device=None):
            self.log.append((name, device))
            return value
        return f


@needs_torch
def test_cuda_peak_memory_is_reset_then_read_after_synchronising(monkeypatch):
    from scanner.smoke import runtime

    cuda = FakeCuda(monkeypatch)
    meter = runtime.MemoryMeter("cuda:1")
    with meter:
        cuda.log.append(("work", None))
    assert cuda.log == [("synchronize", 1), ("reset_peak_memory_stats", 1), ("memory_allocated", 1), ("work", None),
                        ("synchronize", 1), ("max_memory_reserved", 1), ("max_memory_allocated", 1)]
    assert (meter.baseline, meter.peak, meter.reserved, meter.kind) == (100, 5000, 6000, "cuda-max-allocated")


@needs_torch
def test_token_clock_synchronises_cuda_before_each_timestamp(monkeypatch):
    from scanner.smoke import runtime

    cuda = FakeCuda(monkeypatch)
    clock = runtime._streamer("cuda:0")
    clock.put("prompt")
    assert cuda.log == [] and clock.times == []           # the prompt is not a new token
    clock.put("t1")
    clock.put("t2")
    assert cuda.log == [("synchronize", 0), ("synchronize", 0)] and len(clock.times) == 2
    cpu_clock = runtime._streamer("cpu")
    cpu_clock.put("prompt")
    cpu_clock.put("t1")
    assert len(cuda.log) == 2 and len(cpu_clock.times) == 1


@needs_torch
@pytest.mark.parametrize("native, declared, asked, expected", [
    (True, None, "auto", "bfloat16"), (False, None, "auto", "float16"), (True, "float16", "auto", "float16"),
    (True, "float32", "auto", "bfloat16"), (False, None, "bfloat16", "bfloat16"), (True, None, "float32", "float32"),
])
def test_dtype_on_cuda_is_bf16_where_native_else_fp16(monkeypatch, native, declared, asked, expected):
    import torch

    from scanner.smoke import runtime

    seen = {}

    def is_bf16_supported(including_emulation=True):
        seen["emulation"] = including_emulation
        return native or including_emulation           # emulation would say yes on any GPU

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", is_bf16_supported)
    got = runtime.resolve_dtype(asked, "cuda:0", {"torch_dtype": declared} if declared else {})
    assert got == getattr(torch, expected)
    if asked == "auto" and declared != "float16":
        assert seen["emulation"] is False
    assert runtime.resolve_dtype("auto", "cpu", {"torch_dtype": "bfloat16"}) == torch.float32


@needs_torch
def test_dtype_on_older_torch_without_the_emulation_flag(monkeypatch):
    import torch

    from scanner.smoke import runtime

    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda: False)
    assert runtime.resolve_dtype("auto", "cuda:0") == torch.float16


@needs_torch
def test_cuda_device_resolution(monkeypatch):
    import torch

    from scanner.smoke import runtime

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.cuda, "current_device", lambda: 1)
    assert runtime.resolve_device("auto") == "cuda:1" and runtime.resolve_device("cuda") == "cuda:1"
    assert runtime.resolve_device("cuda:0") == "cuda:0" and runtime.resolve_device("cpu") == "cpu"
    with pytest.raises(runtime.SmokeError, match="sees 2 GPU"):
        runtime.resolve_device("cuda:2")
    with pytest.raises(runtime.SmokeError, match="unknown device"):
        runtime.resolve_device("tpu")


@needs_torch
def test_cuda_load_places_every_module_with_device_map(monkeypatch):
    from scanner.smoke import runtime

    class Model:
        def __init__(self):
            self.moved_to = None

        def to(self, device):
            self.moved_to = device
            return self

    class Auto:
        calls = []
        accelerate = True

        @classmethod
        def from_pretrained(cls, path, **kw):
            cls.calls.append(kw)
            if "device_map" in kw and not cls.accelerate:
                raise ValueError("Using a `device_map` ... requires `accelerate`.")
            return Model()

    m = runtime._load_model(Auto, "/m", "cuda:1", "bf16", False, True)
    assert Auto.calls[-1]["device_map"] == {"": "cuda:1"} and Auto.calls[-1]["local_files_only"] is True
    assert m.moved_to is None
    Auto.accelerate = False                              # transformers without accelerate: load, then move
    m = runtime._load_model(Auto, "/m", "cuda:0", "bf16", False, True)
    assert "device_map" not in Auto.calls[-1] and m.moved_to == "cuda:0"
    runtime._load_model(Auto, "/m", "cpu", "fp32", False, True)
    assert "device_map" not in Auto.calls[-1]


@needs_torch
def test_placement_check_refuses_a_model_partly_off_the_device():
    import torch

    from scanner.smoke import runtime

    model = torch.nn.Linear(4, 4)
    assert runtime.check_placement(model, "cpu") is None
    with pytest.raises(runtime.SmokeError, match=r"not wholly on cuda:0: 20 elements on cpu") as info:
        runtime.check_placement(model, "cuda:0")
    assert info.value.stage == "device"
    model.hf_device_map = {"": "cpu"}
    assert runtime.check_placement(model, "cpu") == {"": "cpu"}


# -- what the smoke test fetches from a repo -------------------------------------------------------------------

@needs_torch
def test_only_safetensors_config_and_tokenizer_files_are_fetched(hub, models, env):
    files = repo_files(models["llama"])
    files.update({"pytorch_model.bin": b"not loaded", "training_args.bin": b"x", "onnx/model.onnx": b"x",
                  "helper.py": b"raise SystemExit('ran')", "notes.txt": b"x"})
    sha = hub.add_repo("org/busy", {"cardData": {"license": "apache-2.0"}}, files)
    code, _, err = smoke_json("org/busy", "--max-new-tokens", "1")
    assert code == 0, err
    snapshot = env / "hf" / "hub" / "models--org--busy" / "snapshots" / sha
    fetched = sorted(p.name for p in snapshot.iterdir())
    assert "model.safetensors" in fetched and "config.json" in fetched and "tokenizer.json" in fetched
    allowed = re.compile(r"^(model\.safetensors|config\.json|generation_config\.json|tokenizer(_config)?\.json|"
                         r"special_tokens_map\.json)$")
    assert all(allowed.match(f) for f in fetched), fetched
    for name in ("pytorch_model.bin", "training_args.bin", "onnx/model.onnx", "helper.py", "notes.txt"):
        assert hub.count("GET", rf"/org/busy/resolve/[0-9a-f]+/{re.escape(name)}$") == 0, name
