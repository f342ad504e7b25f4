"""The smoke test: load an approved model with transformers and run it once.

`runtime` loads and runs a model from a directory; it imports only torch, transformers and the
standard library (lazily), so it also runs on a GPU machine that has none of the scanner's other
dependencies (`python scanner/smoke/runtime.py DIR`). `approve` decides, before anything is
downloaded, whether a scanned model may be loaded (policy verdict, lockfile, pickle weights,
remote code) and which files to fetch; `fetch` downloads exactly those files at the approved
commit. Importing this package imports nothing heavy.
"""

INSTALL_HINT = "pip install 'modelscan-compliance[smoke]'"
