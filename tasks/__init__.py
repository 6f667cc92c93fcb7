"""Thin Prefect tasks: each wraps one domain call and adds retries, caching and persistence."""
