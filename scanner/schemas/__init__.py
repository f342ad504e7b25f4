"""JSON Schemas of the project's file formats, and a fast way to load jsonschema.

`import jsonschema` also imports optional format checkers that are installed; one of
them (rfc3987-syntax, pulled in by jsonschema's format extras, which the CycloneDX
validator wants) compiles grammars for about a second at import. The scanner's schemas
use no IRI formats, so the scanner keeps it from loading; a process that needs it (the
tests' CycloneDX validation) imports jsonschema itself first.
"""

from __future__ import annotations

import sys


def jsonschema():
    if "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]  # -> ImportError inside jsonschema
        try:
            import jsonschema as module
        finally:
            del sys.modules["rfc3987_syntax"]
        return module
    import jsonschema as module
    return module
