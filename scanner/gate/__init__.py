"""The pre-deploy gate (docs/gate.md).

    paths ──► discover (manifests + deployment files → model references with file:line)
          ──► plan (one item per model, revision and deployment context; all its locations)
          ──► Scanner (bounded worker pool, every repo fetched once per run)
          ──► lock checks (revision moved, license drift, stale approvals) ──► Report

`discover` (with the manifest) reads files only; `lock` reads and writes modelscan.lock; `runner`
ties them to the Scanner. None of them talks to the Hub directly.
"""
