"""Use-cases of labelloop: one transaction each, called by the CLI and the server."""
