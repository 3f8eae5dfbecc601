"""The API contract suite: Schemathesis fuzzing the release binaries from the OpenAPI
documents they serve, directly and through the gateway, in each of Service A's states.

- `states`: api-a taken through no price yet, price available, Redis hanging and Redis down;
- `runs`: one Schemathesis run (its command line, its outcome, what the service counted);
- `events`: Schemathesis's NDJSON report read into requests, operations and findings;
- `tampering`: documents changed on purpose, each of which must fail its check;
- `report`: the tables printed;
- `schemathesis.toml`: Schemathesis's configuration, shared with runs by hand (docs/api.md);
- `__main__`: the live run (`PYTHONPATH=tests python3 -m contract`).
"""
