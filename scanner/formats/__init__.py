"""Output formats: each renders the one result model, with no logic of its own."""

FORMATS = ("table", "json")


def get(name: str):
    if name == "json":
        from scanner.formats.json import JsonFormat
        return JsonFormat()
    if name == "table":
        from scanner.formats.terminal import TerminalFormat
        return TerminalFormat()
    raise KeyError(name)
