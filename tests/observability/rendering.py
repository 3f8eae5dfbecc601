"""The live test's Prometheus config and rules, made from the ones the repository ships, so the
test runs exactly their jobs and alert expressions.

- The config keeps the shipped jobs, each pointed at a loopback target, with shorter scrape and
  evaluation intervals.
- The rules are the shipped ones with every duration shortened by one factor: each `for:` and
  each range selector (`[15m]`). `observability/alerts.yaml` keeps durations there only (its
  thresholds are not durations, or come from the services' metrics such as the poll interval),
  so a shortened copy fires for the same reasons, sooner. `promtool test rules` tests the real
  durations.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

# What the repository ships: the rules, the local stack's config, the dashboard.
SHIPPED = Path(__file__).resolve().parents[2] / "observability"
UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# One Prometheus duration made of a single unit (what the rules use): 90s, 5m, 1h.
DURATION = re.compile(r"^(\d+)(ms|s|m|h|d)$")
# A range selector or the range of a subquery: [5m], [15m:1m]; a duration `seconds` cannot
# read (e.g. [1h30m]) is matched too, so that it is refused rather than left long.
RANGE = re.compile(r"\[(\d[0-9a-z]*)(?=[]:])")


def seconds(duration: str) -> float:
    match = DURATION.match(duration)
    if not match:
        raise ValueError(f"not a single-unit Prometheus duration: {duration!r}")
    return int(match.group(1)) * UNITS[match.group(2)]


def shortened(duration: str, factor: int, shortest: float) -> str:
    """`duration` divided by `factor`, at least `shortest` seconds, in whole seconds."""
    return f"{max(shortest, seconds(duration) / factor):.0f}s"


def shortened_rules(rules: dict, factor: int, shortest: float) -> dict:
    """A copy of a rule file (as loaded) with every `for:` and range selector shortened."""
    copy = yaml.safe_load(yaml.safe_dump(rules))
    for group in copy["groups"]:
        for rule in group["rules"]:
            if "for" in rule:
                rule["for"] = shortened(rule["for"], factor, shortest)
            rule["expr"] = RANGE.sub(lambda m: "[" + shortened(m.group(1), factor, shortest), rule["expr"])
    return copy


def scrape_config(shipped: dict, targets: dict[str, str], interval: str, rule_file: Path) -> dict:
    """The shipped config with each job's targets replaced by `targets[job]`, every interval set
    to `interval`, and `rule_file` as the only rule file. Every shipped job must have a target:
    the test scrapes what the stack scrapes, no more, no less."""
    config = yaml.safe_load(yaml.safe_dump(shipped))
    jobs = [job["job_name"] for job in config["scrape_configs"]]
    if sorted(jobs) != sorted(targets):
        raise ValueError(f"the shipped jobs are {sorted(jobs)}, the test has targets for {sorted(targets)}")
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    config["global"].update(scrape_interval=interval, evaluation_interval=interval, scrape_timeout=interval)
    config["rule_files"] = [str(rule_file)]
    return config


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def write(path: Path, document: dict) -> Path:
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
