"""runner stage of pgrest."""
