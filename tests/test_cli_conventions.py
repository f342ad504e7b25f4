"""Command-line conventions (issue 13, item 7): NO_COLOR / FORCE_COLOR, help on a bare
`modelscan`, "did you mean" for subcommands and policy names, and --version with the knowledge
base's record count and hash."""

from __future__ import annotations



from conftest import EXAMPLES, ROOT, run_cli  # noqa: E402

ESC = "\x1b["


def check_example(env: dict[str, str]) -> str:
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES),
                   env={"NO_COLOR": "", "FORCE_COLOR": "", "TERM": "xterm-256color", **env})
    assert proc.returncode in (0, 1), proc.stderr
    assert "Mistral-7B-v0.1" in proc.stdout
    return proc.stdout


def test_no_color_and_force_color():
    assert ESC not in check_example({})                           # a pipe: plain text
    assert ESC in check_example({"FORCE_COLOR": "1"})             # forced, even into a pipe
    assert ESC not in check_example({"FORCE_COLOR": "1", "NO_COLOR": "1"})   # NO_COLOR wins



def test_a_report_written_to_a_file_has_no_colour(tmp_path):
    out = tmp_path / "report.txt"
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES), "-o", str(out),
                   env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert proc.returncode in (0, 1), proc.stderr
    assert "Mistral-7B-v0.1" in out.read_text() and ESC not in out.read_text()


def test_bare_modelscan_shows_the_help():
    proc = run_cli()
    assert proc.returncode == 2
    assert proc.stdout.startswith("Usage: modelscan [OPTIONS] COMMAND [ARGS]...")
    assert "Commands:" in proc.stdout and "gate" in proc.stdout and proc.stderr == ""


def test_did_you_mean_for_subcommands_and_policies():
    proc = run_cli("chek", "org/model")
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("modelscan: error: No such command 'chek'. Did you mean 'check'? "
                                   "(see 'modelscan --help')")
    proc = run_cli("nothing-like-it")
    assert proc.returncode == 2 and "Did you mean" not in proc.stderr
    proc = run_cli("check", "mistralai/Mistral-7B-v0.1", "--snapshot", str(EXAMPLES), "--policy", "defualt")
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.strip().endswith("did you mean 'default'?")
    proc = run_cli("policy", "show", "eu-comercial")
    assert proc.returncode == 2 and "did you mean 'eu-commercial'?" in proc.stderr


def test_version_names_the_knowledge_base():
    from scanner import __version__
    from scanner import kb as kbmod

    base = kbmod.load()
    proc = run_cli("--version")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"modelscan {__version__} (modelscan-compliance)"
    assert lines[1] == f"knowledge base: {len(base)} license records, {base.digest}"
    assert str(ROOT / "licenses") in lines[2] or "licenses" in lines[2]
