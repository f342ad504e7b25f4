"""Where modelscan meets CI: repository configuration (config.py) and the GitHub Action's
steps (github.py: job summary, annotations, outputs, the pull-request comment)."""
