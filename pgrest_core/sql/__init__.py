"""sql stage of pgrest."""
