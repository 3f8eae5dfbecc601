"""The per-client rate limits of every flavour's routes, read the way each controller reads them
(docs/configuration.md, What one client may ask; the same figures and the same split as
gateway/nginx.conf, checked in gateway_limits.py): api-a's dear routes (its page, /history, and
whatever else under /service1 is not named cheap) in one route, so one count, of 5 requests a
second with bursts of 20; its cheap routes, each named and each a route of its OpenAPI document,
and api-b's at 20 with bursts of 40, in a route per service; refused at once with 429 where the
route can say so. The AKS application routing add-on's Gateway API implementation has no means to
limit a client (a documented gap, manifests/README.md): its routes must carry none, rather than
one it would ignore or refuse."""

import json
import re
from pathlib import Path

GENERAL = (20, 40)
DEAR = (5, 20)
# Request paths and the (rate, burst) one client meets on each. The dear ones share one count.
LIMITS = {
    "/service1": DEAR, "/service1/": DEAR, "/service1/history": DEAR, "/service1/unknown": DEAR,
    "/service1/current\n": DEAR,
    "/service1/current": GENERAL, "/service1/average": GENERAL, "/service1/openapi.json": GENERAL,
    "/service1/assets/page.js": GENERAL, "/service2": GENERAL, "/service2/": GENERAL,
}  # fmt: skip
DEAR_PATHS = [path for path, limit in LIMITS.items() if limit == DEAR]
API_A_DOCUMENT = Path(__file__).resolve().parents[2] / "docs" / "openapi" / "api-a.json"

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


def matches_of(route):
    """(type, path) of each path of an Ingress or match of an HTTPRoute."""
    if route["kind"] == "Ingress":
        return [(p["pathType"], p["path"]) for rule in route["spec"].get("rules", [])
                for p in rule.get("http", {}).get("paths", [])]
    return [(m["path"]["type"], m["path"]["value"]) for rule in route["spec"]["rules"]
            for m in rule.get("matches", [])]


def route_of(request_path, routes):
    """The key of the route serving `request_path`, read as routes.routed_namespace reads routes
    (F5's way: Exact first, then the longest plain prefix)."""
    exact = [key for key, route in routes.items()
             if ("Exact", request_path) in matches_of(route)]
    if exact:
        return exact[0]
    prefixes = [(len(path), key) for key, route in routes.items() for kind, path in matches_of(route)
                if kind in ("Prefix", "PathPrefix") and request_path.startswith(path)]
    return max(prefixes)[1] if prefixes else None


def check_split(routes, errors):
    """The dear paths in one route (one count), each cheap path of api-a a route of its OpenAPI
    document (a renamed route must not leave a name behind)."""
    dear = {route_of(path, routes) for path in DEAR_PATHS}
    if len(dear) != 1:
        errors.append(f"the dear paths {DEAR_PATHS} are served by {sorted(map(str, dear))}, not one route")
    documented = json.loads(API_A_DOCUMENT.read_text())["paths"]
    for key, route in routes.items():
        if key in dear:
            continue
        for kind, path in matches_of(route):
            named = path in documented if kind == "Exact" else any(p.startswith(path) for p in documented)
            if path.startswith("/service1") and not named:
                errors.append(f"{key}: {path} ({kind}) is no route of api-a ({API_A_DOCUMENT.name})")


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
    routes = {key: obj for key, obj in objects.items()
              if key[0] == ("HTTPRoute" if gateway_api else "Ingress") and matches_of(obj)}
    if not routes:
        errors.append(f"{overlay}: no route to limit")
        return
    check_split(routes, errors)
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
    for request_path, expected in LIMITS.items():
        key = route_of(request_path, routes)
        if key is None:
            errors.append(f"{request_path}: no route")
            continue
        route, (_, ns, name) = routes[key], key
        where = f"{route['kind']} {ns}/{name} (serving {request_path})"
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
