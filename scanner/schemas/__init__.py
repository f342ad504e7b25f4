"""JSON Schemas of the project's file formats, and a fast way to load jsonschema.

`import jsonschema` also imports every optional format checker that is installed (the
CycloneDX validator's `jsonschema[format]` extra brings them): isoduration pulls in arrow,
rfc3987-syntax compiles grammars for about a second, and together they were a quarter of a
snapshot `check`. The scanner's schemas use one format, `date`, which jsonschema checks with
the standard library, so the scanner keeps those modules from loading; a process that needs
them (the tests' CycloneDX validation) imports jsonschema itself first.
"""

from __future__ import annotations

import sys

# The optional modules jsonschema._format tries at import, one per format family.
_FORMAT_MODULES = ("rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "isoduration",
                   "webcolors", "jsonpointer", "uri_template", "fqdn", "idna")


def jsonschema():
    if "jsonschema" not in sys.modules:
        blocked = [m for m in _FORMAT_MODULES if m not in sys.modules]
        for name in blocked:
            sys.modules[name] = None  # -> ImportError inside jsonschema
        try:
            import jsonschema as module
        finally:
            for name in blocked:
                del sys.modules[name]
        return module
    import jsonschema as module
    return module
