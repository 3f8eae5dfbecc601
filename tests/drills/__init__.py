"""The reliability drills: each module runs one drill against the release binaries,
a real redis-server, a real nginx gateway and a fake exchange, and returns one row of the report.
`python3 -m drills` (with `tests/` on `PYTHONPATH`) runs them: see `__main__`.
"""
