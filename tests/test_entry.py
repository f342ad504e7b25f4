"""The process entry point (`scanner.cli.run`, used by the console scripts and `python -m scanner`)
leaves through os._exit once `main()` is done: what the process printed or wrote must all be
there, atexit handlers must still run, and the exit code must be main()'s."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import EXAMPLES, ROOT, run_cli


def run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)


def test_a_large_report_on_a_pipe_arrives_whole_and_the_exit_code_is_mains():
    models = sorted(f"{p.parent.name}/{p.name}" for p in (EXAMPLES / "models").glob("*/*"))
    proc = run_cli("check", *models, "--snapshot", str(EXAMPLES), "-f", "json")
    report = json.loads(proc.stdout)                      # the whole document, not a cut buffer
    assert len(report["results"]) == len(models) >= 10
    blocking = sum(report["summary"][v] for v in ("deny", "review", "error"))
    assert report["fail_on"] == "review" and blocking > 0
    assert proc.returncode == 1, proc.stderr


def test_a_usage_error_still_exits_2_with_its_line():
    proc = run_cli("chek")
    assert proc.returncode == 2
    assert proc.stderr.startswith("modelscan: error: ") and "check" in proc.stderr


def test_atexit_handlers_run_and_buffered_output_is_flushed(tmp_path):
    marker = tmp_path / "atexit.txt"
    proc = run_python(
        "import atexit, sys\n"
        f"atexit.register(lambda: open({str(marker)!r}, 'w').write('ran'))\n"
        "sys.stdout.write('unflushed')\n"            # no newline, no flush: must still arrive
        "sys.argv = ['modelscan', '--version']\n"
        "from scanner.cli import run\n"
        "run()\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("unflushed") and "knowledge base" in proc.stdout
    assert marker.read_text() == "ran"


def test_exit_codes_of_every_kind_come_through():
    for code, rc, err in (("sys.exit(3)", 3, ""), ("sys.exit(None)", 0, ""), ("sys.exit('no policy')", 1,
                                                                                   "no policy")):
        proc = run_python("import sys\nimport scanner.cli as c\n"
                          f"c.main = lambda: {code}\n"
                          "c.run()\n")
        assert proc.returncode == rc, (code, proc.stderr)
        assert err in proc.stderr
