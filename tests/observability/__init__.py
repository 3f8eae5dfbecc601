"""The observability suite (`tests/run observability`): what observability/ ships checked by
promtool, the dashboard and docs/operations.md checked against the rules, the compose profile
checked rendered and for real, and the live test (the release binaries, a real Prometheus
scraping them with the repository's rules, faults that must fire alerts and resolve them, and
the dashboard's queries).

- `rendering`: the live test's Prometheus config and rules, made from the shipped ones;
- `dashboard`: the Grafana dashboard's queries, ready for Prometheus;
- `documentation`: the metrics table of docs/operations.md and runbook, against what the services export;
- `faults`: a fault injected and repaired while the alerts are watched, and the timings;
- `long_mode`: the faults of the longer local mode;
- `compose_profile`: the compose file's observability profile, checked on its rendered config;
- `compose_run`: the same profile brought up for real, read through its Prometheus;
- `test_promtool`, `test_static`, `test_compose`, `test_live`: the tests.
"""
