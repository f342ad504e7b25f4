"""Hostile-input suite: run the CLI on inputs a stranger controls and count what goes wrong.

    PYTHONPATH=. python benchmarks/hostile_bench.py            # every class
    PYTHONPATH=. python benchmarks/hostile_bench.py -k secrets  # one class (or a case-name part)

Every case runs `python -m scanner ...` in a subprocess against the fake Hub of the tests
(tests/hubserver.py, 127.0.0.1 only), a recorded snapshot, a local folder or a deploy tree
built in a temporary directory. The child runs under an address-space limit (2 GiB) so that
an unbounded read cannot take the machine down; it is killed at its wall limit.

Each case is checked for:
  hang      still running at the wall limit (the --deadline given plus a margin)
  blow-up   peak RSS over 300 MB, a MemoryError, or wall time past deadline + 5 s
  leak      a secret of the case in stdout, stderr, the -o report or any file written
  inject    a control/bidi character, live rich markup, a Markdown mention/autolink reaching
            the rendered output, or a file written outside the folders the tool owns
  allow     exit 0 / verdict allow where evidence was hidden, cut or unreadable
  internal  'internal error', 'unexpected error' or a traceback

It prints one line per case and a table per class: inputs, the counts above, and the peak
memory and wall time of the worst input of the class.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
from hubserver import FakeHub  # noqa: E402

PY = sys.executable
MEM_LIMIT = 2 * 1024 ** 3
BLOWUP_RSS_MB = 300
DEADLINE = 3.0
TOKEN = "hf_HostileBenchTokenAbCdEfGhIjKlMnOpQr"
CLASSES = ("unbounded-reads", "fan-out", "silent-truncation", "network-paths", "secrets", "injection",
           "whole-run-aborts", "reports-lost", "field-types")


@dataclass
class Run:
    rc: int | None
    out: str
    err: str
    wall: float
    rss_mb: float
    hung: bool
    files: dict[str, bytes] = field(default_factory=dict)   # files written under the case dir


@dataclass
class Case:
    cls: str
    name: str
    build: Callable[["Ctx"], list[str]]      # returns argv after `python -m scanner`
    hidden: bool = True                      # evidence hidden/cut/unreadable: allow is a failure
    secret: str | None = None
    render: str | None = None                # "table" | "markdown": check that surface for injection
    check: Callable[["Ctx", Run], str | None] | None = None   # extra: a failure label or None
    limit: float = DEADLINE + 12             # wall limit past the baseline run (then: a hang)


class Ctx:
    def __init__(self, hub: FakeHub, root: Path, name: str):
        self.hub = hub
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "MODELSCAN_"))},
                    "HF_ENDPOINT": hub.url, "HF_HOME": str(self.dir / "hf"), "HF_HUB_DISABLE_TELEMETRY": "1",
                    "HF_HUB_DISABLE_XET": "1", "PYTHONPATH": str(ROOT), "MODELSCAN_NOW": "2026-11-30T00:00:00Z",
                    "HF_TOKEN": ""}
        self.owned = [self.dir / "hf"]      # where the tool may write
        self.prefix = name

    def repo(self, name: str, card: dict, files: dict | None = None, **info) -> str:
        rid = f"{self.prefix}/{name}"
        files = dict(files or {})
        self.hub.add_repo(rid, {"cardData": card, **info}, files)
        return rid

    def raw_info(self, rid: str, body: bytes | str, kind: str = "fault") -> None:
        self.hub.fail(rf"^/api/models/{re.escape(rid)}(/revision/[^/?]+)?(\?|$)", "status", times=-1, code=200,
                      body=body)

    def write(self, rel: str, text: str | bytes) -> Path:
        p = self.dir / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        (p.write_bytes if isinstance(text, bytes) else p.write_text)(text)
        return p


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEM_LIMIT, MEM_LIMIT))


def run_cli(ctx: Ctx, argv: list[str], limit: float) -> Run:
    out_p, err_p = ctx.dir / ".stdout", ctx.dir / ".stderr"
    with open(out_p, "wb") as out, open(err_p, "wb") as err:
        t0 = time.monotonic()
        proc = subprocess.Popen([PY, "-m", "scanner", *argv], cwd=ctx.dir, env=ctx.env, stdout=out, stderr=err,
                                stdin=subprocess.DEVNULL, preexec_fn=_limit_memory)
        hung = False
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() - t0 > limit:
                hung = True
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    files = {}
    for p in ctx.dir.rglob("*"):
        try:
            if (p.is_file() and not p.is_symlink() and p.stat().st_size < 5_000_000
                    and p.name not in (".stdout", ".stderr")):
                files[str(p.relative_to(ctx.dir))] = p.read_bytes()
        except OSError:
            pass
    return Run(None if hung else proc.returncode, out_p.read_bytes().decode("utf-8", "replace"),
               err_p.read_bytes().decode("utf-8", "replace"), wall, usage.ru_maxrss / 1024, hung, files)


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\x80-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u061c]")


def judge(case: Case, ctx: Ctx, r: Run, baseline: float) -> list[str]:
    bad = []
    text = r.out + "\n" + r.err
    if r.hung:
        bad.append("hang")
    elif r.rss_mb > BLOWUP_RSS_MB or "MemoryError" in text or r.wall > baseline + DEADLINE + 5:
        bad.append("blow-up")
    if case.secret:
        blobs = [r.out, r.err] + [b.decode("utf-8", "replace") for b in r.files.values()]
        if any(case.secret in b for b in blobs):
            bad.append("leak")
    if case.render and (_CONTROL.search(r.out) or (case.render == "markdown" and (
            re.search(r"(?<![\w`])@[A-Za-z0-9]", r.out) or re.search(r"https?://evil|www\.evil", r.out)))):
        bad.append("inject")
    if case.hidden and not r.hung and (r.rc == 0 or '"verdict": "allow"' in r.out and "target" not in r.out):
        bad.append("allow")
    if re.search(r"internal error|unexpected error|Traceback", text):
        bad.append("internal")
    if case.check and not r.hung:
        extra = case.check(ctx, r)
        if extra:
            bad.append(extra)
    return bad


# ------------------------------------------------------------------------------------------- helpers
APACHE = {"license": "apache-2.0"}
MIT_TEXT = ("MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any "
            "person obtaining a copy\n")


def check_args(*targets: str, fmt: str = "json", extra: tuple[str, ...] = ()) -> list[str]:
    return ["check", *targets, "-f", fmt, "--deadline", str(DEADLINE), "--timeout", "2", *extra]


def gate_tree(ctx: Ctx, good: str) -> None:
    ctx.write("deploy/good.sh", f"vllm serve {good}\n")


def decided(model: str) -> Callable[[Ctx, Run], str | None]:
    def check(ctx: Ctx, r: Run) -> str | None:
        try:
            data = json.loads(r.out)
        except ValueError:
            return "lost-model"
        ok = any(x.get("repo_id") == model and x.get("verdict") in ("allow", "review", "deny")
                 for x in data.get("results", []))
        return None if ok else "lost-model"
    return check


def gate_args() -> list[str]:
    return ["gate", ".", "-f", "json", "--deadline", str(DEADLINE), "--timeout", "2", "-j", "2"]


def snapshot_copy(ctx: Ctx) -> Path:
    dst = ctx.dir / "snap"
    shutil.copytree(ROOT / "examples" / "hub", dst)
    return dst


def snap_file(snap: Path, repo: str, name: str) -> Path:
    return next((snap / "models" / repo).glob(f"*/files/{name}"))


def outside_written(ctx: Ctx, r: Run) -> str | None:
    allowed = ("hf/", ".stdout", ".stderr", "out.", "snap/", "deploy/", "model/")
    stray = [p for p in r.files if not p.startswith(allowed)]
    return "inject" if stray else None


def no_escape_home(ctx: Ctx, r: Run) -> str | None:
    for p in ctx.dir.parent.rglob("*"):
        if p.name == "escaped-cache":
            return "inject"
    stray = [p for p in r.files if not p.startswith(("hf/", "out."))]
    return "inject" if stray else None


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


# ------------------------------------------------------------------------------------------- cases
def cases() -> list[Case]:
    C: list[Case] = []

    def add(cls, name, **kw):
        def deco(fn):
            C.append(Case(cls, name, fn, **kw))
            return fn
        return deco

    # ---- unbounded reads
    @add("unbounded-reads", "trickling-model-info")
    def _(ctx):
        rid = ctx.repo("trickle", APACHE, {"LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
        ctx.hub.fail(rf"^/api/models/{rid}(\?|$)", "trickle", times=-1, nbytes=1, pause=1.0)
        return check_args(rid)

    @add("unbounded-reads", "endless-model-info")
    def _(ctx):
        rid = ctx.repo("endless", APACHE)
        ctx.hub.fail(rf"^/api/models/{rid}(\?|$)", "endless", times=-1)
        return check_args(rid)

    @add("unbounded-reads", "endless-license-get")
    def _(ctx):
        rid = ctx.repo("endlesslic", APACHE, {"LICENSE": "x"})
        ctx.hub.fail(r"/resolve/[0-9a-f]+/LICENSE$", "endless", times=-1, prefix=b"")
        return check_args(rid)

    @add("unbounded-reads", "devzero-run-sh", hidden=False)
    def _(ctx):
        good = ctx.repo("good", APACHE)
        gate_tree(ctx, good)
        (ctx.dir / "deploy").mkdir(exist_ok=True)
        os.symlink("/dev/zero", ctx.dir / "deploy" / "run.sh")
        return gate_args()

    @add("unbounded-reads", "devzero-lockfile", hidden=True)
    def _(ctx):
        good = ctx.repo("good", APACHE)
        gate_tree(ctx, good)
        os.symlink("/dev/zero", ctx.dir / "modelscan.lock")
        return gate_args() + ["--locked"]

    @add("unbounded-reads", "fifo-deploy-tree", hidden=False)
    def _(ctx):
        good = ctx.repo("good", APACHE)
        gate_tree(ctx, good)
        os.mkfifo(ctx.dir / "deploy" / "start.sh")
        return gate_args()

    @add("unbounded-reads", "fifo-in-snapshot")
    def _(ctx):
        snap = snapshot_copy(ctx)
        p = snap_file(snap, "microsoft/phi-4", "README.md")
        p.unlink()
        os.mkfifo(p)
        return check_args("microsoft/phi-4", extra=("--snapshot", str(snap)))

    @add("unbounded-reads", "sparse-2gb-in-snapshot")
    def _(ctx):
        snap = snapshot_copy(ctx)
        p = snap_file(snap, "microsoft/phi-4", "README.md")
        with open(p, "r+b") as fh:
            fh.truncate(2 * 1024 ** 3)
        return check_args("microsoft/phi-4", extra=("--snapshot", str(snap)))

    @add("unbounded-reads", "devzero-license-local")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: mit\n---\n# m\n")
        os.symlink("/dev/zero", ctx.dir / "model" / "LICENSE")
        return check_args("./model")

    # ---- fan-out
    @add("fan-out", "1000-missing-base-models")
    def _(ctx):
        rid = ctx.repo("many", {"license": "apache-2.0",
                                "base_model": [f"{ctx.prefix}/missing-{i}" for i in range(1000)]})
        return check_args(rid)

    @add("fan-out", "stalling-parent-chain")
    def _(ctx):
        base = ctx.repo("base0", APACHE)
        prev = base
        for i in range(1, 6):
            prev = ctx.repo(f"base{i}", {"license": "apache-2.0", "base_model": prev})
        rid = ctx.repo("child", {"license": "apache-2.0", "base_model": prev})
        ctx.hub.fail(rf"^/api/models/{ctx.prefix}/base\d", "stall", times=-1, seconds=1.9)
        return check_args(rid)

    @add("fan-out", "500-datasets")
    def _(ctx):
        rid = ctx.repo("ds500", {"license": "apache-2.0", "datasets": [f"{ctx.prefix}/d{i}" for i in range(500)]})
        return check_args(rid)

    # ---- silent truncation
    @add("silent-truncation", "nc-dataset-after-20")
    def _(ctx):
        names = []
        for i in range(20):
            ctx.hub.add_repo(f"{ctx.prefix}/ds{i}", {"cardData": {"license": "apache-2.0"}}, {}, kind="dataset")
            names.append(f"{ctx.prefix}/ds{i}")
        ctx.hub.add_repo(f"{ctx.prefix}/ncds", {"cardData": {"license": "cc-by-nc-4.0"}}, {}, kind="dataset")
        rid = ctx.repo("twentyone", {"license": "apache-2.0", "datasets": names + [f"{ctx.prefix}/ncds"]})
        return check_args(rid)

    @add("silent-truncation", "license-past-10000-entries")
    def _(ctx):
        d = ctx.dir / "model"
        (d / "blobs").mkdir(parents=True)
        for i in range(10_050):
            (d / f"shard-{i:05d}.bin").write_bytes(b"")
        ctx.write("model/LICENSE", "Creative Commons Attribution-NonCommercial 4.0 International\n")
        ctx.write("model/README.md", "---\nlicense: cc-by-nc-4.0\n---\n")
        return check_args("./model")

    @add("silent-truncation", "duplicate-license-key-card")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: cc-by-nc-4.0\nlicense: mit\n---\n# m\n")
        return check_args("./model")

    @add("silent-truncation", "duplicate-models-key-manifest")
    def _(ctx):
        good = ctx.repo("good", APACHE)
        bad = ctx.repo("bad", {"license": "cc-by-nc-4.0"})
        ctx.write("modelscan.yaml", f"version: 1\ndeployments:\n  - name: app\n    models: [{bad}]\n"
                                    f"    models: [{good}]\n")
        return gate_args()

    @add("silent-truncation", "duplicate-license-key-hub-readme")
    def _(ctx):
        rid = ctx.repo("dupreadme", {"license": "cc-by-nc-4.0"})
        ctx.hub.add_repo(rid, {"cardData": {}}, {"README.md": "---\nlicense: cc-by-nc-4.0\nlicense: mit\n---\n"})
        return check_args(rid)

    # ---- paths from the network
    for i, sha in enumerate(("../../escaped-cache", "../" * 8 + "tmp/escaped-cache", "/tmp/escaped-cache",
                             "a" * 39 + "/")):
        @add("network-paths", f"sha-as-path-{i}", check=no_escape_home)
        def _(ctx, sha=sha):
            rid = ctx.repo("shapath", APACHE)
            ctx.raw_info(rid, json.dumps({"id": rid, "sha": sha, "cardData": APACHE, "tags": [],
                                          "siblings": [{"rfilename": "README.md", "size": 10}]}))
            return check_args(rid)

    # ---- secrets
    @add("secrets", "userinfo-in-hf-endpoint", secret="s3cretPassw0rd")
    def _(ctx):
        ctx.env["HF_ENDPOINT"] = "http://user:s3cretPassw0rd@127.0.0.1:9"
        return check_args("org/model", extra=("-o", "out.json"))

    @add("secrets", "userinfo-in-hf-endpoint-echoed-url", secret="s3cretPassw0rd")
    def _(ctx):
        rid = ctx.repo("userinfo", APACHE)
        ctx.env["HF_ENDPOINT"] = ctx.hub.url.replace("://", "://user:s3cretPassw0rd@")
        ctx.hub.fail(rf"^/api/models/{rid}", "status", times=-1, code=400)
        return check_args(rid, extra=("-o", "out.json"))

    @add("secrets", "userinfo-in-hf-endpoint-gate", secret="s3cretPassw0rd")
    def _(ctx):
        ctx.env["HF_ENDPOINT"] = "http://user:s3cretPassw0rd@127.0.0.1:9"
        ctx.write("deploy/a.sh", "vllm serve org/model\n")
        return gate_args() + ["-o", "out.json"]

    @add("secrets", "token-echoed-in-card-data", secret=TOKEN)
    def _(ctx):
        ctx.env["HF_TOKEN"] = TOKEN
        rid = ctx.repo("echo", {"license": TOKEN, "license_name": TOKEN, "model_name": TOKEN,
                                "base_model": f"{ctx.prefix}/{TOKEN}"})
        return check_args(rid, extra=("-o", "out.json"))

    @add("secrets", "token-echoed-in-error", secret=TOKEN)
    def _(ctx):
        ctx.env["HF_TOKEN"] = TOKEN
        rid = ctx.repo("echoerr", APACHE)
        ctx.hub.fail(rf"^/api/models/{rid}", "status", times=-1, code=400, message=f"bad token {TOKEN}")
        return check_args(rid, fmt="markdown")

    @add("secrets", "token-shape-in-card-table", secret="hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789")
    def _(ctx):
        rid = ctx.repo("shape", {"license": "hf_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789"})
        return check_args(rid, fmt="table")

    # ---- injection
    esc = "\x1b[1A\x1b[2K\x1b[32mALLOW\x1b[0m"

    @add("injection", "esc-in-card-license", render="table")
    def _(ctx):
        rid = ctx.repo("esc", {"license": "other", "license_name": esc, "base_model": esc})
        return check_args(rid, fmt="table")

    @add("injection", "esc-in-local-card", render="table")
    def _(ctx):
        ctx.write("model/README.md", f"---\nlicense: \"\\e[1A\\e[2K{esc[8:]}\"\n---\n")
        return check_args("./model", fmt="table")

    @add("injection", "esc-in-license-file-name", render="table")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: other\n---\n")
        ctx.write("model/LICENSE\x1b[2J\x1b[HALLOW", "Some proprietary terms\n")
        return check_args("./model", fmt="table")

    @add("injection", "esc-in-auto-map", render="table")
    def _(ctx):
        rid = ctx.repo("automap", {"license": "other"}, {"config.json": json.dumps(
            {"auto_map": {"AutoModel": esc + "--x/y.Model"}, "model_type": esc})})
        return check_args(rid, fmt="table")

    @add("injection", "rich-markup-in-policy-name", hidden=False, render="table")
    def _(ctx):
        rid = ctx.repo("ok", APACHE, {"LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
        ctx.write("p.yaml", "version: 1\nname: '[/][bold red]ALLOW[/bold red][link=https://evil]x'\nextends: default\n")
        return check_args(rid, fmt="table", extra=("--policy", "p.yaml"))

    @add("injection", "markdown-mention-autolink-bidi", render="markdown")
    def _(ctx):
        rid = ctx.repo("md", {"license": "other", "license_name": "@org/team see https://evil.example "
                              "www.evil.example \u202eTXT.exe <img src=x> | a | b |"})
        return check_args(rid, fmt="markdown")

    @add("injection", "bidi-in-local-card-table", render="table")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: other\nlicense_name: \"abc\\u202edef\\u2066x\"\n---\n")
        return check_args("./model", fmt="table")

    # ---- whole-run aborts
    @add("whole-run-aborts", "deep-yaml-in-tree", hidden=False)
    def _(ctx):
        good = ctx.repo("good", APACHE, {"LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
        gate_tree(ctx, good)
        ctx.write("deploy/deep.yaml", "a: " + "[" * 50_000 + "]" * 50_000 + "\n")
        return gate_args()

    @add("whole-run-aborts", "long-python-expression", hidden=False)
    def _(ctx):
        good = ctx.repo("good", APACHE, {"LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
        gate_tree(ctx, good)
        ctx.write("deploy/app.py", "x = " + "1+" * 200_000 + "1\n")
        return gate_args()

    for i, text in enumerate(("- a\n- b\n", "version: 1\nname: {a: 1}\n", "version: 1\nlicenses: 5\n",
                              "version: 1\nextends: ../../../../etc/passwd\n", "version: 1\ncontext: [1, 2]\n",
                              "version: 1\nname: x\nname: y\n", "\x00\x01\x02", "version: 1\nwaivers: [{model: 5}]\n")):
        @add("whole-run-aborts", f"malformed-policy-{i}",
             check=lambda ctx, r: None if r.rc == 2 and len(r.err.strip().splitlines()) == 1 else "unnamed")
        def _(ctx, text=text):
            ctx.write("p.yaml", text)
            return check_args("org/x", extra=("--policy", "p.yaml"))

    for i, text in enumerate(("[]", "{", '{"version": 1, "models": 5}', '{"version": 1, "models": [1]}',
                              '{"version": 1, "version": 2}', '{"version": "x", "models": {"a/b": {"sha": 5}}}')):
        @add("whole-run-aborts", f"malformed-lockfile-{i}",
             check=lambda ctx, r: None if r.rc == 2 and len(r.err.strip().splitlines()) == 1 else "unnamed")
        def _(ctx, text=text):
            good = ctx.repo("good", APACHE)
            gate_tree(ctx, good)
            ctx.write("modelscan.lock", text)
            return gate_args() + ["--locked"]

    for i, now in enumerate(("9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "nan", "2026-13-01",
                             "\x1b[2J", "1" * 5000)):
        @add("whole-run-aborts", f"odd-now-{i}",
             check=lambda ctx, r: None if r.rc == 2 and len(r.err.strip().splitlines()) == 1 else "unnamed")
        def _(ctx, now=now):
            rid = ctx.repo("x", APACHE)
            return check_args(rid, extra=("--now", now))

    @add("whole-run-aborts", "unreadable-hf-cache-local-scan", hidden=False,
         check=lambda ctx, r: None if r.rc in (0, 1) else "lost-model")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: apache-2.0\n---\n")
        ctx.write("model/LICENSE", "Apache License\nVersion 2.0, January 2004\n")
        hf = ctx.dir / "hf"
        hf.mkdir()
        hf.chmod(0)
        return check_args("./model")

    # ---- reports lost
    for fmt in ("json", "junit", "sarif", "markdown", "table"):
        @add("reports-lost", f"lone-surrogate-{fmt}", hidden=False,
             check=lambda ctx, r: None if (ctx.dir / "out.report").read_bytes() != b"" and
             (r.rc in (0, 1) or (ctx.dir / "out.report").read_bytes() == b"OLD REPORT") else "lost-report")
        def _(ctx, fmt=fmt):
            snap = snapshot_copy(ctx)
            info = next((snap / "models" / "microsoft/phi-4").glob("*/model_info.json"))
            data = info.read_text().replace('"license": "mit"', '"license": "mit-x\\ud800y"')
            info.write_text(data)
            ctx.write("out.report", "OLD REPORT")
            return check_args("microsoft/phi-4", fmt=fmt, extra=("--snapshot", str(snap), "-o", "out.report"))

    # ---- hostile field types
    def info_body(rid: str, **over) -> str:
        body = {"id": rid, "sha": "0" * 40, "cardData": {"license": "apache-2.0"}, "tags": ["license:apache-2.0"],
                "siblings": [{"rfilename": "README.md", "size": 10}, {"rfilename": "LICENSE", "size": 10}]}
        body.update(over)
        return json.dumps(body, allow_nan=True)

    hostile_fields = {
        "size-string": dict(siblings=[{"rfilename": "LICENSE", "size": "big"}]),
        "size-nan": dict(siblings=[{"rfilename": "LICENSE", "size": math.nan}]),
        "size-negative-huge": dict(siblings=[{"rfilename": "LICENSE", "size": -10 ** 30}]),
        "siblings-dict": dict(siblings={"rfilename": "LICENSE"}),
        "tags-string": dict(tags="license:apache-2.0"),
        "carddata-list": dict(cardData=["license", "mit"]),
        "sha-int": dict(sha=12345),
        "gated-object": dict(gated={"x": 1}),
        "lastmodified-nan": dict(lastModified=math.nan),
        "config-deep": None,
        "id-list": dict(id=["a"]),
    }
    for fname, over in hostile_fields.items():
        @add("field-types", f"hub-{fname}")
        def _(ctx, over=over, fname=fname):
            rid = ctx.repo("field", APACHE, {"LICENSE": "Apache License\nVersion 2.0, January 2004\n"})
            if over is None:
                body = info_body(rid)[:-1] + ', "config": ' + nested_json(100_000) + "}"
            else:
                body = info_body(rid, **over)
            ctx.raw_info(rid, body)
            return check_args(rid)

    @add("field-types", "snapshot-nan-provenance")
    def _(ctx):
        snap = snapshot_copy(ctx)
        files = next((snap / "models" / "microsoft/phi-4").glob("*/files.json"))
        data = json.loads(files.read_text())
        files.write_text(json.dumps({**data, "provenance": {"x": math.nan, "y": [1, {"z": math.inf}]}}, allow_nan=True))
        return check_args("microsoft/phi-4", extra=("--snapshot", str(snap)))

    @add("field-types", "snapshot-config-deep")
    def _(ctx):
        snap = snapshot_copy(ctx)
        p = snap_file(snap, "microsoft/phi-4", "config.json")
        p.write_text('{"model_type": ' + nested_json(100_000) + "}")
        return check_args("microsoft/phi-4", extra=("--snapshot", str(snap)))

    @add("field-types", "local-config-deep")
    def _(ctx):
        ctx.write("model/README.md", "---\nlicense: mit\n---\n")
        ctx.write("model/config.json", '{"a": ' + nested_json(100_000) + "}")
        return check_args("./model")

    return C


# ------------------------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="only cases whose class or name contains this")
    args = ap.parse_args()
    selected = [c for c in cases() if args.k in c.cls or args.k in c.name]
    root = Path(tempfile.mkdtemp(prefix="modelscan-hostile-"))
    rows: dict[str, dict] = {}
    labels = ("hang", "blow-up", "leak", "inject", "allow", "internal")
    try:
        with FakeHub() as hub:
            # The wall time of a plain scan on this machine (startup, imports): time limits count from it.
            ctx = Ctx(hub, root, "baseline")
            base = run_cli(ctx, check_args(ctx.repo("plain", APACHE)), 120)
            baseline = base.wall
            print(f"baseline: a plain check takes {baseline:.1f} s, {base.rss_mb:.0f} MB (rc={base.rc}); "
                  f"deadline {DEADLINE} s; blow-up past {baseline + DEADLINE + 5:.1f} s or {BLOWUP_RSS_MB} MB")
            for n, case in enumerate(selected):
                ctx = Ctx(hub, root, f"c{n}-{case.name}")
                argv = case.build(ctx)
                r = run_cli(ctx, argv, baseline + case.limit)
                bad = judge(case, ctx, r, baseline)
                hub.clear_faults()
                for p in ctx.dir.rglob("*"):
                    try:
                        p.chmod(0o700) if p.is_dir() and not p.is_symlink() else None
                    except OSError:
                        pass
                row = rows.setdefault(case.cls, {"n": 0, **{k: 0 for k in labels + ("other",)},
                                                 "worst": (0.0, 0.0, "")})
                row["n"] += 1
                for b in bad:
                    row[b if b in labels else "other"] += 1
                if (r.wall, r.rss_mb) > row["worst"][:2]:
                    row["worst"] = (r.wall, r.rss_mb, case.name)
                first_err = (r.err.strip().splitlines() or [""])[-1][:110]
                print(f"{case.cls:18} {case.name:34} rc={r.rc!s:4} {r.wall:6.1f}s {r.rss_mb:6.0f}MB "
                      f"{','.join(bad) or 'ok':20} {first_err!r}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print()
    print(f"{'class':18} {'inputs':>6} " + " ".join(f"{k:>8}" for k in labels + ("other",))
          + "   worst input (wall, peak RSS)")
    total = {k: 0 for k in ("n",) + labels + ("other",)}
    for cls in CLASSES:
        if cls not in rows:
            continue
        row = rows[cls]
        for k in total:
            total[k] += row[k]
        w = row["worst"]
        print(f"{cls:18} {row['n']:6d} " + " ".join(f"{row[k]:8d}" for k in labels + ("other",))
              + f"   {w[2]} ({w[0]:.1f} s, {w[1]:.0f} MB)")
    print(f"{'total':18} {total['n']:6d} " + " ".join(f"{total[k]:8d}" for k in labels + ("other",)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
