"""pgrest command-line interface."""
