"""The Services and routes of one rendered overlay: which ports are exposed, and which request
paths reach which Service, read the way the strictest controller reads them."""

from ratelimits import ANNOTATIONS as RATE_LIMITS

# Request paths and the namespace that must serve them (None: no route at all). Routing stops at a
# path segment: /service10 is not /service1.
EXPECTED_ROUTING = {
    "/service1": "service-a", "/service1/": "service-a", "/service1/current": "service-a",
    "/service1/average": "service-a", "/service1/history": "service-a", "/service1/openapi.json": "service-a",
    "/service1/assets/page.js": "service-a", "/service1/unknown": "service-a", "/service10": None,
    "/service1foo": None, "/service10/current": None, "/service2": "service-b",
    "/service2/": "service-b", "/service2x": None, "/service20/": None, "/": None, "/service": None,
}


def container_ports(objects, ns, selector):
    """Every containerPort (by name and number) of the pods a Service selects."""
    ports = {}
    for (kind, dns, _), dep in objects.items():
        pod_labels = dep["spec"]["template"]["metadata"]["labels"] if kind == "Deployment" else {}
        if dns == ns and pod_labels and all(pod_labels.get(k) == v for k, v in selector.items()):
            for c in dep["spec"]["template"]["spec"]["containers"]:
                for p in c.get("ports", []):
                    ports[p.get("name")] = p["containerPort"]
                    ports[p["containerPort"]] = p["containerPort"]
    return ports


def check_routes(objects, errors):
    """Services expose 8080 only; every route points at an existing Service of its namespace; each
    request path reaches the namespace it must, by whole path segment."""
    expected_services = {("service-a", "api-a"), ("service-b", "api-b")}
    services = {(ns, name): s for (kind, ns, name), s in objects.items() if kind == "Service"}
    if set(services) != expected_services:
        errors.append(f"Services must be exactly {sorted(expected_services)}, "
                      f"are {sorted(services)}")
    for (ns, name), svc in services.items():
        spec = svc["spec"]
        if spec.get("type", "ClusterIP") != "ClusterIP":
            errors.append(f"Service {ns}/{name}: not ClusterIP")
        targets = container_ports(objects, ns, spec.get("selector", {}))
        for port in spec["ports"]:
            target = targets.get(port.get("targetPort", port["port"]))
            if port["port"] != 80 or target != 8080:
                errors.append(f"Service {ns}/{name}: port {port['port']} -> {target}; only "
                              "80 -> 8080 may be exposed (not the poller's 9090, not Redis's 6379)")

    owners = {}
    for (kind, ns, name), obj in objects.items():
        if kind == "Ingress":
            check_ingress(obj, services, errors)
            for rule in obj["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    owners.setdefault(path["path"], set()).add(f"{ns}/{name}")
        if kind == "HTTPRoute":
            for rule in obj["spec"]["rules"]:
                for ref in rule.get("backendRefs", []):
                    target = (ref.get("namespace", ns), ref["name"])
                    if target not in services or ref.get("port") != 80:
                        errors.append(f"HTTPRoute {ns}/{name}: backend {ref} is not this "
                                      "namespace's Service port 80")
    # F5's NGINX Ingress Controller gives a path that two minions take, whatever their pathType,
    # to one of them only (buildMinionConfigs, internal/k8s/configuration.go).
    for path, ingresses in owners.items():
        if len(ingresses) > 1:
            errors.append(f"the path {path} is in several Ingresses, {sorted(ingresses)}: one of them loses it")
    check_routing(route_matches(objects), errors)


# F5's server-level annotations of components/https (checked in https.py).
SERVER_LEVEL = {"nginx.org/ssl-redirect", "nginx.org/hsts", "nginx.org/hsts-max-age",
                "nginx.org/hsts-include-subdomains"}


def host_of(ingress):
    """The host of an Ingress's rules (None: hostless); one host per Ingress in this project."""
    hosts = {rule.get("host") for rule in ingress["spec"].get("rules", [])}
    return hosts.pop() if len(hosts) == 1 else None


def check_ingress(obj, services, errors):
    ns, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
    spec = obj["spec"]
    if spec.get("ingressClassName") != "nginx":
        errors.append(f"Ingress {ns}/{name}: ingressClassName is not nginx")
    annotations = set(obj["metadata"].get("annotations", {}))
    extra = annotations - {"nginx.org/mergeable-ingress-type"} - SERVER_LEVEL - RATE_LIMITS
    if extra:
        errors.append(f"Ingress {ns}/{name}: controller-specific annotations {sorted(extra)}")
    for rule in spec.get("rules", []):
        for path in rule.get("http", {}).get("paths", []):
            backend = path["backend"]["service"]["name"]
            if (ns, backend) not in services:
                errors.append(f"Ingress {ns}/{name}: {path['path']} -> {backend}, not this "
                              "namespace's Service")


def route_matches(objects):
    """(kind of match, path, namespace) of every Ingress path and HTTPRoute match."""
    matches = []
    for (kind, ns, _), obj in objects.items():
        if kind == "Ingress":
            for rule in obj["spec"].get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    matches.append((path["pathType"], path["path"], ns))
        if kind == "HTTPRoute":
            for rule in obj["spec"]["rules"]:
                for match in rule.get("matches", []):
                    matches.append((match["path"]["type"], match["path"]["value"], ns))
    return matches


def routed_namespace(request_path, matches):
    """The namespace a request path reaches, read as F5's NGINX Ingress Controller reads routes:
    Exact is nginx `location =`, and a prefix is a plain string prefix (`location /p`), with no
    segment rule (generateIngressPath, internal/configs/ingress.go, github.com/nginx/
    kubernetes-ingress). Exact wins, then the longest prefix, as in nginx."""
    exact = [ns for kind, path, ns in matches if kind == "Exact" and path == request_path]
    if exact:
        return exact[0]
    prefixes = [(len(path), ns) for kind, path, ns in matches
                if kind in ("Prefix", "PathPrefix", "ImplementationSpecific")
                and request_path.startswith(path)]
    return max(prefixes)[1] if prefixes else None


def check_routing(matches, errors):
    if not matches:
        errors.append("no route at all (no Ingress path, no HTTPRoute match)")
        return
    for request_path, expected in EXPECTED_ROUTING.items():
        got = routed_namespace(request_path, matches)
        if got != expected:
            errors.append(f"a request for {request_path} reaches {got or 'nothing'}, must reach "
                          f"{expected or 'nothing'} (routes by whole path segment: {matches})")
