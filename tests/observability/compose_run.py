"""The compose profile for real: `python3 -m observability.compose_run PROMETHEUS_URL GATEWAY_URL`
checks a stack brought up with `docker compose --profile observability up` (by
tests/suites/observability.sh, with the stack suite's fake upstream): Prometheus scrapes its
three targets, all up; it loaded the shipped rules and evaluates them without error; and the
price it scraped from the poller, inside pod A, is the one the gateway serves. Exits 1 if not.
"""

from __future__ import annotations

import sys

from harness import httpclient
from harness.waiting import NotInTime, eventually

from . import rendering
from .prometheus_server import PrometheusApi

# The shipped config scrapes and evaluates every 15 s: a few rounds of that.
PATIENCE = 120.0


def main(prometheus_url: str, gateway_url: str) -> int:
    prometheus = PrometheusApi(prometheus_url)
    shipped = rendering.load(rendering.SHIPPED / "prometheus.yml")
    jobs = {job["job_name"] for job in shipped["scrape_configs"]}
    rules = {r["alert"] for g in rendering.load(rendering.SHIPPED / "alerts.yaml")["groups"] for r in g["rules"]}
    try:
        served = eventually(lambda: httpclient.get(f"{gateway_url}/service1/current").json()["price"], PATIENCE, "a price through the gateway")
        print(f"ok: the gateway serves the price {served}")
        up = eventually(lambda: all_up(prometheus, jobs), PATIENCE, f"Prometheus scrapes {sorted(jobs)}, all up")
        print(f"ok: targets up: {', '.join(sorted(up))}")
        loaded = eventually(lambda: evaluated(prometheus), PATIENCE, "every rule evaluated")
        assert {r["name"] for r in loaded} == rules, f"loaded {sorted(r['name'] for r in loaded)}, shipped {sorted(rules)}"
        broken = [f"{r['name']}: {r.get('lastError')}" for r in loaded if r["health"] != "ok"]
        assert not broken, f"rules failing: {broken}"
        print(f"ok: {len(loaded)} alerting rules loaded and evaluated without error")
        scraped = eventually(lambda: scraped_price(prometheus, served), PATIENCE, f"poller_last_price_usd = {served}")
        print(f"ok: Prometheus scraped the poller's price {scraped} from pod A")
    except (NotInTime, AssertionError) as err:
        print(f"FAILED: {err}")
        return 1
    return 0


def all_up(prometheus: PrometheusApi, jobs: set[str]) -> set[str] | None:
    targets = prometheus.targets()
    found = {t["labels"]["job"] for t in targets if t["health"] == "up"}
    return found if found == jobs and len(targets) == len(jobs) else None


def evaluated(prometheus: PrometheusApi) -> list[dict] | None:
    rules = prometheus.alerting_rules()
    return rules if rules and all(r["health"] != "unknown" for r in rules) else None


def scraped_price(prometheus: PrometheusApi, served: float) -> float | None:
    values = [float(sample["value"][1]) for sample in prometheus.query("poller_last_price_usd")]
    return values[0] if len(values) == 1 and abs(values[0] - served) < 0.005 else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
