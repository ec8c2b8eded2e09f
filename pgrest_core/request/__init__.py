"""request stage of pgrest."""
