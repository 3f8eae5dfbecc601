"""The HTTPS invariants of one rendered overlay (components/https): one host on every route, TLS
from a cert-manager Certificate of that host, redirect and HSTS on the server, the ACME solver
reachable by the controller only. Overlays without TLS must have none of it."""

from routes import host_of

# F5's host-level annotations: on the master Ingress only (F5 ignores them on minions).
SERVER_ANNOTATIONS = {"nginx.org/ssl-redirect": "true", "nginx.org/hsts": "true",
                      "nginx.org/hsts-include-subdomains": "false"}
HSTS_MIN_SECONDS = 31536000
SOLVER_LABEL = ("acme.cert-manager.io/http01-solver", "true")


def of_kind(objects, kind):
    return [obj for (k, _, _), obj in objects.items() if k == kind]


def check_https(objects, errors):
    ingresses = of_kind(objects, "Ingress")
    with_tls = [i for i in ingresses if i["spec"].get("tls")]
    certificates = of_kind(objects, "Certificate")
    if not with_tls:
        if certificates or of_kind(objects, "ClusterIssuer"):
            errors.append("cert-manager objects without any TLS Ingress")
        return
    hosts = {host_of(i) for i in ingresses}
    if len(hosts) != 1 or None in hosts:
        errors.append(f"every Ingress must serve the one HTTPS host, found hosts {sorted(map(str, hosts))}")
        return
    (host,) = hosts
    if len(with_tls) != 1 or with_tls[0]["metadata"]["annotations"].get(
            "nginx.org/mergeable-ingress-type") != "master":
        errors.append("TLS belongs on the master Ingress only (F5 refuses it on minions)")
        return
    master = with_tls[0]
    ns, annotations = master["metadata"]["namespace"], master["metadata"]["annotations"]
    for key, value in SERVER_ANNOTATIONS.items():
        if annotations.get(key) != value:
            errors.append(f"Ingress {ns}/{master['metadata']['name']}: {key} must be {value!r}")
    if int(annotations.get("nginx.org/hsts-max-age", "0")) < HSTS_MIN_SECONDS:
        errors.append("HSTS max-age must be at least a year")
    check_certificate(objects, master, host, errors)
    check_solver_policy(objects, ns, errors)


def check_certificate(objects, master, host, errors):
    ns = master["metadata"]["namespace"]
    (tls,) = master["spec"]["tls"]
    certificate = next((c for c in of_kind(objects, "Certificate")
                        if c["metadata"]["namespace"] == ns
                        and c["spec"]["secretName"] == tls.get("secretName")), None)
    if certificate is None or tls.get("hosts") != [host]:
        errors.append(f"the master's TLS ({tls}) must be a Certificate's secret in {ns}, for {host}")
        return
    spec = certificate["spec"]
    if spec["dnsNames"] != [host]:
        errors.append(f"Certificate {ns}/{certificate['metadata']['name']}: dnsNames {spec['dnsNames']} "
                      f"is not the host {host}")
    if certificate["metadata"].get("annotations", {}).get(
            "cert-manager.io/issue-temporary-certificate") != "true":
        errors.append("the Certificate needs a temporary certificate until issued (F5 refuses TLS "
                      "handshakes without the Secret, and the redirect sends the ACME check there)")
    issuer = objects.get(("ClusterIssuer", None, spec["issuerRef"]["name"]))
    if spec["issuerRef"].get("kind") != "ClusterIssuer" or issuer is None:
        errors.append(f"Certificate issuer {spec['issuerRef']} is not a ClusterIssuer of the overlay")
        return
    solvers = issuer["spec"]["acme"]["solvers"]
    ingress = [s.get("http01", {}).get("ingress", {}) for s in solvers]
    if not ingress or any(
            i.get("ingressClassName") != "nginx"
            or i.get("ingressTemplate", {}).get("metadata", {}).get("annotations", {}).get(
                "nginx.org/mergeable-ingress-type") != "minion" for i in ingress):
        errors.append("every ACME solver must be HTTP-01 through IngressClass nginx, its Ingress a "
                      "minion of the master (F5 gives a host to one Ingress)")


def check_solver_policy(objects, ns, errors):
    policy = objects.get(("NetworkPolicy", ns, "allow-acme-solver-from-ingress-controller"), {})
    controller = objects.get(("NetworkPolicy", ns, "allow-from-ingress-controller"), {})
    spec = policy.get("spec", {})
    rules = spec.get("ingress", [])
    if spec.get("podSelector") != {"matchLabels": dict([SOLVER_LABEL])} or len(rules) != 1 \
            or rules[0].get("from") != controller.get("spec", {}).get("ingress", [{}])[0].get("from") \
            or rules[0].get("ports") != [{"protocol": "TCP", "port": 8089}]:
        errors.append(f"NetworkPolicy {ns}/allow-acme-solver-from-ingress-controller must admit "
                      "exactly the controller's peer to the solver pods on TCP 8089")
