#!/usr/bin/env python3
"""Benchmark license-text identification (scanner.textid) against the shared reference corpus.

Inputs: every reference text in ../shared/corpus/license-texts, as it is and in the variants
users produce (re-wrapped, markdown-formatted, quotes changed, a header or fine-tune notice
prepended, the use policy appended, the last 20% cut off), plus negatives that are no license
text (the example READMEs, the project's own code, prose about licenses). Figures printed:

- accuracy: the exact set of license records, versions included, per variant kind; false
  positives on the negatives;
- speed: loading the reference data, identifying a ~15 KB text, a whole `modelscan identify
  FILE` process (hyperfine when installed, else a loop of runs);
- the same inputs through ScanCode, side by side, from a virtual environment of its own that
  this script creates (never a project dependency). Without ScanCode it says so and goes on.

    python benchmarks/identify_bench.py [--texts DIR] [--no-scancode] [--scancode-venv DIR] [--json OUT]

The texts are read at run time and written only to a temporary directory; nothing of them
enters the project.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner._devpaths import license_texts_dir  # noqa: E402

DEFAULT_TEXTS = license_texts_dir()
DEFAULT_SCANCODE_VENV = Path(os.environ.get("MODELSCAN_SCANCODE_VENV",
                                            Path(tempfile.gettempdir()) / "modelscan-scancode-venv"))

# Corpus file name -> the records it holds (file names are labels, not ids).
EXPECTED = {
    "llama3.LICENSE.txt": ("llama3", "llama3-aup"),
    "gemma-2024-04-01.LICENSE.txt": ("gemma@2024-04-01",),
    "gemma-2025-03-24.LICENSE.txt": ("gemma@2025-03-24",),
    "tencent-hunyuan-v1.LICENSE.txt": ("tencent-license@v1",),
    "tencent-hunyuan-v2.LICENSE.txt": ("tencent-license@v2",),
    "databricks-open-model.LICENSE.txt": ("databricks-open-model-license",),
    "nvidia-open-model.LICENSE.txt": ("nvidia-open-model-license@2025-04-28",),
    "tencent-hunyuan-3d-2.0.LICENSE.txt": ("tencent-license@hunyuan3d-2.0",),
    "exaone-ai-model-1.1-nc.LICENSE.txt": ("exaone",),
    "kimi-modified-mit.LICENSE.txt": ("modified-mit",),
    "bilibili-model-ula.LICENSE.txt": ("bilibili-model-use-license",),
    "ltxv-open-weights-2025-05-05.LICENSE.txt": ("ltxv-open-weights",),
    "falcon-2-11b.LICENSE.txt": ("falcon-2-11b-tii-license-1.0",),
}

# The use policy a license incorporates, where the corpus holds its text (for the "aup appended" variant).
AUP_OF = {
    "llama2.LICENSE.txt": "llama2.USE_POLICY.md",
    "llama3.1.LICENSE.txt": "llama3.1.USE_POLICY.md",
    "llama3.2.LICENSE.txt": "llama3.2.USE_POLICY.md",
    "llama3.3.LICENSE.txt": "llama3.3.USE_POLICY.md",
    "llama4.LICENSE.txt": "llama4.USE_POLICY.md",
    "gemma-2024-04-01.LICENSE.txt": "gemma-prohibited-use-policy.LICENSE.txt",
    "gemma-2025-03-24.LICENSE.txt": "gemma-prohibited-use-policy.LICENSE.txt",
}

# ScanCode license keys -> our record keys. ScanCode has no key for plain Llama 3, the Llama 2-3.3
# use policies, Tencent Hunyuan v1/v2 (only Hunyuan 3D 2.0), Yi, DBRX, Apple AMLR or Tongyi Research.
SCANCODE_KEYS = {
    "apache-2.0": "apache-2.0", "mit": "mit", "bsd-new": "bsd-3-clause", "bsd-simplified": "bsd-2-clause",
    "cc-by-4.0": "cc-by-4.0", "cc-by-sa-4.0": "cc-by-sa-4.0", "cc-by-nc-4.0": "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0": "cc-by-nc-sa-4.0", "cc-by-nc-nd-4.0": "cc-by-nc-nd-4.0", "cc-by-nd-4.0": "cc-by-nd-4.0",
    "cc0-1.0": "cc0-1.0", "gpl-3.0": "gpl-3.0", "gpl-2.0": "gpl-2.0", "agpl-3.0": "agpl-3.0",
    "lgpl-3.0": "lgpl-3.0", "lgpl-2.1": "lgpl-2.1", "mpl-2.0": "mpl-2.0", "unlicense": "unlicense",
    "wtfpl-2.0": "wtfpl", "isc": "isc", "boost-1.0": "bsl-1.0", "artistic-2.0": "artistic-2.0",
    "afl-3.0": "afl-3.0", "epl-2.0": "epl-2.0", "odc-by-1.0": "odc-by", "odbl-1.0": "odbl",
    "pddl-1.0": "pddl", "cdla-permissive-1.0": "cdla-permissive-1.0",
    "cdla-permissive-2.0": "cdla-permissive-2.0", "cdla-sharing-1.0": "cdla-sharing-1.0",
    "c-uda-1.0": "c-uda", "openmdw-1.0": "openmdw-1.0",
    "llama-2-license-2023": "llama2", "llama-3.1-license-2024": "llama3.1",
    "llama-3.2-license-2024": "llama3.2", "llama-3.3-license-2024": "llama3.3",
    "llama-4-cla-2025": "llama4", "llama-4-license-2025": "llama4-aup",
    "gemma-tou-2024-04-01": "gemma@2024-04-01", "gemma-tou-2025-03-24": "gemma@2025-03-24",
    "gemma-pup-2024-02-21": "gemma-prohibited-use-policy",
    "bigscience-rail-1.0": "bigscience-bloom-rail-1.0", "bigscience-open-rail-m": "bigscience-openrail-m",
    "bigscience-open-rail-m2": "openrail++", "bigcode-open-rail-m-v1": "bigcode-openrail-m",
    "stable-diffusion-2022-08-22": "creativeml-openrail-m",
    "stability-ai-community-2024": "stabilityai-ai-community",
    "stability-ai-nc-2023-12-06": "stabilityai-nc-research-community",
    "nvidia-open-model-2025-04-28": "nvidia-open-model-license@2025-04-28",
    "tencent-hunyuan-3d-2.0-cla": "tencent-license@hunyuan3d-2.0", "exaone-ai-model-1.1-nc": "exaone",
    "moonshot-ai-modified-mit-2025": "modified-mit", "hyperclova-x-seed-2025": "hyperclova-x-seed",
    "openatom-model-1.0": "openatom-model-1.0", "bilibili-model-ula-2025-09-09": "bilibili-model-use-license",
    "ltxv-owl-2025-05-05": "ltxv-open-weights", "llama-license-2023": "llama1", "fair-ai-public-1.0": "faipl-1.0",
    "falcon-2-11b-1.0": "falcon-2-11b-tii-license-1.0", "qwen-2024": "qwen",
    "tongyi-qianwen-2023": "tongyi-qianwen", "deepseek-la-1.0": "deepseek",
}
# ScanCode keys that say "some license is mentioned here" rather than naming one.
SCANCODE_VAGUE = re.compile(r"^(unknown|free-unknown|proprietary-license|other-permissive|other-copyleft|"
                            r"warranty-disclaimer|generic-|commercial-license|public-domain$|see-license)")

VARIANT_KINDS = ("canonical", "rewrapped", "markdown", "quotes", "header", "aup-appended", "truncated")

# Negatives: prose that talks about licenses without being one (written for this benchmark).
PROSE = [
    """We fine-tuned the base model on a mix of public instruction data for three epochs. Because the
base weights come with a community license, the derivative inherits its terms: large platforms need a
separate agreement with the licensor, and the name of the fine-tune has to start with the base model's
name. Our own training code is available under the Apache License, and the data cards of every dataset
we used are linked below. Please read the original license before you deploy this model.""",
    """## Licensing notes

Many open models ship under custom terms rather than an OSI-approved license. The Llama 3.1 Community
License allows commercial use below a very large user count, while Gemma's terms of use carry a list of
prohibited uses that must be passed on to your users. Mistral releases some models under Apache 2.0 and
others under a research-only license. Creative Commons licenses such as CC BY-NC 4.0 forbid commercial
use altogether. When in doubt, ask your legal team; this page is not legal advice.""",
    """Release notes, version 2.3: the tokenizer now handles right-to-left scripts, the chat template
matches the one of the base model, and the GGUF files were re-quantized with the latest llama.cpp.
License: same as the original model (see the LICENSE file in this repository). Built with care by the
community; contributions are welcome under the MIT license for code and CC BY 4.0 for documentation.""",
    """Frequently asked questions. Can I use this model in a commercial product? Yes, provided that your
products had fewer monthly active users than the threshold in the license, that you include the notice
file, and that you do not use the outputs to train a competing model. Can I redistribute the weights?
Yes, with a copy of the agreement. Does the license apply in the European Union? Read the acceptable
use policy: its multimodal clause treats companies established there differently.""",
    """THE MODEL IS A RESEARCH ARTIFACT. It may produce inaccurate, biased or offensive content, and its
authors accept no responsibility for how it is used. Evaluate it for your use case before you rely on
it, follow the terms under which the original weights were released, and report problems through the
issue tracker. The evaluation harness and its configuration are in the eval/ folder.""",
]


@dataclass
class Case:
    name: str
    kind: str
    text: str
    expected: tuple[str, ...]            # records that must be found (empty: no match allowed)
    optional: tuple[str, ...] = ()       # records that may be found as well (the cut-off use policy)
    source: str = ""


@dataclass
class Outcome:
    case: Case
    got: tuple[str, ...]
    seconds: float
    correct: bool
    detail: list = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# variants

def rewrapped(text: str) -> str:
    paras = [p for p in re.split(r"\n[ \t]*\n", text) if p.strip()]
    out = []
    for p in paras:
        lines = [ln.strip() for ln in p.splitlines() if ln.strip()]
        out.append(textwrap.fill(" ".join(lines), width=58, break_long_words=False, break_on_hyphens=False))
    return "\r\n\r\n".join(out).replace("\n", "\r\n").replace("\r\r\n", "\r\n") + "\r\n"


def markdown(text: str) -> str:
    out = []
    first = True
    for line in text.splitlines():
        s = line.strip()
        if not s:
            out.append("")
            continue
        s = s.replace("_", r"\_")
        s = re.sub(r"(https?://[^\s)\]]+)", r"[\1](\1)", s)
        if first:
            out.append(f"# **{s}**")
            first = False
        elif re.match(r"^([0-9]{1,2}|[a-z]|[ivx]{1,4})[.)]\s", s) or len(s) < 70 and s.isupper():
            out.append(f"- **{s}**" if s.isupper() else f"- {s}")
        else:
            ws = s.split(" ")
            ws = [f"*{w}*" if i % 9 == 4 and re.fullmatch(r"[A-Za-z]{4,}", w) else w for i, w in enumerate(ws)]
            out.append(" ".join(ws))
    return "\n".join(out) + "\n"


def quotes_changed(text: str) -> str:
    if "\u201c" in text or "\u2019" in text:
        text = (text.replace("\u201c", '"').replace("\u201d", '"').replace("\u2018", "'").replace("\u2019", "'")
                .replace("\u00a9", "(c)"))
    else:
        text = re.sub(r'"([^"\n]*)"', "\u201c\\1\u201d", text)
        text = re.sub(r"(\w)'(\w)", "\\1\u2019\\2", text)
        text = re.sub(r"(?i)(copyright )\(c\)", "\\1\u00a9", text)
    return text


HEADER = ("This repository holds a fine-tune of the base model by Example Labs. The weights remain under the "
          "license of the base model, reproduced below without changes.\n\n---\n\n")


def truncated(text: str) -> str:
    cut = int(len(text) * 0.8)
    return text[:text.rfind(" ", 0, cut) if " " in text[:cut] else cut]


# ---------------------------------------------------------------------------------------------
# cases

def expected_for(name: str, kb) -> tuple[str, ...]:
    if name in EXPECTED:
        return EXPECTED[name]
    stem = name.split(".LICENSE")[0].split(".USE_POLICY")[0]
    if name.endswith(".USE_POLICY.md"):
        return (f"{stem}-aup",)
    rec = kb.resolve(stem)
    if rec is None:
        raise SystemExit(f"benchmark: {name}: no record for {stem!r}")
    return (rec.key,)


def positive_cases(texts_dir: Path, kb, kinds=VARIANT_KINDS) -> list[Case]:
    cases = []
    for path in sorted(texts_dir.iterdir()):
        if path.suffix not in (".txt", ".md") or path.name == "SOURCES.md":
            continue
        text = path.read_text(encoding="utf-8")
        exp = expected_for(path.name, kb)
        for kind in kinds:
            if kind == "canonical":
                cases.append(Case(path.name, kind, text, exp, source=path.name))
            elif kind == "rewrapped":
                cases.append(Case(path.name, kind, rewrapped(text), exp, source=path.name))
            elif kind == "markdown":
                cases.append(Case(path.name, kind, markdown(text), exp, source=path.name))
            elif kind == "quotes":
                cases.append(Case(path.name, kind, quotes_changed(text), exp, source=path.name))
            elif kind == "header":
                cases.append(Case(path.name, kind, HEADER + text, exp, source=path.name))
            elif kind == "aup-appended" and path.name in AUP_OF:
                aup_name = AUP_OF[path.name]
                aup = (texts_dir / aup_name).read_text(encoding="utf-8")
                cases.append(Case(path.name, kind, text.rstrip() + "\n\n" + aup, exp + expected_for(aup_name, kb),
                                  source=path.name))
            elif kind == "truncated":
                # a cut-off second text (the use policy Llama 3's file appends) may or may not be recognised
                cases.append(Case(path.name, kind, truncated(text), exp[:1], exp[1:], source=path.name))
    return cases


def negative_cases() -> list[Case]:
    cases = []
    for p in sorted((ROOT / "examples" / "hub" / "models").glob("*/*/*/files/README.md")):
        cases.append(Case(str(p.relative_to(ROOT)), "readme", p.read_text(encoding="utf-8"), ()))
    for p in sorted((ROOT / "scanner").rglob("*.py")):
        cases.append(Case(str(p.relative_to(ROOT)), "code", p.read_text(encoding="utf-8"), ()))
    for i, text in enumerate(PROSE):
        cases.append(Case(f"prose-{i + 1}", "prose", text, ()))
    return cases


def judge(case: Case, got: tuple[str, ...]) -> bool:
    have = set(got) - set(case.optional)
    return have == set(case.expected)


# ---------------------------------------------------------------------------------------------
# ours

def run_ours(cases: list[Case], kb) -> list[Outcome]:
    from scanner.textid import identify_text

    out = []
    for c in cases:
        t0 = time.perf_counter()
        ms = identify_text(c.text, kb)
        dt = time.perf_counter() - t0
        got = tuple(m.record for m in ms)
        out.append(Outcome(c, got, dt, judge(c, got), [(m.record, m.method, m.confidence, m.detail) for m in ms]))
    return out


def load_time_ms(runs: int = 7) -> float:
    code = ("import time; from scanner import textid; t=time.perf_counter(); textid.warm(); "
            "print((time.perf_counter()-t)*1000)")
    times = []
    for _ in range(runs):
        proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
        times.append(float(proc.stdout.strip()))
    return statistics.median(times)


def identify_time_ms(cases: list[Case], kb, repeat: int = 30) -> tuple[float, float, int]:
    """Median time to identify ~15 KB texts (a near match: not byte-identical to a reference), and their size."""
    from scanner.textid import identify_text

    pool = [c for c in cases if c.kind == "header" and 13_000 <= len(c.text.encode()) <= 17_000]
    exact_pool = [c for c in cases if c.kind == "canonical" and 13_000 <= len(c.text.encode()) <= 17_000]
    identify_text(pool[0].text, kb)
    near, exact = [], []
    for _ in range(repeat):
        for c in pool:
            t0 = time.perf_counter()
            identify_text(c.text, kb)
            near.append(time.perf_counter() - t0)
        for c in exact_pool:
            t0 = time.perf_counter()
            identify_text(c.text, kb)
            exact.append(time.perf_counter() - t0)
    size = int(statistics.median(len(c.text.encode()) for c in pool))
    return statistics.median(near) * 1000, statistics.median(exact) * 1000, size


def process_time_s(path: Path, runs: int = 10) -> tuple[float, str]:
    exe = Path(sys.executable).parent / "modelscan"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "scanner"]
    cmd += ["identify", str(path)]
    if shutil.which("hyperfine"):
        with tempfile.NamedTemporaryFile(suffix=".json") as tmp:
            subprocess.run(["hyperfine", "--warmup", "2", "--runs", str(runs), "-i", "--export-json", tmp.name,
                            " ".join(cmd)], capture_output=True, cwd=ROOT)
            data = json.loads(Path(tmp.name).read_text())
            return data["results"][0]["median"], "hyperfine"
    subprocess.run(cmd, capture_output=True, cwd=ROOT)
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, capture_output=True, cwd=ROOT)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), f"median of {runs} subprocess runs"


# ---------------------------------------------------------------------------------------------
# ScanCode

def ensure_scancode(venv: Path) -> tuple[Path | None, str]:
    exe = venv / "bin" / "scancode"
    if exe.exists():
        return exe, "existing venv " + str(venv)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True, timeout=300)
        proc = subprocess.run([str(venv / "bin" / "pip"), "install", "--quiet", "scancode-toolkit", "pluggy<1.6"],
                              capture_output=True, text=True, timeout=1800)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"cannot create the ScanCode venv: {exc}"
    if proc.returncode != 0 or not exe.exists():
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["?"]
        return None, f"pip install scancode-toolkit failed: {tail[0][:200]}"
    return exe, "installed into " + str(venv)


def scancode_keys(expression: str) -> set[str]:
    return {t for t in re.split(r"[\s()]+", expression or "") if t and t.lower() not in ("and", "or", "with")}


def run_scancode(exe: Path, cases: list[Case], processes: int) -> tuple[dict[str, tuple[set[str], float]], float]:
    """{case file name: (ScanCode keys, seconds scanning it)}, and the wall time of the whole run."""
    work = Path(tempfile.mkdtemp(prefix="modelscan-bench-scancode-"))
    try:
        names = {}
        for i, c in enumerate(cases):
            fn = f"{i:04d}-{c.kind}-{re.sub(r'[^A-Za-z0-9.+-]', '_', Path(c.name).name)}.txt"
            (work / "in").mkdir(exist_ok=True)
            (work / "in" / fn).write_text(c.text, encoding="utf-8")
            names[fn] = c
        out = work / "out.json"
        t0 = time.perf_counter()
        proc = subprocess.run([str(exe), "--license", "--timing", "--processes", str(processes), "--quiet",
                               "--json", str(out), str(work / "in")], capture_output=True, text=True, timeout=7200)
        wall = time.perf_counter() - t0
        if not out.exists():
            raise RuntimeError((proc.stderr or proc.stdout).strip()[-300:])
        data = json.loads(out.read_text())
        results = {}
        for f in data.get("files", []):
            if f.get("type") != "file":
                continue
            keys: set[str] = set()
            for det in f.get("license_detections") or []:
                keys |= scancode_keys(det.get("license_expression", ""))
            secs = float((f.get("scan_timings") or {}).get("licenses", 0.0))
            results[Path(f["path"]).name] = (keys, secs)
        return {fn: results.get(fn, (set(), 0.0)) for fn in names}, wall
    finally:
        shutil.rmtree(work, ignore_errors=True)


def map_scancode(keys: set[str]) -> tuple[str, ...]:
    return tuple(sorted(SCANCODE_KEYS.get(k, "scancode:" + k) for k in keys))


# ---------------------------------------------------------------------------------------------
# report

def pct(n: int, d: int) -> str:
    return f"{100 * n / d:5.1f}% ({n}/{d})" if d else "  n/a"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--texts", type=Path, default=DEFAULT_TEXTS)
    ap.add_argument("--no-scancode", action="store_true")
    ap.add_argument("--scancode-venv", type=Path, default=DEFAULT_SCANCODE_VENV)
    ap.add_argument("--processes", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    ap.add_argument("-v", "--verbose", action="store_true", help="list every wrong answer")
    args = ap.parse_args()
    if not args.texts.is_dir():
        print(f"benchmark: reference corpus not present: {args.texts}")
        return 2

    from scanner import kb as kbmod
    kb = kbmod.load()
    positives = positive_cases(args.texts, kb)
    negatives = negative_cases()
    figures: dict = {"ours": {}, "scancode": {}}

    ours = run_ours(positives + negatives, kb)
    print(f"modelscan identify: {len(positives)} positive cases from {len(list(set(c.source for c in positives)))} "
          f"reference texts, {len(negatives)} negatives")
    print("exact license and version, per variant kind:")
    for kind in VARIANT_KINDS:
        sel = [o for o in ours if o.case.kind == kind]
        ok = sum(o.correct for o in sel)
        figures["ours"][kind] = ok / len(sel) if sel else None
        print(f"  {kind:<14} {pct(ok, len(sel))}")
    var = [o for o in ours if o.case.kind not in ("canonical",) and o.case.expected]
    ok_var = sum(o.correct for o in var)
    figures["ours"]["variants"] = ok_var / len(var)
    print(f"  {'all variants':<14} {pct(ok_var, len(var))}")
    neg = [o for o in ours if not o.case.expected]
    fp = [o for o in neg if o.got]
    figures["ours"]["false_positives"] = len(fp)
    print(f"  negatives      {len(fp)} false positives of {len(neg)} "
          f"({', '.join(sorted({o.case.kind for o in neg}))})")
    wrong = [o for o in ours if not o.correct]
    for o in wrong[: (None if args.verbose else 15)]:
        print(f"    WRONG {o.case.kind:<12} {o.case.name}: expected {list(o.case.expected)}, got {list(o.got)}")
        if args.verbose:
            for d in o.detail:
                print("          ", d)
    modified = [o for o in ours if o.case.kind in ("rewrapped", "markdown", "quotes") and o.correct]

    print("speed:")
    load = load_time_ms()
    near_ms, exact_ms, size = identify_time_ms(positives, kb)
    sample = next(c for c in positives if c.kind == "header" and abs(len(c.text.encode()) - size) < 2500)
    with tempfile.TemporaryDirectory() as tmp:
        f = Path(tmp) / "LICENSE"
        f.write_text(sample.text, encoding="utf-8")
        proc_s, how = process_time_s(f)
    all_ms = statistics.median(o.seconds for o in ours) * 1000
    figures["ours"].update(load_ms=load, identify_15kb_near_ms=near_ms, identify_15kb_exact_ms=exact_ms,
                           identify_median_all_ms=all_ms, process_s=proc_s)
    print(f"  load reference data (fresh process, median): {load:6.1f} ms")
    print(f"  identify a ~{size // 1000} KB text, median: near {near_ms:5.2f} ms, exact {exact_ms:5.2f} ms; "
          f"median over all cases {all_ms:5.2f} ms")
    print(f"  whole process `modelscan identify FILE`: {proc_s:5.3f} s ({how})")

    if args.no_scancode:
        print("scancode: skipped (--no-scancode)")
    else:
        print(f"scancode: setting up {args.scancode_venv} (may take minutes the first time) ...", flush=True)
        exe, how = ensure_scancode(args.scancode_venv)
        if exe is None:
            print(f"scancode: not available ({how}); figures for modelscan only")
            figures["scancode"] = {"available": False, "reason": how}
        else:
            try:
                cases = positives + negatives
                res, wall = run_scancode(exe, cases, args.processes)
            except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as exc:
                print(f"scancode: run failed ({exc}); figures for modelscan only")
                figures["scancode"] = {"available": False, "reason": str(exc)}
            else:
                sc = []
                for fn, (keys, secs) in res.items():
                    c = next(x for x in cases if fn.startswith(f"{cases.index(x):04d}-"))
                    got = map_scancode(keys)
                    if not c.expected:
                        vague_only = all(SCANCODE_VAGUE.match(k) for k in keys)
                        sc.append(Outcome(c, got, secs, not keys or vague_only))
                    else:
                        sc.append(Outcome(c, got, secs, judge(c, got)))
                print(f"scancode ({how}), same inputs, keys mapped with a table of {len(SCANCODE_KEYS)}:")
                for kind in VARIANT_KINDS:
                    sel = [o for o in sc if o.case.kind == kind]
                    ok = sum(o.correct for o in sel)
                    figures["scancode"][kind] = ok / len(sel) if sel else None
                    print(f"  {kind:<14} {pct(ok, len(sel))}")
                var_sc = [o for o in sc if o.case.kind != "canonical" and o.case.expected]
                print(f"  {'all variants':<14} {pct(sum(o.correct for o in var_sc), len(var_sc))}")
                neg_sc = [o for o in sc if not o.case.expected]
                fp_sc = [o for o in neg_sc if not o.correct]
                print(f"  negatives      {len(fp_sc)} with a license detection of {len(neg_sc)} "
                      "(mentions of a license count: ScanCode reports them by design)")
                per_file = statistics.median(o.seconds for o in sc) * 1000
                print(f"  time: license scan per file median {per_file:.1f} ms (its --timing); whole run "
                      f"{wall:.1f} s for {len(sc)} files on {args.processes} processes, start-up included")
                no_key = sorted({r for c in positives for r in c.expected} - set(SCANCODE_KEYS.values()))
                print(f"  no ScanCode key for: {', '.join(no_key)}")
                figures["scancode"].update(available=True, variants=sum(o.correct for o in var_sc) / len(var_sc),
                                           false_positives=len(fp_sc), per_file_ms=per_file, wall_s=wall,
                                           no_key=no_key)
                if args.verbose:
                    for o in sc:
                        if not o.correct:
                            print(f"    SCANCODE {o.case.kind:<12} {o.case.name}: expected {list(o.case.expected)}, "
                                  f"got {list(o.got)}")
    figures["modified_flag_on_formatting_variants"] = sum(
        1 for o in modified if any("modified" in str(d[3]) for d in o.detail))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
