"""pgrest_core: PostgREST's URL language compiled to one parameterized SQL statement.

Pure: no I/O and no database. The pipeline is parse -> plan -> compile; see README.md.
"""

__version__ = "0.1.0"
