"""pgrest's benchmarks: each one measures pgrest against a baseline in the same run, as ratios.

    python -m benchmarks            # the full run (several minutes)
    python -m benchmarks --quick    # a short run (< 3 minutes on 2 cores)

B1 translation (no database), B2 runner overhead, B3 HTTP under `wrk`, B4 scale with embedding
depth and width. Every run rewrites benchmarks/RESULTS.md; see benchmarks/README.md.
"""
