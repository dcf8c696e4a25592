"""Compute for local runs: job clusters (Spark Connect servers), warm kernel pools, the class archive."""
