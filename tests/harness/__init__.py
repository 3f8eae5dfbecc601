"""A small harness for tests that drive the project's real programs from Python: the package of
the Python test project (pyproject.toml), installed in its environment, which the suites' tests
(through the fixtures of tests/conftest.py) and the benchmark import.

Standard library only, Python 3.11. Each module has one job:

- `waiting`: `eventually`, the one way to wait for a condition (never a bare sleep);
- `processes`: free ports, child processes with captured JSON logs, signals, exit status,
  resident memory and CPU time; stopping one stops its whole session;
- `httpclient`: a tiny HTTP/1.1 client that times each answer, and raw requests for hostile ones;
- `binaries`: the release binaries of api-a, api-b and the poller, built once;
- `services`: each binary started with the environment it needs and awaited until ready;
- `redis`: a real `redis-server` on a free port, killable and restartable on the same port;
- `fixtures`: the providers' real response bodies, with any price put in;
- `exchange`: a fake exchange, one listener per provider, switchable at run time;
- `gateway`: the repository's `gateway/nginx.conf` run by a real nginx on loopback;
- `wrk`: the `wrk` load generator, run and its report parsed;
- `probe`: a normal client asking one URL in the background, every answer timed;
- `prometheus`: numbers read from a `/metrics` page;
- `pod`: Service A's pod (Redis, poller, api-a) against a fake exchange, the one way every suite
  and the benchmark start Service A;
- `prometheus_server`: Debian's Prometheus on a free loopback port, and its HTTP API;
- `floods`: many silent, slow-header or idle keep-alive connections at once, and when each was
  closed;
- `deaf`: clients that never read their answers (pipelined, or one large answer each);
- `fuzz`: a bounded, seeded generator of odd requests, mostly well-formed;
- `leaks`: the processes a run left behind (nginx workers, Redis, services);
- `schedule`: how `tests/run` runs the suites side by side.
"""
