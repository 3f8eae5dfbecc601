"""The compose file's observability profile, checked on the config `docker compose` renders with
`--profile observability` (test_compose.py):

- Prometheus is in the `observability` profile and nothing else is (the stack is unchanged
  without it), in neither pod A's network namespace nor Service B's, and A and B still share
  no network while Prometheus shares one with each;
- each job of `observability/prometheus.yml` scrapes the service of its name, on the host
  and port that service listens on, over a network Prometheus shares with it;
- Prometheus runs hardened like the rest, its rules and config mounted read-only, its UI
  published on loopback only.
"""

from __future__ import annotations


PROFILE = "observability"
SERVICE = "prometheus"
POD_A = "pod-a"
POD_A_CONTAINERS = {"api-a", "poller", "redis"}
SERVICE_B = "api-b"
CONFIG_DIR = "/etc/prometheus"


def networks(service: dict) -> set[str]:
    """The networks a service joins (the rendered config lists them as a mapping or a list)."""
    return set(service.get("networks") or ())


def namespace_owner(services: dict, name: str) -> str:
    """The service whose network namespace `name` runs in (itself unless it joins another's)."""
    mode = services[name].get("network_mode", "")
    return mode.removeprefix("service:") if mode.startswith("service:") else name


def published_on_loopback_only(ports: list) -> bool:
    for port in ports:
        host_ip = port.get("host_ip") if isinstance(port, dict) else str(port).split(":")[0]
        if host_ip != "127.0.0.1":
            return False
    return True


def listen_port(service: dict) -> str:
    return str(service.get("environment", {}).get("LISTEN_ADDR", "")).rsplit(":", 1)[-1]


def checks(rendered: dict, scrape: dict) -> list[tuple[bool, str]]:
    services = rendered["services"]
    prometheus = services.get(SERVICE)
    if prometheus is None:
        return [(False, f"no service {SERVICE} in the rendered config")]
    in_profile = sorted(name for name, s in services.items() if s.get("profiles"))
    pod_a = {name for name in services if namespace_owner(services, name) == POD_A}
    shared_ab = networks(services[POD_A]) & networks(services[SERVICE_B])
    results = [
        (prometheus.get("profiles") == [PROFILE], f"{SERVICE} is in the profile {PROFILE!r} alone: {prometheus.get('profiles')}"),
        (in_profile == [SERVICE], f"no other service has a profile (the stack without it is unchanged): {in_profile}"),
        ("network_mode" not in prometheus, f"{SERVICE} has a network namespace of its own (network_mode: {prometheus.get('network_mode')})"),
        (pod_a == POD_A_CONTAINERS | {POD_A}, f"pod A's namespace holds {sorted(pod_a)} only (not {SERVICE})"),
        (namespace_owner(services, SERVICE_B) == SERVICE_B and SERVICE not in {namespace_owner(services, n) for n in services if n != SERVICE},
         f"{SERVICE} is not in {SERVICE_B}'s namespace, and nothing joins {SERVICE}'s"),
        (not shared_ab, f"pod A and {SERVICE_B} share no network: {sorted(shared_ab) or 'none'}"),
        (bool(networks(prometheus) & networks(services[POD_A])) and bool(networks(prometheus) & networks(services[SERVICE_B])),
         f"{SERVICE} shares a network with pod A and with {SERVICE_B}: {sorted(networks(prometheus))}"),
        (networks(prometheus) <= networks(services[POD_A]) | networks(services[SERVICE_B]),
         f"{SERVICE} joins no other network: {sorted(networks(prometheus))}"),
        (published_on_loopback_only(prometheus.get("ports", [])), f"{SERVICE}'s UI is published on 127.0.0.1 only: {prometheus.get('ports')}"),
        (prometheus.get("read_only") is True and prometheus.get("cap_drop") == ["ALL"]
         and "no-new-privileges:true" in prometheus.get("security_opt", [])
         and str(prometheus.get("user", "0")).split(":")[0] not in ("0", "root"),
         f"{SERVICE} is hardened: read-only root, no capabilities, no-new-privileges, non-root user {prometheus.get('user')}"),
        (any(str(v).endswith(f"/observability:{CONFIG_DIR}:ro") for v in prometheus.get("volumes", [])) or any(
            isinstance(v, dict) and v.get("target") == CONFIG_DIR and v.get("read_only") for v in prometheus.get("volumes", [])),
         f"observability/ is mounted read-only at {CONFIG_DIR}"),
        (f"--config.file={CONFIG_DIR}/prometheus.yml" in prometheus.get("command", []),
         f"{SERVICE} reads {CONFIG_DIR}/prometheus.yml"),
    ]  # fmt: skip
    for job in scrape["scrape_configs"]:
        name = job["job_name"]
        targets = [t for c in job["static_configs"] for t in c["targets"]]
        if name not in services:
            results.append((False, f"job {name}: no service of that name"))
            continue
        host = namespace_owner(services, name)
        expected = f"{host}:{listen_port(services[name])}"
        reachable = bool(networks(prometheus) & networks(services[host]))
        results.append((targets == [expected] and reachable, f"job {name} scrapes {targets}: {name} listens on {expected}, over a shared network: {reachable}"))
    return results
