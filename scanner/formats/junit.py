"""JUnit XML for CI test reports: one testcase per model, or per deployment that references it.

A testcase fails exactly when the gate does: deny, and review unless `--fail-on deny` (or
`never`), are <failure>s (type = the verdict); error is an <error>; what the gate passes
passes, with its verdict in `status` and its details in <system-out>. A testcase's classname
is the deployment a location names, else "modelscan". Valid against the Jenkins xunit
junit-10 schema (tests/schemas/junit-10.xsd).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from scanner.formats.interface import Format
from scanner.formats.json import smoke_dict
from scanner.result import Location, Report, Result, fails
from scanner.textsafe import xml_text

DEFAULT_CLASSNAME = "modelscan"


def _x(value: Any) -> str:
    """Text safe for XML 1.0 (characters XML cannot carry are dropped)."""
    return xml_text(value)


def _where(loc: Location) -> str:
    out = loc.file
    if loc.line is not None:
        out += f":{loc.line}"
        if loc.column:
            out += f":{loc.column}"
    return out


def _details(r: Result, locs: list[Location]) -> str:
    lines = [f"model: {r.repo_id or r.target}", f"revision: {r.sha or r.revision or '-'}", f"verdict: {r.verdict}"]
    if r.reasons:
        lines.append("reasons:")
        lines.extend(f"  - {reason}" for reason in r.reasons)
    lic = ", ".join(u.id + (f"@{u.version}" if u.version and u.version not in u.id else "")
                    for u in r.licenses.effective)
    if lic:
        lines.append(f"licenses: {lic}")
    if r.verdict != "error":
        lines.append(f"class: {r.classification.label}")
    if r.findings:
        lines.append("findings:")
        lines.extend(f"  - [{f.severity}] {f.code}: {f.message}" for f in r.findings)
    if r.obligations:
        lines.append("obligations:")
        lines.extend(f"  - {o.license}: {o.text}" for o in r.obligations)
    if locs:
        lines.append("referenced at:")
        lines.extend(f"  - {_where(loc)}" for loc in locs if loc.file)
    return "\n".join(lines) + "\n"


def _cases(r: Result) -> list[tuple[str, list[Location]]]:
    """(classname, the locations of that testcase) for each testcase of one result."""
    by_deployment: dict[str, list[Location]] = {}
    plain: list[Location] = []
    for loc in r.locations:
        if loc.deployment:
            by_deployment.setdefault(loc.deployment, []).append(loc)
        else:
            plain.append(loc)
    cases = list(by_deployment.items())
    if plain or not cases:
        cases.append((DEFAULT_CLASSNAME, plain))
    return cases


def _testcase(parent: ET.Element, r: Result, classname: str, locs: list[Location], fail_on: str) -> str:
    """One <testcase>; returns "failure", "error" or "pass". Attributes and children are those of
    the Jenkins xunit junit-10 schema (tests/schemas/junit-10.xsd): where the model is referenced
    and the smoke outcome go into the text, `status` carries the verdict."""
    name = r.repo_id or r.target
    case = ET.SubElement(parent, "testcase", {"name": _x(f"{name}@{r.sha}" if r.sha else name),
                                              "classname": _x(classname), "time": "0", "status": _x(r.verdict)})
    smoke = r.smoke
    text = _details(r, locs)
    if smoke is not None:
        text += "smoke:\n" + "".join(f"  {key}: {value}\n" for key, value in sorted(smoke_dict(smoke).items())
                                     if not isinstance(value, (dict, list, tuple)) and value is not None)
    text = _x(text)
    message = _x(f"{r.verdict}: {r.reasons[0]}" if r.reasons else r.verdict)
    if r.verdict == "error":
        ET.SubElement(case, "error", {"message": message, "type": "error"}).text = text
        return "error"
    if r.verdict in ("deny", "review") and fails(r.verdict, fail_on):
        ET.SubElement(case, "failure", {"message": message, "type": r.verdict}).text = text
        return "failure"
    # an allowed model whose smoke test did not pass is not a passing testcase
    if smoke is not None and smoke.status == "refused":
        ET.SubElement(case, "failure", {"message": _x(f"smoke refused: {smoke.code or ''}"),
                                        "type": "smoke-refused"}).text = text
        return "failure"
    if smoke is not None and smoke.status in ("failed", "not-run"):
        why = f"smoke {smoke.status}: {smoke.stage or ''}: {smoke.message}"
        ET.SubElement(case, "error", {"message": _x(why), "type": f"smoke-{smoke.status}"}).text = text
        return "error"
    ET.SubElement(case, "system-out").text = text
    return "pass"


def junit_element(report: Report) -> ET.Element:
    suite = ET.Element("testsuite", {"name": _x(f"modelscan check (policy {report.policy.name})")})
    props = ET.SubElement(suite, "properties")
    for key, value in (("policy", report.policy.name), ("policy_hash", report.policy.hash),
                       ("knowledge_base", report.knowledge_base.get("hash", "")),
                       ("evaluated_at", report.evaluated_at), ("fail_on", report.fail_on),
                       ("tool", f"{report.tool.get('name', 'modelscan')} {report.tool.get('version', '')}".strip())):
        ET.SubElement(props, "property", {"name": key, "value": _x(value)})
    counts = {"tests": 0, "failures": 0, "errors": 0}
    for r in report.results:
        for classname, locs in _cases(r):
            outcome = _testcase(suite, r, classname, locs, report.fail_on)
            counts["tests"] += 1
            if outcome == "error":
                counts["errors"] += 1
            elif outcome == "failure":
                counts["failures"] += 1
    stamp = report.evaluated_at[:-1] if report.evaluated_at.endswith("Z") else report.evaluated_at
    # <testsuite> requires name, tests, failures and errors; <testsuites> carries only name, time,
    # tests, failures and errors (the junit-10 schema CI servers read)
    suite.attrib.update({k: str(v) for k, v in counts.items()})
    suite.attrib.update({"skipped": "0", "time": "0", "timestamp": _x(stamp)})
    root = ET.Element("testsuites", {"name": "modelscan", "time": "0", **{k: str(v) for k, v in counts.items()}})
    root.append(suite)
    return root


class JunitFormat(Format):
    def render(self, report: Report) -> str:
        root = junit_element(report)
        ET.indent(root)
        return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
