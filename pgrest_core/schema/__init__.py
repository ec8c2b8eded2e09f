"""schema stage of pgrest."""
