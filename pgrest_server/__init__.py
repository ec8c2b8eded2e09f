"""The HTTP server: the ASGI app (`app.py`), CORS, and the processes it runs (uvicorn, a throwaway
PostgreSQL for `--demo`). Imported only when serving; `pgrest_core` never imports it."""
