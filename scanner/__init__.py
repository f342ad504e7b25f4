"""modelscan: license and model-card compliance for open AI models."""

__version__ = "0.1.0"
TOOL_NAME = "modelscan"
