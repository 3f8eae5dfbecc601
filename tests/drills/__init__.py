"""The reliability drills: each module runs one drill against the release binaries, a real
redis-server, a real nginx gateway and a fake exchange, and returns one row of the report;
`test_drills` runs each as a test (`tests/run drills`).
"""
