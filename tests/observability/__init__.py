"""The observability suite's live test: the release binaries, a real Prometheus scraping them with
the repository's rules, faults that must fire alerts and resolve them, and the dashboard's
queries. Run it with `tests/run observability`, or `PYTHONPATH=tests python3 -m observability`.

- `prometheus_server`: Prometheus's HTTP API, and Debian's Prometheus on a free loopback port;
- `rendering`: the live test's Prometheus config and rules, made from the shipped ones;
- `dashboard`: the Grafana dashboard's queries, ready for Prometheus;
- `documentation`: the metrics table of docs/operations.md and runbook, against what the services export;
- `faults`: a fault injected and repaired while the alerts are watched, and the timings;
- `compose_profile`: the compose file's observability profile, checked on its rendered config;
- `compose_run`: the same profile brought up for real, checked through its Prometheus.
"""
