"""plan stage of pgrest."""
