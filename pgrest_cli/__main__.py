"""`python -m pgrest_cli …` runs the `pgrest` command."""

from pgrest_cli.main import cli

if __name__ == "__main__":
    cli(prog_name="pgrest")
