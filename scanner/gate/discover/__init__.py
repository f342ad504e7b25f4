"""Find the Hub models a deployment uses, with the file and line of every reference.

What is recognised (docs/gate.md keeps the user-facing list):

* deployment manifests (`modelscan.yaml`; manifest.py);
* command lines in shell scripts, Makefiles, Procfiles and `.env` files: `vllm serve X`, `--model X`
  (vLLM), `--model-id X` and `MODEL_ID=X` / `HF_MODEL_ID=X` (Hugging Face TGI), `--revision R`
  on the same command line; `ollama run|pull hf.co/org/name[:quant]`;
* Kubernetes and docker-compose YAML: the same flags and variables in a container's or a
  service's `command`, `args`, `entrypoint`, `env` and `environment`;
* Dockerfiles: the same in `CMD`, `ENTRYPOINT`, `RUN` and `ENV`, shell and exec form
  (`CMD ["vllm", "serve", "org/model"]`; dockerfile.py);
* Ollama Modelfiles: `FROM hf.co/org/name[:quant]`;
* Python: `from_pretrained("org/name", revision=...)`, `pipeline(model=...)`, vLLM's
  `LLM(model=...)`, `snapshot_download(repo_id=...)` / `hf_hub_download(repo_id=...)`,
  with string literals only.

In a folder, files git ignores are left out (ignore.py), and anywhere, files an --exclude
pattern matches. Only values that are Hub model ids are kept: `org/name` (or a huggingface.co /
hf.co URL of one). A local path, a URL to another host, a shell variable or a template is not guessed at.

One module per kind of deployment file (manifest, containers for compose / Kubernetes,
dockerfile, shell, modelfile, python), the shared types in `reference`, the command-line words the shell and
container kinds share in `words`, and the registry of kinds in `registry`: `discover` hands each
file to the first registered kind that matches its name.
"""

from __future__ import annotations

from scanner.gate.discover.ids import hub_model_id
from scanner.gate.discover.ignore import Skipped
from scanner.gate.discover.reference import KINDS, DiscoveryError, FileProblem, Reference
from scanner.gate.discover.registry import REGISTRY, DiscoveryKind, DiscoveryKinds
from scanner.gate.discover.walk import discover, display_path, iter_files

__all__ = ["KINDS", "REGISTRY", "DiscoveryError", "DiscoveryKind", "DiscoveryKinds", "FileProblem", "Reference",
           "Skipped", "discover", "display_path", "hub_model_id", "iter_files"]
