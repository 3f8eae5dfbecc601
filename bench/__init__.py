"""The benchmark suite: throughput, latency, memory and CPU of the whole stack on one
machine in one run, with nginx as the yardstick. `bench/run` is the command; each module has one
job:

- `settings`: the knobs (ROUNDS, DURATION...), read once from the environment;
- `targets`: what is measured under load, one line per target, and the windows api-a holds;
- `stack`: everything measured, started on loopback (pods per window, api-b, nginx, gateways);
- `rest`: the pods' CPU and memory at rest;
- `load`: the targets under wrk, round after round, and the idle keep-alive connections;
- `footprint`: binary sizes, exec to ready, the poller's CPU per tick, image sizes;
- `figures`: every figure of a run, and the medians;
- `goals`: the benchmark's goals, judged (printed, never enforced);
- `report`: the tables, the machine's description and RESULTS.md.

It reuses the test harness (`tests/harness`: processes, redis-server, release binaries, fake
exchange, the gateway's nginx, wrk, idle-connection floods).
"""
