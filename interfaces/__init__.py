"""The ways in and out: settings, the composition root, the HTTP API, the CLI and the workers."""
