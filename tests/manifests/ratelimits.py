"""The per-client rate limits of every flavour's routes, read the way each controller reads them:
20 requests a second with bursts of 40 per route, 5 with bursts of 20 for /service1/history
(alone in its route), refused at once with 429 where the route can say so (docs/configuration.md,
What one client may ask; the same figures as gateway/nginx.conf). The AKS application routing
add-on's Gateway API implementation has no means to limit a client (a documented gap,
manifests/README.md): its routes must carry none, rather than one it would ignore or refuse."""

import re

GENERAL = (20, 40)
HISTORY = (5, 20)
HISTORY_PATH = "/service1/history"

F5 = "nginx.org/"
COMMUNITY = "nginx.ingress.kubernetes.io/"
# The annotations each controller reads for its rate limits: the only controller-specific ones a
# route may carry besides F5's mergeable type (tests/manifests/routes.py).
ANNOTATIONS = {
    F5 + name for name in ("limit-req-rate", "limit-req-burst", "limit-req-no-delay",
                           "limit-req-reject-code", "limit-req-scale")
} | {COMMUNITY + name for name in ("limit-rps", "limit-burst-multiplier")}


def flavour(overlay):
    for prefix, name in (("f5-nginx-ingress", "f5"), ("ingress-nginx", "community"),
                         ("app-routing", "app-routing"), ("gateway-fabric", "gateway-fabric")):
        if overlay.startswith(prefix):
            return name
    raise ValueError(f"no known controller flavour for overlay {overlay}")


def paths_of(route):
    if route["kind"] == "Ingress":
        return [p["path"] for rule in route["spec"].get("rules", [])
                for p in rule.get("http", {}).get("paths", [])]
    return [m["path"]["value"] for rule in route["spec"]["rules"] for m in rule.get("matches", [])]


def expected_limit(route, where, errors):
    paths = paths_of(route)
    if HISTORY_PATH in paths and paths != [HISTORY_PATH]:
        errors.append(f"{where}: {HISTORY_PATH} shares its route with {paths}: it needs its own limit")
    return HISTORY if HISTORY_PATH in paths else GENERAL


def ingress_limit(annotations, kind, where, errors):
    """(rate, burst) of an Ingress for the flavour `kind`, the refusal checked too."""
    def need(key, value):
        if annotations.get(key) != value:
            errors.append(f"{where}: {key} is {annotations.get(key)!r}, not {value!r}")

    if kind == "f5":
        rate = re.fullmatch(r"(\d+)r/s", annotations.get(F5 + "limit-req-rate", ""))
        need(F5 + "limit-req-no-delay", "true")
        need(F5 + "limit-req-reject-code", "429")
        need(F5 + "limit-req-scale", "true")
        burst = annotations.get(F5 + "limit-req-burst", "")
        if not rate or not burst.isdigit():
            return None
        return int(rate.group(1)), int(burst)
    # ingress-nginx: the refusal's status is the controller's ConfigMap's (limit-req-status-code),
    # set at install (aks/ingress/ingress-nginx.values.yaml).
    rps = annotations.get(COMMUNITY + "limit-rps", "")
    multiplier = annotations.get(COMMUNITY + "limit-burst-multiplier", "5")
    if not rps.isdigit() or not multiplier.isdigit():
        return None
    return int(rps), int(rps) * int(multiplier)


def policy_limit(policy, where, errors):
    """(rate, burst) of an NGINX Gateway Fabric RateLimitPolicy, the refusal checked too."""
    spec = policy["spec"]["rateLimit"]
    rules = spec.get("local", {}).get("rules", [])
    if len(rules) != 1:
        errors.append(f"{where}: {len(rules)} rate limit rules, not one")
        return None
    rule = rules[0]
    if spec.get("rejectCode") != 429 or rule.get("noDelay") is not True:
        errors.append(f"{where}: refusals are not an immediate 429")
    if rule.get("key") != "$binary_remote_addr":
        errors.append(f"{where}: the key {rule.get('key')!r} is not the client address")
    rate = re.fullmatch(r"(\d+)r/s", rule.get("rate", ""))
    return (int(rate.group(1)), rule.get("burst")) if rate else None


def check_rate_limits(overlay, objects, errors):
    kind = flavour(overlay)
    gateway_api = kind in ("gateway-fabric", "app-routing")
    routes = [(obj, ns, name) for (k, ns, name), obj in objects.items()
              if k == ("HTTPRoute" if gateway_api else "Ingress") and paths_of(obj)]
    if not routes:
        errors.append(f"{overlay}: no route to limit")
    policies = {}
    for (k, ns, name), obj in objects.items():
        if k == "RateLimitPolicy":
            for ref in obj["spec"]["targetRefs"]:
                policies.setdefault((ns, ref["kind"], ref["name"]), []).append(obj)
    if kind == "app-routing":
        if policies:
            errors.append(f"{overlay}: RateLimitPolicies {sorted(policies)}, which approuting-istio "
                          "neither reads nor has the CRD of")
        return
    for route, ns, name in routes:
        where = f"{route['kind']} {ns}/{name}"
        expected = expected_limit(route, where, errors)
        if kind == "gateway-fabric":
            attached = policies.get((ns, "HTTPRoute", name), [])
            if len(attached) != 1:
                errors.append(f"{where}: {len(attached)} RateLimitPolicies, not one")
                continue
            got = policy_limit(attached[0], where, errors)
        else:
            got = ingress_limit(route["metadata"].get("annotations", {}), kind, where, errors)
        if got != expected:
            errors.append(f"{where}: per-client limit {got} (rate, burst), not {expected}")
