"""Write the generated parts of scanner/schemas/*.json and docs/terms.md from the term and finding registries.

    python scripts/gen_schemas.py          # rewrite the schemas that are out of date
    python scripts/gen_schemas.py --check  # exit 1 naming the stale schemas, write nothing

What is generated, and from what, is listed in scanner/schemagen.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import schemagen


def main(argv: list[str]) -> int:
    if "--check" in argv:
        stale = schemagen.stale()
        for name in stale:
            print(f"{name} is not current: run python scripts/gen_schemas.py")
        return 1 if stale else 0
    for name in schemagen.write():
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
