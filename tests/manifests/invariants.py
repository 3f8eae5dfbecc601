"""The hardening, availability, routing and isolation invariants of one rendered overlay."""

import re

from resources import APP_NAMESPACES, PART_OF, ident, load, selects, valid_label_value
from https import check_https
from monitoring import check_monitoring
from ratelimits import check_rate_limits
from routes import check_routes

def duration_seconds(text):
    """Durations as the services write them: 500ms, 10s, 10m, 1h."""
    match = re.fullmatch(r"(\d+)(ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a duration: {text!r}")
    value, unit = int(match.group(1)), match.group(2)
    return value * {"ms": 0.001, "s": 1, "m": 60, "h": 3600}[unit]


def memory_bytes(text):
    match = re.fullmatch(r"(\d+)(Ki|Mi|Gi|kb|mb|gb)?", str(text))
    if not match:
        raise ValueError(f"not a memory size: {text!r}")
    factors = {None: 1, "Ki": 1024, "Mi": 1024**2, "Gi": 1024**3,
               # redis-server: 1kb = 1024 bytes, 1mb = 1024*1024, 1gb = 1024^3
               "kb": 1024, "mb": 1024**2, "gb": 1024**3}
    return int(match.group(1)) * factors[match.group(2)]


def check_container(where, c, grace, errors):
    def fail(message):
        errors.append(f"{where} container {c['name']}: {message}")

    resources = c.get("resources", {})
    for kind in ("requests", "limits"):
        for res in ("cpu", "memory"):
            if res not in resources.get(kind, {}):
                fail(f"no {kind}.{res}")
    for probe in ("livenessProbe", "readinessProbe"):
        if probe not in c:
            fail(f"no {probe}")
    sc = c.get("securityContext", {})
    expected = {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                "readOnlyRootFilesystem": True}
    for key, value in expected.items():
        if sc.get(key) is not value:
            fail(f"securityContext.{key} is not {value}")
    for key in ("runAsUser", "runAsGroup"):
        if not isinstance(sc.get(key), int) or sc.get(key) <= 0:
            fail(f"securityContext.{key} is not a numeric non-root id")
    caps = sc.get("capabilities", {})
    if "ALL" not in caps.get("drop", []) or caps.get("add"):
        fail("capabilities: must drop ALL and add none")
    if sc.get("seccompProfile", {}).get("type") != "RuntimeDefault":
        fail("seccompProfile is not RuntimeDefault")
    if sc.get("privileged"):
        fail("privileged")
    image = c.get("image", "")
    tag = image.rsplit(":", 1)[1] if ":" in image.rsplit("/", 1)[-1] else ""
    if not tag or tag == "latest":
        fail(f"image {image!r} has no fixed tag")
    # The project's own images run as a high UID (checkov CKV_K8S_40 is skipped globally because
    # the official Redis image's user is 999; this keeps the rule for everything else).
    if "btc-price/" in image and sc.get("runAsUser", 0) < 10000:
        fail("the project's images run as UID >= 10000")
    for port in c.get("ports", []):
        if "hostPort" in port:
            fail("hostPort")
    budget, parts = shutdown_budget(c, fail)
    if budget >= grace:
        fail(f"stops in up to {budget:g}s ({parts}), not within terminationGracePeriodSeconds "
             f"{grace}: the kubelet would kill it mid-drain")


def shutdown_budget(c, fail):
    """How long the container may take to stop once the pod is deleted, and what it is made of:
    its preStop sleep, then for the project's services SHUTDOWN_DELAY (readiness 503, listener
    open) and DRAIN_TIMEOUT (in-flight requests; then the connections left are closed), which
    each service container must state (the defaults live in the code, not here)."""
    sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    budget, parts = sleep, [f"preStop sleep {sleep}s"] if sleep else []
    if "btc-price/" in c.get("image", ""):
        env = {e["name"]: e.get("value") for e in c.get("env", [])}
        for name in ("SHUTDOWN_DELAY", "DRAIN_TIMEOUT"):
            if name not in env:
                fail(f"does not set {name}: the grace period cannot be checked against it")
                continue
            budget += duration_seconds(env[name])
            parts.append(f"{name} {env[name]}")
    return budget, " + ".join(parts) or "nothing to wait for"


def check_redis(where, c, volumes, errors):
    def fail(message):
        errors.append(f"{where} container {c['name']}: {message}")

    if c.get("command") != ["redis-server"]:
        fail("must run redis-server directly")
    args = c.get("args", [])
    options = {args[i]: args[i + 1] for i in range(0, len(args) - 1, 2)}
    wanted = {"--bind": "127.0.0.1", "--protected-mode": "yes", "--appendonly": "yes",
              "--appendfsync": "everysec", "--save": "", "--dir": "/data",
              "--maxmemory-policy": "noeviction"}
    for option, value in wanted.items():
        if options.get(option) != value:
            fail(f"{option} must be {value!r}, is {options.get(option)!r}")
    limit = memory_bytes(c.get("resources", {}).get("limits", {}).get("memory", "0"))
    maxmemory = memory_bytes(options.get("--maxmemory", "0"))
    if not 0 < maxmemory <= limit // 2:
        fail(f"--maxmemory {options.get('--maxmemory')} must be at most half the memory limit")
    ping = ["redis-cli", "-h", "127.0.0.1", "ping"]
    for probe in ("livenessProbe", "readinessProbe"):
        if c.get(probe, {}).get("exec", {}).get("command") != ping:
            fail(f"{probe} must exec {' '.join(ping)}")
    mounts = {m["mountPath"]: m["name"] for m in c.get("volumeMounts", [])}
    volume = volumes.get(mounts.get("/data"), {})
    if "sizeLimit" not in volume.get("emptyDir", {}):
        fail("/data must be an emptyDir with a sizeLimit")
        return
    # The append-only file doubles before Redis rewrites it, and a rewrite writes a new copy
    # beside the old one: the threshold (Redis's default 64mb) must leave that room.
    rewrite_at = memory_bytes(options.get("--auto-aof-rewrite-min-size", "64mb"))
    if rewrite_at * 4 > memory_bytes(volume["emptyDir"]["sizeLimit"]):
        fail(f"--auto-aof-rewrite-min-size {options.get('--auto-aof-rewrite-min-size', '64mb')} "
             "must be at most a quarter of /data's sizeLimit")


# Settings that several containers of one pod read and that must agree, by Deployment
# (namespace, name): api-a averages over the window whose samples the poller keeps, both in the
# pod's one Redis (docs/configuration.md).
SHARED_SETTINGS = {
    ("service-a", "service-a"): {
        "AVERAGE_WINDOW": ("api-a", "poller"),
        "REDIS_URL": ("api-a", "poller"),
    },
}


def check_shared_settings(dep, errors):
    meta = dep["metadata"]
    containers = {c["name"]: c for c in dep["spec"]["template"]["spec"]["containers"]}
    for variable, readers in SHARED_SETTINGS.get((meta["namespace"], meta["name"]), {}).items():
        values = {}
        for name in readers:
            env = {e["name"]: e.get("value") for e in containers.get(name, {}).get("env", [])}
            if not env.get(variable):
                errors.append(f"{ident(dep)} container {name}: does not set {variable}, which "
                              f"{', '.join(readers)} must all get")
            values[name] = env.get(variable)
        if len(set(values.values())) > 1:
            errors.append(f"{ident(dep)}: {variable} differs between its readers: "
                          + ", ".join(f"{name}={value!r}" for name, value in values.items()))


def check_workload(dep, objects, errors):
    where = ident(dep)
    ns = dep["metadata"]["namespace"]
    template = dep["spec"]["template"]
    labels = template["metadata"].get("labels", {})
    pod = template["spec"]

    if "replicas" in dep["spec"]:
        # The HPA (minReplicas >= 2, checked below) owns the count: every kubectl apply would
        # reset a scaled-out Deployment to a fixed one.
        errors.append(f"{where}: sets replicas, which belong to its HorizontalPodAutoscaler")
    if pod.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: automountServiceAccountToken is not false")
    sa = objects.get(("ServiceAccount", ns, pod.get("serviceAccountName")))
    if sa is None or sa.get("automountServiceAccountToken") is not False:
        errors.append(f"{where}: needs its own ServiceAccount with "
                      "automountServiceAccountToken false")
    for flag in ("hostNetwork", "hostPID", "hostIPC"):
        if pod.get(flag):
            errors.append(f"{where}: {flag}")
    psc = pod.get("securityContext", {})
    seccomp = psc.get("seccompProfile", {}).get("type")
    if psc.get("runAsNonRoot") is not True or seccomp != "RuntimeDefault":
        errors.append(f"{where}: pod securityContext needs runAsNonRoot and RuntimeDefault seccomp")
    spread = {t["topologyKey"]: t for t in pod.get("topologySpreadConstraints", [])}
    for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname"):
        if key not in spread or not selects(spread[key].get("labelSelector"), labels):
            errors.append(f"{where}: no topology spread over {key} selecting its own pods")

    grace = pod.get("terminationGracePeriodSeconds", 30)
    volumes = {v["name"]: v for v in pod.get("volumes", [])}
    for c in pod.get("initContainers", []) + pod["containers"]:
        check_container(where, c, grace, errors)
        # The official image, by its public name (base) or as the registry's copy (overlays).
        if re.search(r"(^|/)library/redis[:@]", c["image"]):
            check_redis(where, c, volumes, errors)

    hpas = [h for (kind, hns, _), h in objects.items() if kind == "HorizontalPodAutoscaler"
            and hns == ns and h["spec"]["scaleTargetRef"]["name"] == dep["metadata"]["name"]]
    if not any(h["apiVersion"] == "autoscaling/v2" and h["spec"].get("minReplicas", 1) >= 2
               for h in hpas):
        errors.append(f"{where}: no autoscaling/v2 HorizontalPodAutoscaler with minReplicas >= 2")
    if not any(kind == "PodDisruptionBudget" and pns == ns
               and selects(p["spec"].get("selector"), labels)
               for (kind, pns, _), p in objects.items()):
        errors.append(f"{where}: no PodDisruptionBudget selecting its pods")


def check_controller_policy(objects, errors):
    """allow-from-ingress-controller: in both namespaces, the same single peer (a namespace by
    name AND the controller's pod labels, all valid label values, so no placeholder of
    components/controller-policy is left), to TCP 8080 only."""
    peers = {}
    for ns in APP_NAMESPACES:
        where = f"NetworkPolicy {ns}/allow-from-ingress-controller"
        spec = objects.get(("NetworkPolicy", ns, "allow-from-ingress-controller"), {}).get("spec")
        if spec is None:
            errors.append(f"{where}: missing (no request would reach {ns})")
            continue
        rules = spec.get("ingress", [])
        if spec.get("policyTypes") != ["Ingress"] or len(rules) != 1 \
                or len(rules[0].get("from", [])) != 1:
            errors.append(f"{where}: must be one ingress rule with one peer")
            continue
        peer = rules[0]["from"][0]
        namespace = peer.get("namespaceSelector", {}).get("matchLabels", {})
        pods = peer.get("podSelector", {}).get("matchLabels", {})
        if list(namespace) != ["kubernetes.io/metadata.name"] or not pods:
            errors.append(f"{where}: the peer must name one namespace and the controller's pod labels")
        bad = [v for v in list(namespace.values()) + list(pods.values()) if not valid_label_value(v)]
        if bad:
            errors.append(f"{where}: invalid label values {bad} (a flavour's peer patch missing?)")
        if rules[0].get("ports") != [{"protocol": "TCP", "port": 8080}]:
            errors.append(f"{where}: ports must be exactly TCP 8080, are {rules[0].get('ports')}")
        peers[ns] = peer
    if len(peers) == 2 and peers["service-a"] != peers["service-b"]:
        errors.append("allow-from-ingress-controller admits different peers in service-a and "
                      "service-b")


def check_isolation_and_rbac(objects, errors):
    for ns in APP_NAMESPACES:
        labels = objects.get(("Namespace", None, ns), {}).get("metadata", {}).get("labels", {})
        if labels.get("pod-security.kubernetes.io/enforce") != "restricted":
            errors.append(f"Namespace {ns}: Pod Security Admission restricted is not enforced")
        deny = objects.get(("NetworkPolicy", ns, "default-deny-all"), {}).get("spec", {})
        types = sorted(deny.get("policyTypes", []))
        if deny.get("podSelector") != {} or types != ["Egress", "Ingress"]:
            errors.append(f"Namespace {ns}: no default deny of all ingress and egress")
    for (kind, ns, name), obj in objects.items():
        if kind in ("Role", "ClusterRole"):
            for rule in obj.get("rules", []):
                if any("*" in rule.get(key, []) for key in ("apiGroups", "resources", "verbs")):
                    errors.append(f"{kind} {name}: wildcard in {rule}")
                if {"escalate", "bind", "impersonate"} & set(rule.get("verbs", [])):
                    errors.append(f"{kind} {name}: privilege-escalation verb in {rule}")
                if "secrets" in rule.get("resources", []):
                    errors.append(f"{kind} {name}: access to Secrets")
        if kind in ("RoleBinding", "ClusterRoleBinding"):
            for subject in obj.get("subjects", []):
                if subject["kind"] == "ServiceAccount":
                    errors.append(f"{kind} {name}: binds ServiceAccount {subject['name']}; "
                                  "workloads get no API access")


def cmd_invariants(overlay, rendered):
    errors = []
    docs = load(rendered)
    objects = {(d["kind"], d["metadata"].get("namespace"), d["metadata"]["name"]): d for d in docs}
    for obj in docs:
        if obj["metadata"].get("labels", {}).get(PART_OF[0]) != PART_OF[1]:
            errors.append(f"{ident(obj)}: not labelled {PART_OF[0]}={PART_OF[1]}")
    deployments = [d for d in docs if d["kind"] == "Deployment"]
    if sorted(d["metadata"]["namespace"] for d in deployments) != list(APP_NAMESPACES):
        errors.append(f"{overlay}: expected one Deployment per app namespace")
    for dep in deployments:
        check_workload(dep, objects, errors)
        check_shared_settings(dep, errors)
    check_routes(objects, errors)
    check_rate_limits(overlay, objects, errors)
    check_controller_policy(objects, errors)
    check_https(objects, errors)
    check_monitoring(objects, errors)
    check_isolation_and_rbac(objects, errors)
    return [f"{overlay}: {e}" for e in errors]
