#!/usr/bin/env python3
"""The GPU check of `modelscan smoke`, end to end, on a host with no network.

One script, one output folder. It

1. installs the modelscan CLI into a fresh virtualenv from a wheelhouse built beforehand
   (`scripts/build_wheelhouse.sh`; `pip install --no-index --find-links`; torch comes from the
   host), or uses the CLI already installed (`--no-install`);
2. builds a random Llama from a config (the TinyLlama-1.1B shape, ~1.1B parameters; `--size tiny`
   for a few-second CPU check) and the refusal fixtures (pickle-only weights, custom code, a repo
   whose branch moves), saves them as safetensors with a locally built tokenizer;
3. serves them from the project's test Hub (tests/hubserver.py) on 127.0.0.1;
4. runs, as subprocesses and exactly as a user types them, `modelscan lock` on a deployment
   manifest and `modelscan smoke --lock` for each dtype, then the refusal cases (a run mixing a
   pass with pickle and remote-code refusals, and a lock whose revision no longer matches);
5. measures the same model with plain transformers (load, TTFT, tokens/s, peak memory), so the
   smoke test's overhead shows as a ratio;
6. writes OUT/report.json and OUT/junit.xml (one testcase per check) and prints a summary.

    python benchmarks/gpu_smoke.py OUT --wheelhouse wheelhouse/          # the GPU run (1.1B, bf16 + fp16)
    python benchmarks/gpu_smoke.py OUT --size tiny --device cpu --no-install   # seconds, on the CPU

Only torch, transformers and the standard library are imported here; the scanner runs in the CLI
subprocess. Exit 0: every check held; 1: a check did not hold (a refusal that did not happen, a
figure missing, an exit code not the expected one); 2: the run could not be set up (no torch, no
CUDA with --device cuda, the wheelhouse did not install, the test Hub did not start).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import re
import shlex
import shutil
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SMOKE = os.path.join(ROOT, "scanner", "smoke")
PROMPT = "The quick brown fox jumps over the lazy dog"
MAIN = {"1b": "smoke/tinyllama-1.1b-random", "tiny": "smoke/llama-tiny-random"}
OK, PICKLE, REMOTE, MOVED = "smoke/tiny-ok", "smoke/pickle-only", "smoke/remote-code", "smoke/moved"
# What the smoke test may fetch from a model repo: weights (safetensors), config, tokenizer.
ALLOWED_FETCH = re.compile(r"^(model(-\d+-of-\d+)?\.safetensors|model\.safetensors\.index\.json|config\.json|"
                           r"generation_config\.json|tokenizer(_config)?\.json|tokenizer\.model|"
                           r"special_tokens_map\.json|added_tokens\.json|vocab\.(json|txt)|merges\.txt|"
                           r"spiece\.model|sentencepiece\.bpe\.model|chat_template\.(jinja|json))$")
CUSTOM_CODE = '''\
import pathlib
pathlib.Path({marker!r}).write_text("custom code ran")
from transformers import LlamaConfig, LlamaForCausalLM


class MarkerConfig(LlamaConfig):
    model_type = "marker-llama"


class MarkerForCausalLM(LlamaForCausalLM):
    config_class = MarkerConfig
'''


def load_by_path(name: str, path: str) -> Any:
    """A module from its file, without importing the package around it."""
    spec = importlib.util.spec_from_file_location(f"gpu_smoke_{name}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# -- plain transformers: the baseline -----------------------------------------------------------------

def plain_transformers(path: str, device: str, dtype: str, max_new_tokens: int, warmup: int) -> dict[str, Any]:
    """What a user would write: from_pretrained onto the device, a warm-up, one timed greedy
    generation. The same clock as the smoke test (TTFT from the call to the first new token,
    tokens/s over the tokens after it, CUDA synchronised), measured in a process of its own."""
    import resource

    import torch
    import transformers
    from transformers.generation.streamers import BaseStreamer

    cuda = device.startswith("cuda")
    sync = (lambda: torch.cuda.synchronize(device)) if cuda else (lambda: None)

    class Clock(BaseStreamer):
        def __init__(self) -> None:
            self.times: list[float] = []
            self.puts = 0

        def put(self, value: Any) -> None:
            self.puts += 1
            if self.puts > 1:
                sync()
                self.times.append(time.perf_counter())

        def end(self) -> None:
            pass

    transformers.logging.set_verbosity_error()
    torch_dtype = getattr(torch, dtype)
    kw = {"dtype": torch_dtype} if int(transformers.__version__.split(".")[0]) >= 5 else {"torch_dtype": torch_dtype}
    # Import the model's code before the clock starts, as the smoke test does.
    config = transformers.AutoConfig.from_pretrained(path)
    transformers.AutoModelForCausalLM._model_mapping[type(config)]
    if cuda:
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    t0 = time.perf_counter()
    try:
        model = transformers.AutoModelForCausalLM.from_pretrained(path, device_map={"": device}, **kw)
        placed = "device_map"
    except (ImportError, ValueError) as exc:
        if "accelerate" not in str(exc).lower():
            raise
        model = transformers.AutoModelForCausalLM.from_pretrained(path, **kw).to(device)
        placed = ".to() (no accelerate)"
    sync()
    load_s = time.perf_counter() - t0
    tok = transformers.AutoTokenizer.from_pretrained(path)
    inputs = {k: v.to(device) for k, v in tok(PROMPT, return_tensors="pt").items() if k in ("input_ids", "attention_mask")}
    gen = dict(do_sample=False, max_new_tokens=max_new_tokens, min_new_tokens=max_new_tokens,
               pad_token_id=tok.pad_token_id)
    with torch.inference_mode():
        for _ in range(warmup):
            model.generate(**inputs, **{**gen, "max_new_tokens": min(4, max_new_tokens),
                                        "min_new_tokens": min(4, max_new_tokens)})
        sync()
        clock = Clock()
        t1 = time.perf_counter()
        model.generate(**inputs, **gen, streamer=clock)
        sync()
    t_end = time.perf_counter()
    times = clock.times
    first = next(model.parameters())
    peak = int(torch.cuda.max_memory_allocated(device)) if cuda else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"load_seconds": round(load_s, 4), "time_to_first_token_seconds": round(times[0] - t1, 4) if times else None,
            "tokens_per_second": round((len(times) - 1) / (times[-1] - times[0]), 2) if len(times) > 1 else None,
            "generate_seconds": round(t_end - t1, 4), "new_tokens": len(times),
            "peak_memory_bytes": peak, "memory_kind": "cuda-max-allocated" if cuda else "process-max-rss",
            "dtype": str(first.dtype).replace("torch.", ""), "device": str(first.device), "placement": placed,
            "warmup_runs": warmup}


# -- the run -------------------------------------------------------------------------------------------

class Run:
    """Checks and figures of one run; written as report.json and junit.xml."""

    def __init__(self, out: str, args: argparse.Namespace):
        self.out = out
        self.args = args
        self.cases: list[dict[str, Any]] = []
        self.figures: dict[str, Any] = {}
        self.facts: dict[str, Any] = {}
        self.started = time.time()

    def check(self, name: str, ok: bool, message: str = "", **data: Any) -> bool:
        self.cases.append({"name": name, "passed": bool(ok), "message": message, **data})
        mark = "ok  " if ok else "FAIL"
        print(f"  [{mark}] {name}" + (f": {message}" if message and not ok else ""), flush=True)
        return ok

    def exit_code(self, setup_failed: bool) -> int:
        if setup_failed:
            return 2
        return 0 if self.cases and all(c["passed"] for c in self.cases) else 1

    def write(self, code: int) -> None:
        report = {"tool": "benchmarks/gpu_smoke.py", "exit_code": code, "size": self.args.size,
                  "seconds": round(time.time() - self.started, 1), "facts": self.facts, "checks": self.cases,
                  "figures": self.figures,
                  "gpu_run": bool(self.facts.get("device", "").startswith("cuda"))}
        with open(os.path.join(self.out, "report.json"), "w", encoding="utf-8") as fh:
            json.dump(report, fh, indent=2, sort_keys=True, default=str)
            fh.write("\n")
        suite = ET.Element("testsuite", {"name": "gpu_smoke", "tests": str(len(self.cases)),
                                         "failures": str(sum(not c["passed"] for c in self.cases)),
                                         "errors": "0", "time": f"{time.time() - self.started:.1f}"})
        props = ET.SubElement(suite, "properties")
        for key, value in sorted(self.facts.items()):
            ET.SubElement(props, "property", {"name": key, "value": str(value)})
        for c in self.cases:
            case = ET.SubElement(suite, "testcase", {"classname": "gpu_smoke", "name": c["name"],
                                                     "time": f"{c.get('seconds', 0):.3f}"})
            extra = {k: v for k, v in c.items() if k not in ("name", "passed", "message") and not isinstance(v, (dict, list))}
            if extra:
                cprops = ET.SubElement(case, "properties")
                for key, value in sorted(extra.items()):
                    ET.SubElement(cprops, "property", {"name": key, "value": str(value)})
            if not c["passed"]:
                ET.SubElement(case, "failure", {"message": c["message"] or "check failed"}).text = c["message"]
        ET.ElementTree(suite).write(os.path.join(self.out, "junit.xml"), encoding="utf-8", xml_declaration=True)


def sh(cmd: list[str], env: dict[str, str], timeout: float, log: str) -> tuple[int, float, str]:
    """Run a command; (exit code, seconds, stderr tail). Output goes to `log`.{out,err}."""
    t0 = time.perf_counter()
    with open(log + ".out", "wb") as out, open(log + ".err", "wb") as err:
        try:
            rc = subprocess.run(cmd, env=env, stdout=out, stderr=err, timeout=timeout, cwd=os.path.dirname(log),
                                check=False).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    with open(log + ".err", "rb") as fh:
        tail = fh.read()[-2000:].decode("utf-8", "replace")
    return rc, time.perf_counter() - t0, tail


def install_cli(run: Run, wheelhouse: str, torch_site: str | None, env: dict[str, str]) -> str | None:
    """A fresh venv in OUT/venv, the CLI installed into it from the wheelhouse only; its path."""
    venv = os.path.join(run.out, "venv")
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", venv], check=True)
    py = os.path.join(venv, "bin", "python")
    probe = subprocess.run([py, "-c", "import torch, os; print(os.path.dirname(os.path.dirname(torch.__file__)))"],
                           capture_output=True, text=True, env=env, check=False)
    if probe.returncode != 0:
        site = subprocess.run([py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                              capture_output=True, text=True, check=True).stdout.strip()
        torch_dir = torch_site
        if torch_dir is None:
            import torch
            torch_dir = os.path.dirname(os.path.dirname(torch.__file__))
        with open(os.path.join(site, "_host_torch.pth"), "w", encoding="utf-8") as fh:
            fh.write(torch_dir + "\n")
        run.facts["venv_torch"] = f"{torch_dir} (by a .pth file)"
    else:
        run.facts["venv_torch"] = probe.stdout.strip() + " (system site-packages)"
    reqs = os.path.join(wheelhouse, "requirements.txt")
    if not os.path.isfile(reqs):
        run.check("the wheelhouse has requirements.txt (scripts/build_wheelhouse.sh)", False, reqs)
        return None
    # Exactly the pinned wheels, nothing from an index; torch stays the host's.
    cmd = [py, "-m", "pip", "install", "--no-index", "--find-links", wheelhouse, "--no-deps", "--ignore-installed",
           "--disable-pip-version-check", "--no-cache-dir", "--quiet", "-r", reqs]
    rc, secs, tail = sh(cmd, env, 900, os.path.join(run.out, "logs", "pip-install"))
    run.check("install the CLI from the wheelhouse (--no-index)", rc == 0, tail.strip().splitlines()[-1] if rc and tail.strip() else "",
              seconds=round(secs, 2))
    if rc != 0:
        return None
    rc, _, tail = sh([py, "-m", "pip", "check", "--disable-pip-version-check"], env, 120,
                     os.path.join(run.out, "logs", "pip-check"))
    with open(os.path.join(run.out, "logs", "pip-check.out"), encoding="utf-8") as fh:
        said = fh.read().strip().splitlines()
    with open(reqs, encoding="utf-8") as fh:
        ours = {re.sub(r"[-_.]+", "-", line.split("==")[0]).lower() for line in fh if "==" in line}
    # pip check also reports the host's own packages (system site-packages); judge only ours.
    broken = [line for line in said if re.sub(r"[-_.]+", "-", line.split(" ")[0]).lower() in ours]
    run.check("pip check: every requirement of the wheels installed is met", not broken, "; ".join(broken)[-300:],
              host_notes="; ".join(line for line in said if line not in broken)[-500:])
    cli = os.path.join(venv, "bin", "modelscan")
    rc, _, tail = sh([cli, "--version"], env, 120, os.path.join(run.out, "logs", "modelscan-version"))
    where = subprocess.run([py, "-c", "import scanner; print(scanner.__file__)"], capture_output=True, text=True,
                           env=env, cwd=venv, check=False).stdout.strip()
    if not run.check("the installed CLI starts, from the venv", rc == 0 and where.startswith(venv + os.sep),
                     f"{tail.strip()[-200:]} (scanner from {where})", scanner=where):
        return None
    return venv


def clean_env(out: str) -> dict[str, str]:
    """The environment of the commands: no Hub token or endpoint of the host, no proxy, caches in OUT."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("HF_", "HUGGING", "MODELSCAN_")) and k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update(HF_HOME=os.path.join(out, "hf"), MODELSCAN_CACHE=os.path.join(out, "meta-cache"),
               HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1", HF_HUB_DISABLE_XET="1",
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost", PYTHONDONTWRITEBYTECODE="1")
    return env


def default_cli() -> list[str]:
    beside = os.path.join(os.path.dirname(sys.executable), "modelscan")
    return [beside] if os.path.isfile(beside) else [sys.executable, "-m", "scanner"]


def build_fixtures(run: Run, synthetic: Any, device: str) -> dict[str, dict[str, bytes]]:
    """repo id -> files. The main model in bfloat16 (1.1B) or float32 (tiny); the others tiny."""
    import torch

    models = os.path.join(run.out, "models")
    shutil.rmtree(models, ignore_errors=True)
    size = run.args.size
    t0 = time.perf_counter()
    save_dtype = torch.bfloat16 if size == "1b" else torch.float32
    model = synthetic.build("llama", size, dtype=save_dtype, device="cuda" if device.startswith("cuda") else "cpu")
    n = sum(p.numel() for p in model.parameters())
    main_dir = synthetic.save(model, os.path.join(models, "main"))
    del model
    if device.startswith("cuda"):
        torch.cuda.empty_cache()
    run.facts["parameters"] = n
    run.facts["checkpoint_dtype"] = str(save_dtype).replace("torch.", "")
    run.check("build the model from a config and save it (safetensors)", os.path.isfile(os.path.join(main_dir, "model.safetensors")),
              seconds=round(time.perf_counter() - t0, 2), parameters=n)
    tiny = synthetic.save(synthetic.build("llama", "tiny"), os.path.join(models, "tiny"))
    pickle_dir = synthetic.save(synthetic.build("llama", "tiny"), os.path.join(models, "pickle"), safe=False)

    def files(folder: str) -> dict[str, bytes]:
        out = {}
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as fh:
                out[name] = fh.read()
        return out

    remote = files(tiny)
    cfg = json.loads(remote["config.json"])
    cfg.update(model_type="marker-llama", architectures=["MarkerForCausalLM"],
               auto_map={"AutoConfig": "custom.MarkerConfig", "AutoModelForCausalLM": "custom.MarkerForCausalLM"})
    remote["config.json"] = json.dumps(cfg).encode()
    remote["custom.py"] = CUSTOM_CODE.format(marker=os.path.join(run.out, "remote-code-ran")).encode()
    run.main_dir = main_dir  # type: ignore[attr-defined]
    return {MAIN[size]: files(main_dir), OK: files(tiny), PICKLE: files(pickle_dir), REMOTE: remote,
            MOVED: files(tiny)}


def smoke_case(run: Run, cli: list[str], env: dict[str, str], name: str, args: list[str], expect_rc: int,
               timeout: float) -> dict[str, Any] | None:
    """`modelscan smoke ARGS -f json -o OUT/cli/NAME.json`; checks the exit code; returns the report."""
    out = os.path.join(run.out, "cli", f"{name}.json")
    rc, secs, tail = sh([*cli, "smoke", *args, "-f", "json", "-o", out], env, timeout,
                        os.path.join(run.out, "cli", name))
    lines = [line for line in tail.splitlines() if line.strip()]
    one_line = all(not line.startswith("Traceback") for line in lines)
    run.check(f"{name}: modelscan smoke exits {expect_rc}", rc == expect_rc and one_line,
              f"exit {rc}: {lines[-1] if lines else ''}", seconds=round(secs, 2), command=shlex.join(["modelscan", "smoke", *args]))
    try:
        with open(out, encoding="utf-8") as fh:
            report = json.load(fh)
    except (OSError, ValueError):
        run.check(f"{name}: the JSON report was written", False, out)
        return None
    report["_wall_seconds"] = round(secs, 3)
    return report


def by_repo(report: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    return {r.get("repo_id") or r.get("target"): r.get("smoke") or {} for r in (report or {}).get("results", [])}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", help="output folder (report.json, junit.xml, logs)")
    ap.add_argument("--size", choices=("1b", "tiny"), default="1b", help="the model: ~1.1B (default) or tiny")
    ap.add_argument("--device", default="auto", choices=("auto", "cuda", "cpu"))
    ap.add_argument("--dtypes", default=None,
                    help="comma-separated; default bfloat16,float16 on CUDA, float32,bfloat16 on the CPU")
    ap.add_argument("--max-new-tokens", type=int, default=32)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--wheelhouse", metavar="DIR", help="install the CLI into OUT/venv from DIR, --no-index")
    ap.add_argument("--torch-site", metavar="DIR",
                    help="site dir holding the host's torch, for the venv when torch is not in the system site-packages")
    ap.add_argument("--no-install", action="store_true", help="use the modelscan CLI of this environment")
    ap.add_argument("--no-baseline", action="store_true", help="skip the plain-transformers figures")
    ap.add_argument("--timeout", type=float, default=900, help="seconds per command")
    ap.add_argument("--baseline", metavar="DIR", help=argparse.SUPPRESS)     # internal: one plain run, JSON out
    ap.add_argument("--dtype", help=argparse.SUPPRESS)
    ap.add_argument("--in-venv", metavar="VENV", help=argparse.SUPPRESS)   # internal: the run after the install
    args = ap.parse_args(argv)

    if args.baseline:
        print(json.dumps(plain_transformers(args.baseline, args.device, args.dtype, args.max_new_tokens, args.warmup)))
        return 0
    if not args.out:
        ap.error("give an output folder")
    if not args.no_install and not args.wheelhouse:
        ap.error("give --wheelhouse DIR (built by scripts/build_wheelhouse.sh), or --no-install")
    try:
        import torch
    except ImportError as exc:
        print(f"gpu_smoke: needs torch on this host ({exc})", file=sys.stderr)
        return 2
    if args.device == "cuda" and not torch.cuda.is_available():
        why = "built without CUDA" if torch.version.cuda is None else f"CUDA {torch.version.cuda}, no usable GPU"
        print(f"gpu_smoke: --device cuda: no CUDA device (torch {torch.__version__}, {why}); "
              "run with --device cpu --size tiny to check the CPU path", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    for sub in ("cli", "logs"):
        os.makedirs(os.path.join(out, sub), exist_ok=True)
    env = clean_env(out)
    if args.wheelhouse and not args.in_venv:
        # Install, then run the rest inside the venv: there transformers and the CLI come from the
        # wheelhouse, and only torch from the host.
        run = Run(out, args)
        venv = install_cli(run, os.path.abspath(args.wheelhouse), args.torch_site, env)
        if venv is None:
            run.write(2)
            summary(run, 2)
            return 2
        with open(os.path.join(out, "logs", "install.json"), "w", encoding="utf-8") as fh:
            json.dump({"checks": run.cases, "facts": run.facts}, fh)
        argv = list(sys.argv[1:] if argv is None else argv)
        return subprocess.run([os.path.join(venv, "bin", "python"), os.path.abspath(__file__), *argv, "--in-venv", venv],
                              check=False).returncode
    try:
        import transformers
    except ImportError as exc:
        print(f"gpu_smoke: needs transformers ({exc}); give --wheelhouse to bring it", file=sys.stderr)
        return 2

    run = Run(out, args)
    if args.in_venv:
        with open(os.path.join(out, "logs", "install.json"), encoding="utf-8") as fh:
            done = json.load(fh)
        run.cases.extend(done["checks"])
        run.facts.update(done["facts"], venv=args.in_venv)
    device = "cuda:0" if args.device in ("auto", "cuda") and torch.cuda.is_available() else "cpu"
    dtypes = (args.dtypes or ("bfloat16,float16" if device != "cpu" else "float32,bfloat16")).split(",")
    run.facts.update(python=platform.python_version(), torch=torch.__version__, transformers=transformers.__version__,
                     device=device, dtypes=",".join(dtypes), cuda=torch.version.cuda or "none",
                     gpu=torch.cuda.get_device_name(0) if device != "cpu" else "none",
                     gpu_count=torch.cuda.device_count() if device != "cpu" else 0,
                     max_new_tokens=args.max_new_tokens, warmup=args.warmup,
                     hf_hub_offline=os.environ.get("HF_HUB_OFFLINE", ""))
    print(f"gpu_smoke: {args.size} Llama on {device} ({run.facts['gpu']}), dtypes {', '.join(dtypes)}; "
          f"torch {torch.__version__}, transformers {transformers.__version__}", flush=True)

    shutil.rmtree(env["HF_HOME"], ignore_errors=True)
    shutil.rmtree(env["MODELSCAN_CACHE"], ignore_errors=True)

    code = 2
    hub = None
    try:
        cli = [os.path.join(args.in_venv, "bin", "modelscan")] if args.in_venv else default_cli()
        if args.no_install and cli[0] == sys.executable:
            env["PYTHONPATH"] = ROOT
        run.facts["cli"] = shlex.join(cli)
        synthetic = load_by_path("synthetic", os.path.join(SMOKE, "synthetic.py"))
        hubserver = load_by_path("hubserver", os.path.join(ROOT, "tests", "hubserver.py"))
        repos = build_fixtures(run, synthetic, device)
        hub = hubserver.FakeHub().start()
        env["HF_ENDPOINT"] = hub.url
        run.facts["hub"] = hub.url
        card = {"cardData": {"license": "apache-2.0"}}
        shas = {}
        t0 = time.perf_counter()
        for repo, files in repos.items():
            info = dict(card, config=json.loads(files["config.json"])) if repo == REMOTE else card
            shas[repo] = hub.add_repo(repo, info, files)
        run.check("serve the models from the test Hub on 127.0.0.1", hub.url.startswith("http://127.0.0.1:"),
                  seconds=round(time.perf_counter() - t0, 2))
        code = smoke_checks(run, cli, env, hub, repos, shas, device, dtypes)
    except Exception as exc:  # noqa: BLE001 - the report says what broke, in one line
        run.check("the run completed", False, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}")
        code = 2
    finally:
        if hub is not None:
            run.facts["hub_requests"] = len(hub.requests)
            hub.stop()
        run.write(code)
        summary(run, code)
    return code


def smoke_checks(run: Run, cli: list[str], env: dict[str, str], hub: Any, repos: dict[str, dict[str, bytes]],
                 shas: dict[str, str], device: str, dtypes: list[str]) -> int:
    args = run.args
    main_repo = MAIN[args.size]
    dev_flag = "cuda" if device.startswith("cuda") else "cpu"
    deploy = os.path.join(run.out, "deploy")
    os.makedirs(deploy, exist_ok=True)
    manifest = {"version": 1, "deployments": [{"name": "gpu-smoke", "context": {"commercial": True},
                                               "models": [main_repo, OK, PICKLE, REMOTE, MOVED]}]}
    with open(os.path.join(deploy, "modelscan.yaml"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=2)           # JSON is YAML
    lock = os.path.join(run.out, "modelscan.lock")
    if os.path.exists(lock):
        os.remove(lock)

    # 1. lock: every model approved at its current commit
    rc, secs, tail = sh([*cli, "lock", deploy, "--lock-file", lock], env, args.timeout, os.path.join(run.out, "cli", "lock"))
    run.check("modelscan lock exits 0", rc == 0, f"exit {rc}: {tail.strip()[-300:]}", seconds=round(secs, 2))
    try:
        with open(lock, encoding="utf-8") as fh:
            entries = dict(json.load(fh)["models"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        run.check("the lockfile was written", False, str(exc))
        return 1
    run.check("the lock approves all five models at their commits",
              all(entries.get(r, {}).get("revision") == s and entries[r].get("verdict") == "allow" for r, s in shas.items()),
              json.dumps({r: (e.get("revision", "")[:12], e.get("verdict")) for r, e in entries.items()}))
    moved_to = hub.add_repo(MOVED, {"cardData": {"license": "apache-2.0"}, "tags": ["moved"]}, repos[MOVED])

    # 2. the main model, per dtype, under the lock
    for dtype in dtypes:
        name = f"smoke-{dtype}"
        report = smoke_case(run, cli, env, name, [main_repo, "--lock", lock, "--device", dev_flag, "--dtype", dtype,
                                                  "--max-new-tokens", str(args.max_new_tokens),
                                                  "--warmup", str(args.warmup)], 0, args.timeout)
        s = by_repo(report).get(main_repo, {})
        figs = {k: s.get(k) for k in ("status", "dtype", "device", "device_name", "load_seconds", "forward_seconds",
                                      "time_to_first_token_seconds", "tokens_per_second", "new_tokens",
                                      "peak_memory_bytes", "peak_reserved_bytes", "memory_kind", "parameters",
                                      "download_seconds", "warmup_runs", "device_map", "notes")}
        figs["cli_wall_seconds"] = (report or {}).get("_wall_seconds")
        run.figures.setdefault(dtype, {})["smoke"] = figs
        run.check(f"{name}: passed at the locked commit, in {dtype} on {dev_flag}",
                  s.get("status") == "passed" and s.get("revision") == shas[main_repo] and s.get("dtype") == dtype
                  and str(s.get("device", "")).startswith(dev_flag) and s.get("new_tokens") == args.max_new_tokens,
                  json.dumps({k: s.get(k) for k in ("status", "revision", "dtype", "device", "new_tokens", "message")}))
        run.check(f"{name}: figures present (load, TTFT, tok/s, peak memory)",
                  all(isinstance(s.get(k), (int, float)) and s.get(k) > 0 for k in
                      ("load_seconds", "time_to_first_token_seconds", "tokens_per_second", "peak_memory_bytes"))
                  and (s.get("memory_kind") == "cuda-max-allocated") == device.startswith("cuda"),
                  json.dumps(figs, default=str))
    snap = os.path.join(env["HF_HOME"], "hub", f"models--{main_repo.replace('/', '--')}", "snapshots", shas[main_repo])
    fetched = sorted(os.listdir(snap)) if os.path.isdir(snap) else []
    run.check("only safetensors weights, config and tokenizer files were fetched for the model",
              bool(fetched) and all(ALLOWED_FETCH.match(f) for f in fetched), ", ".join(fetched), files=", ".join(fetched))

    # 3. a run mixing a pass with expected refusals: exit 1 (highest wins: refused over passed)
    marker = os.path.join(run.out, "remote-code-ran")
    report = smoke_case(run, cli, env, "refusals-mixed", [OK, PICKLE, REMOTE, "--lock", lock, "--device", dev_flag,
                                                          "--max-new-tokens", "2"], 1, args.timeout)
    got = by_repo(report)
    run.check("refusals-mixed: the allowed tiny model passed", got.get(OK, {}).get("status") == "passed",
              json.dumps(got.get(OK, {}).get("message")))
    run.check("refusals-mixed: pickle-only weights refused, never downloaded",
              got.get(PICKLE, {}).get("code") == "pickle-weights-not-allowed"
              and hub.count("GET", rf"/{re.escape(PICKLE)}/resolve/.*\.bin$") == 0,
              json.dumps(got.get(PICKLE)))
    run.check("refusals-mixed: remote code refused, never fetched or run",
              got.get(REMOTE, {}).get("code") == "remote-code-not-allowed" and not os.path.exists(marker)
              and hub.count("GET", rf"/{re.escape(REMOTE)}/resolve/.*\.py$") == 0,
              json.dumps(got.get(REMOTE)))

    # 4. the branch moved after the lock: refused, nothing loaded
    report = smoke_case(run, cli, env, "lock-mismatch", [MOVED, "--lock", lock, "--device", dev_flag], 1, args.timeout)
    s = by_repo(report).get(MOVED, {})
    run.check("lock-mismatch: refused as lock-revision-mismatch, no weights fetched",
              s.get("code") == "lock-revision-mismatch" and s.get("revision") == moved_to
              and hub.count("GET", rf"/{re.escape(MOVED)}/resolve/.*safetensors$") == 0, json.dumps(s))

    # 5. the same model with plain transformers, per dtype, in a process of its own
    if not args.no_baseline:
        for dtype in dtypes:
            cmd = [sys.executable, os.path.abspath(__file__), "--baseline", run.main_dir, "--device", device,  # type: ignore[attr-defined]
                   "--dtype", dtype, "--max-new-tokens", str(args.max_new_tokens), "--warmup", str(args.warmup)]
            benv = {**env, "HF_HUB_OFFLINE": "1"}
            rc, secs, tail = sh(cmd, benv, args.timeout, os.path.join(run.out, "logs", f"plain-{dtype}"))
            plain = None
            if rc == 0:
                with open(os.path.join(run.out, "logs", f"plain-{dtype}.out"), encoding="utf-8") as fh:
                    plain = json.loads(fh.read().strip().splitlines()[-1])
            run.check(f"plain transformers, {dtype}: ran", plain is not None, tail.strip()[-300:], seconds=round(secs, 2))
            if plain is None:
                continue
            plain["process_wall_seconds"] = round(secs, 3)
            entry = run.figures.setdefault(dtype, {})
            entry["plain"] = plain
            smoke = entry.get("smoke", {})
            entry["ratio_smoke_over_plain"] = {
                k: round(smoke[k] / plain[k], 3) for k in ("load_seconds", "time_to_first_token_seconds",
                                                           "tokens_per_second", "peak_memory_bytes")
                if isinstance(smoke.get(k), (int, float)) and isinstance(plain.get(k), (int, float)) and plain[k]}
            if isinstance(smoke.get("cli_wall_seconds"), (int, float)):
                entry["ratio_smoke_over_plain"]["wall_seconds"] = round(smoke["cli_wall_seconds"] / secs, 3)
    outside = [q.path for q in hub.requests if not q.path.startswith(("/api/", "/smoke/"))]
    run.check("the test Hub saw only Hub API and file requests", not outside, ", ".join(outside[:5]))
    return run.exit_code(False)


def _fmt(v: Any, unit: str = "") -> str:
    if not isinstance(v, (int, float)):
        return "-"
    if unit == "B":
        return f"{v / 2**30:.2f} GiB" if v >= 2**30 else f"{v / 2**20:.1f} MiB"
    return f"{v:.3f}{unit}" if isinstance(v, float) else f"{v}{unit}"


def summary(run: Run, code: int) -> None:
    passed = sum(c["passed"] for c in run.cases)
    print(f"\ngpu_smoke: {passed}/{len(run.cases)} checks held; exit {code}; reports in {run.out}/report.json, junit.xml")
    rows = [("load", "load_seconds", " s"), ("TTFT", "time_to_first_token_seconds", " s"),
            ("tokens/s", "tokens_per_second", ""), ("peak memory", "peak_memory_bytes", "B")]
    for dtype, entry in run.figures.items():
        smoke, plain, ratio = entry.get("smoke", {}), entry.get("plain", {}), entry.get("ratio_smoke_over_plain", {})
        print(f"  {dtype} on {smoke.get('device')} ({smoke.get('memory_kind')}):")
        for label, key, unit in rows:
            print(f"    {label:<12} smoke {_fmt(smoke.get(key), unit):>12}   plain {_fmt(plain.get(key), unit):>12}"
                  f"   ratio {_fmt(ratio.get(key)):>7}")


if __name__ == "__main__":
    sys.exit(main())
