"""The monitoring invariants of one rendered overlay (components/prometheus-operator or
components/azure-monitor, each with components/metrics-policy): the PodMonitors scrape exactly
the three metrics endpoints, the scraper's NetworkPolicy opens exactly the ports they scrape to
exactly one peer, and the PrometheusRule holds exactly the rules of observability/alerts.yaml.
Overlays without monitoring must have none of it."""

import yaml

from alert_rules import REPO, rules_groups
from resources import APP_NAMESPACES, selects, valid_label_value

# What is scraped, by job name (the local stack's, observability/prometheus.yml): the namespace,
# the container serving /metrics and its port.
SCRAPE_JOBS = {
    "api-a": ("service-a", "api-a", 8080),
    "poller": ("service-a", "poller", 9090),
    "api-b": ("service-b", "api-b", 8080),
}
POLICY = "allow-from-metrics-scraper"
PROMETHEUS_OPERATOR = "monitoring.coreos.com/v1"
AZURE_MONITOR = "azmonitoring.coreos.com/v1"
# learn.microsoft.com/azure/azure-monitor/containers/prometheus-metrics-scrape-crd: use these
# limits "so that they are not dropped during processing".
AZURE_LABEL_LIMITS = {"labelLimit": 63, "labelNameLengthLimit": 511, "labelValueLengthLimit": 1023}


def local_scrape_interval():
    with open(REPO / "observability/prometheus.yml") as f:
        return yaml.safe_load(f)["global"]["scrape_interval"]


def of_kind(objects, kind):
    return [obj for (k, _, _), obj in objects.items() if k == kind]


def check_monitoring(objects, errors):
    monitors = of_kind(objects, "PodMonitor")
    rules = of_kind(objects, "PrometheusRule")
    policies = {ns: objects.get(("NetworkPolicy", ns, POLICY)) for ns in APP_NAMESPACES}
    if not monitors and not rules and not any(policies.values()):
        return
    flavours = {m["apiVersion"] for m in monitors}
    if len(flavours) != 1:
        errors.append(f"expected the PodMonitors of one monitoring flavour, found {sorted(flavours)}")
        return
    scraped = check_pod_monitors(objects, monitors, errors)
    check_scraper_policy(objects, policies, scraped, errors)
    (flavour,) = flavours
    if flavour == PROMETHEUS_OPERATOR:
        check_prometheus_operator(monitors, rules, policies, errors)
    elif rules:
        errors.append("PrometheusRules are read by the Prometheus Operator only; Azure Monitor's "
                      "rules are Azure resources (manifests/README.md)")
    if flavour == AZURE_MONITOR:
        for monitor in monitors:
            limits = {key: monitor["spec"].get(key) for key in AZURE_LABEL_LIMITS}
            if limits != AZURE_LABEL_LIMITS:
                errors.append(f"PodMonitor {monitor['metadata']['namespace']}/"
                              f"{monitor['metadata']['name']}: label limits {limits}, Azure "
                              f"documents {AZURE_LABEL_LIMITS}")


def check_pod_monitors(objects, monitors, errors):
    """Each endpoint resolved to (job, namespace, container, port) through the pod template of
    the Deployment the PodMonitor selects; returns the TCP ports scraped per namespace."""
    interval = local_scrape_interval()
    found, scraped = {}, {ns: set() for ns in APP_NAMESPACES}
    for monitor in monitors:
        ns, spec = monitor["metadata"]["namespace"], monitor["spec"]
        where = f"PodMonitor {ns}/{monitor['metadata']['name']}"
        if spec.get("namespaceSelector") not in (None, {"any": False}):
            errors.append(f"{where}: must select pods of its own namespace only")
        selected = [d for d in of_kind(objects, "Deployment") if d["metadata"]["namespace"] == ns
                    and selects(spec["selector"], d["spec"]["template"]["metadata"]["labels"])]
        if len(selected) != 1 or spec["selector"].get("matchExpressions"):
            errors.append(f"{where}: its selector must match the labels of one Deployment's pods")
            continue
        ports = {p.get("name"): (c["name"], p["containerPort"])
                 for c in selected[0]["spec"]["template"]["spec"]["containers"]
                 for p in c.get("ports", []) if p.get("protocol", "TCP") == "TCP"}
        for endpoint in spec["podMetricsEndpoints"]:
            jobs = [r.get("replacement") for r in endpoint.get("relabelings", [])
                    if r.get("targetLabel") == "job" and r.get("action", "replace") == "replace"]
            if len(jobs) != 1 or endpoint["port"] not in ports:
                errors.append(f"{where}: endpoint {endpoint} needs one named container port and "
                              "one job name")
                continue
            if endpoint.get("path") != "/metrics" or endpoint.get("scheme", "http") != "http" \
                    or endpoint.get("interval") != interval:
                errors.append(f"{where}: endpoint {endpoint['port']} must scrape http /metrics "
                              f"every {interval} (the local stack's scrape_interval)")
            found[jobs[0]] = (ns, *ports[endpoint["port"]])
            scraped[ns].add(ports[endpoint["port"]][1])
    if found != SCRAPE_JOBS:
        errors.append(f"the PodMonitors scrape {found}, expected {SCRAPE_JOBS}")
    return scraped


def check_scraper_policy(objects, policies, scraped, errors):
    """In each namespace: the Deployment's pods, one rule, one peer (a namespace by name AND pod
    labels, no placeholder left), the same in both namespaces, and exactly the scraped ports."""
    peers = []
    for ns, policy in policies.items():
        where = f"NetworkPolicy {ns}/{POLICY}"
        if policy is None:
            errors.append(f"{where}: missing (the scraper could reach nothing in {ns})")
            continue
        spec = policy["spec"]
        (deployment,) = [d for d in of_kind(objects, "Deployment") if d["metadata"]["namespace"] == ns]
        rules = spec.get("ingress", [])
        if spec.get("podSelector") != deployment["spec"]["selector"] \
                or spec.get("policyTypes") != ["Ingress"] or len(rules) != 1 \
                or len(rules[0].get("from", [])) != 1:
            errors.append(f"{where}: must select {ns}'s pods, with one ingress rule of one peer")
            continue
        peer = rules[0]["from"][0]
        namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
        pods = peer.get("podSelector", {}).get("matchLabels", {})
        if list(namespace) != ["kubernetes.io/metadata.name"] or not pods or set(peer) != {
                "namespaceSelector", "podSelector"}:
            errors.append(f"{where}: the peer must name one namespace and the scraper's pod labels")
        bad = [v for v in [*namespace.values(), *pods.values()] if not valid_label_value(v)]
        if bad:
            errors.append(f"{where}: invalid label values {bad} (a monitoring component's peer "
                          "patch missing?)")
        wanted = [{"protocol": "TCP", "port": port} for port in sorted(scraped[ns])]
        if rules[0].get("ports") != wanted:
            errors.append(f"{where}: ports must be exactly the scraped ones {wanted}, are "
                          f"{rules[0].get('ports')}")
        peers.append(peer)
    if len(peers) == 2 and peers[0] != peers[1]:
        errors.append(f"{POLICY} admits different peers in service-a and service-b")


def check_prometheus_operator(monitors, rules, policies, errors):
    """kube-prometheus-stack selects PodMonitors and PrometheusRules by its release name, and
    its Prometheus pods are named after it: all three must name the same release."""
    releases = {obj["metadata"].get("labels", {}).get("release") for obj in monitors + rules}
    peer = (policies["service-a"] or {}).get("spec", {}).get("ingress", [{}])[0].get("from", [{}])[0]
    instance = peer.get("podSelector", {}).get("matchLabels", {}).get("operator.prometheus.io/name")
    if len(releases) != 1 or None in releases or instance != f"{next(iter(releases))}-prometheus":
        errors.append(f"the PodMonitors and PrometheusRule must carry one release label and the "
                      f"scraper be its <release>-prometheus: releases {releases}, Prometheus "
                      f"{instance}")
    if len(rules) != 1 or rules[0]["spec"] != {"groups": rules_groups()}:
        errors.append("expected one PrometheusRule whose groups are exactly those of "
                      "observability/alerts.yaml (.venv/bin/python tests/manifests/checks.py prometheus-rule --write)")
