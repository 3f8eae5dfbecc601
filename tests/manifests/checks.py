"""Offline checks of the rendered manifests that no installed tool makes.

    python3 tests/manifests/checks.py core-objects RENDERED OUT
        Write OUT with every object of RENDERED that kubernetes-validate knows (core Kubernetes
        kinds); check the custom-resource kinds this project uses (Gateway API, AKS app routing)
        against strict schemas and fail on any other custom kind.
    python3 tests/manifests/checks.py custom-resources FILE...
        Check custom resources (e.g. manifests/controllers/*.yaml) against those strict schemas.
    python3 tests/manifests/checks.py invariants OVERLAY RENDERED
        Check the hardening, availability and isolation invariants of one rendered overlay.
    python3 tests/manifests/checks.py nca-input RENDERED STAND_INS OUT_DIR
        Write what network-config-analyzer needs (namespaces, workloads, NetworkPolicies) from
        RENDERED plus the stand-ins into OUT_DIR.
    python3 tests/manifests/checks.py loosen MUTATION FILE
        Loosen the NetworkPolicies in FILE (an nca input) in one of the ways the analysis must
        notice: controller-from-any-namespace, private-range-opened, all-ports-to-public,
        b-default-deny-removed.

Every check prints one line per failure and the command exits 1 if there was any.
"""

import re
import sys
from pathlib import Path

import jsonschema
import yaml

APP_NAMESPACES = ("service-a", "service-b")
PART_OF = ("app.kubernetes.io/part-of", "btc-price")


def load(path):
    with open(path) as f:
        return [doc for doc in yaml.safe_load_all(f) if doc]


def dump(docs, path):
    with open(path, "w") as f:
        yaml.safe_dump_all(docs, f, sort_keys=False)


def ident(obj):
    meta = obj.get("metadata", {})
    ns = meta.get("namespace")
    return f"{obj.get('kind')} {ns + '/' if ns else ''}{meta.get('name')}"


# --- custom resources -------------------------------------------------------------------------
# kubernetes-validate knows only the built-in kinds; for the custom kinds these schemas stand in.
# They cover exactly the fields this project uses, and refuse every other field
# (additionalProperties: false), so a typo or an invented field fails like `--strict` does.
# Field names, types, enums and required fields are those of the upstream APIs:
#   Gateway API v1 (sigs.k8s.io/gateway-api apis/v1: Gateway, Listener, AllowedRoutes,
#     RouteNamespaces, RouteGroupKind, HTTPRoute, ParentReference, HTTPRouteRule,
#     HTTPRouteMatch, HTTPPathMatch, HTTPBackendRef);
#   AKS app routing NginxIngressController v1alpha1 (github.com/Azure/aks-app-routing-operator,
#     config/crd/bases/approuting.kubernetes.azure.com_nginxingresscontrollers.yaml).

DNS_LABEL = {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63}
OBJECT_NAME = {"type": "string", "minLength": 1, "maxLength": 253}
PORT = {"type": "integer", "minimum": 1, "maximum": 65535}
LABELS = {"type": "object", "additionalProperties": {"type": "string"}}


def closed(properties, required=()):
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def resource(api_version, kind, spec, namespaced=True):
    metadata = closed(
        {"name": OBJECT_NAME, "namespace": DNS_LABEL, "labels": LABELS, "annotations": LABELS},
        required=("name", "namespace") if namespaced else ("name",),
    )
    if not namespaced:
        del metadata["properties"]["namespace"]
    return closed(
        {"apiVersion": {"const": api_version}, "kind": {"const": kind}, "metadata": metadata,
         "spec": spec},
        required=("apiVersion", "kind", "metadata", "spec"),
    )


LABEL_SELECTOR = closed({
    "matchLabels": LABELS,
    "matchExpressions": {"type": "array", "items": closed({
        "key": {"type": "string"},
        "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
        "values": {"type": "array", "items": {"type": "string"}},
    }, required=("key", "operator"))},
})

GATEWAY = resource("gateway.networking.k8s.io/v1", "Gateway", closed({
    "gatewayClassName": OBJECT_NAME,
    "listeners": {"type": "array", "minItems": 1, "maxItems": 64, "items": closed({
        "name": DNS_LABEL,
        "port": PORT,
        "protocol": {"type": "string"},
        "hostname": {"type": "string"},
        "allowedRoutes": closed({
            "namespaces": closed({
                "from": {"enum": ["All", "Same", "Selector", "None"]},
                "selector": LABEL_SELECTOR,
            }),
            "kinds": {"type": "array", "items": closed(
                {"group": {"type": "string"}, "kind": {"type": "string"}}, required=("kind",))},
        }),
    }, required=("name", "port", "protocol"))},
}, required=("gatewayClassName", "listeners")))

HTTP_ROUTE = resource("gateway.networking.k8s.io/v1", "HTTPRoute", closed({
    "parentRefs": {"type": "array", "maxItems": 32, "items": closed({
        "group": {"type": "string"},
        "kind": {"type": "string"},
        "name": OBJECT_NAME,
        "namespace": DNS_LABEL,
        "sectionName": DNS_LABEL,
        "port": PORT,
    }, required=("name",))},
    "hostnames": {"type": "array", "items": {"type": "string"}},
    "rules": {"type": "array", "minItems": 1, "maxItems": 16, "items": closed({
        "name": DNS_LABEL,
        "matches": {"type": "array", "maxItems": 64, "items": closed({
            "path": closed({
                "type": {"enum": ["Exact", "PathPrefix", "RegularExpression"]},
                "value": {"type": "string", "pattern": "^/", "maxLength": 1024},
            }),
        })},
        "backendRefs": {"type": "array", "maxItems": 16, "items": closed({
            "group": {"type": "string"},
            "kind": {"type": "string"},
            "name": OBJECT_NAME,
            "namespace": DNS_LABEL,
            "port": PORT,
            "weight": {"type": "integer", "minimum": 0, "maximum": 1000000},
        }, required=("name",))},
    })},
}))

NGINX_INGRESS_CONTROLLER = resource(
    "approuting.kubernetes.azure.com/v1alpha1", "NginxIngressController", closed({
        "ingressClassName": {"type": "string", "pattern": r"^[a-z0-9][-a-z0-9\.]*[a-z0-9]$",
                             "minLength": 1, "maxLength": 253},
        "controllerNamePrefix": {"type": "string", "pattern": r"^[a-z0-9][-a-z0-9]*[a-z0-9]$",
                                 "minLength": 1, "maxLength": 60},
        "loadBalancerAnnotations": LABELS,
    }, required=("controllerNamePrefix", "ingressClassName")),
    namespaced=False,
)

CUSTOM_SCHEMAS = {
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
    ("approuting.kubernetes.azure.com/v1alpha1", "NginxIngressController"):
        NGINX_INGRESS_CONTROLLER,
}

# API groups that kubernetes-validate knows (built-in Kubernetes APIs).
CORE_GROUPS = re.compile(
    r"^(v1|[a-z.]*k8s\.io/v[0-9a-z]+|(apps|autoscaling|batch|policy)/v[0-9a-z]+)$")


def check_custom(obj, errors):
    schema = CUSTOM_SCHEMAS.get((obj.get("apiVersion"), obj.get("kind")))
    if schema is None:
        errors.append(f"{ident(obj)}: unknown custom kind {obj.get('apiVersion')}; add a schema")
        return
    for error in jsonschema.Draft202012Validator(schema).iter_errors(obj):
        where = "/".join(str(p) for p in error.absolute_path)
        errors.append(f"{ident(obj)}: {where}: {error.message}")


def is_core(obj):
    version = obj.get("apiVersion", "")
    return CORE_GROUPS.match(version) is not None and not version.startswith(
        "gateway.networking.k8s.io/")


def cmd_core_objects(rendered, out):
    errors, core = [], []
    for obj in load(rendered):
        if is_core(obj):
            core.append(obj)
        else:
            check_custom(obj, errors)
    dump(core, out)
    return errors


def cmd_custom_resources(*files):
    errors = []
    for path in files:
        for obj in load(path):
            check_custom(obj, errors)
    return errors


# --- invariants -------------------------------------------------------------------------------

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


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


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
    env = {e["name"]: e.get("value") for e in c.get("env", [])}
    if "SHUTDOWN_DELAY" in env and duration_seconds(env["SHUTDOWN_DELAY"]) >= grace:
        fail(f"SHUTDOWN_DELAY {env['SHUTDOWN_DELAY']} is not below "
             f"terminationGracePeriodSeconds {grace}")
    sleep = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds")
    if sleep is not None and sleep >= grace:
        fail(f"preStop sleep {sleep}s is not below terminationGracePeriodSeconds {grace}")


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
        if c["image"].startswith("docker.io/library/redis:"):
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
    """Services expose 8080 only; every route points at an existing Service of its namespace."""
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

    prefixes = {"service-a": "/service1", "service-b": "/service2"}
    for (kind, ns, name), obj in objects.items():
        if kind == "Ingress":
            spec = obj["spec"]
            if spec.get("ingressClassName") != "nginx":
                errors.append(f"Ingress {ns}/{name}: ingressClassName is not nginx")
            annotations = set(obj["metadata"].get("annotations", {}))
            extra = annotations - {"nginx.org/mergeable-ingress-type"}
            if extra:
                errors.append(f"Ingress {ns}/{name}: controller-specific annotations "
                              f"{sorted(extra)}")
            for rule in spec.get("rules", []):
                for path in rule.get("http", {}).get("paths", []):
                    backend = path["backend"]["service"]["name"]
                    if (path["pathType"], path["path"]) != ("Prefix", prefixes.get(ns)) or \
                            (ns, backend) not in services:
                        errors.append(f"Ingress {ns}/{name}: {path['pathType']} {path['path']} -> "
                                      f"{backend}; expected Prefix {prefixes.get(ns)} to this "
                                      "namespace's Service")
        if kind == "HTTPRoute":
            for rule in obj["spec"]["rules"]:
                for match in rule.get("matches", []):
                    path = (match["path"]["type"], match["path"]["value"])
                    if path != ("PathPrefix", prefixes.get(ns)):
                        errors.append(f"HTTPRoute {ns}/{name}: unexpected match {match['path']}")
                for ref in rule.get("backendRefs", []):
                    target = (ref.get("namespace", ns), ref["name"])
                    if target not in services or ref.get("port") != 80:
                        errors.append(f"HTTPRoute {ns}/{name}: backend {ref} is not this "
                                      "namespace's Service port 80")


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
    check_routes(objects, errors)
    check_isolation_and_rbac(objects, errors)
    return [f"{overlay}: {e}" for e in errors]


# --- network-config-analyzer input ------------------------------------------------------------

def cmd_nca_input(rendered, stand_ins, out_dir):
    """nca models Ingress and Gateway objects itself; the NetworkPolicies are what is under test,
    so it gets namespaces, workloads and policies only."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    kinds = {"Namespace", "Deployment", "NetworkPolicy"}
    docs = [d for d in load(rendered) if d["kind"] in kinds]
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Namespace"}
    dump(docs, out / "rendered.yaml")
    for path in sorted(Path(stand_ins).glob("*.yaml")):
        extra = [d for d in load(path)
                 if not (d["kind"] == "Namespace" and d["metadata"]["name"] in names)]
        dump(extra, out / path.name)
    return []


def policy(docs, namespace, name):
    return next(d for d in docs if d["kind"] == "NetworkPolicy"
                and (d["metadata"]["namespace"], d["metadata"]["name"]) == (namespace, name))


def cmd_loosen(mutation, path):
    """Realistic mistakes: the controller admitted from any namespace (an impostor with copied
    labels gets in), 10.0.0.0/8 no longer excepted, Service A's public egress on every port,
    Service B's default deny gone."""
    docs = load(path)
    if mutation == "controller-from-any-namespace":
        for ns in APP_NAMESPACES:
            for rule in policy(docs, ns, "allow-from-ingress-controller")["spec"]["ingress"]:
                for peer in rule["from"]:
                    peer["namespaceSelector"] = {}
    elif mutation == "private-range-opened":
        for rule in policy(docs, "service-a", "service-a-egress")["spec"]["egress"]:
            for peer in rule["to"]:
                if "ipBlock" in peer:
                    peer["ipBlock"]["except"].remove("10.0.0.0/8")
    elif mutation == "all-ports-to-public":
        for rule in policy(docs, "service-a", "service-a-egress")["spec"]["egress"]:
            if any("ipBlock" in peer for peer in rule["to"]):
                del rule["ports"]
    elif mutation == "b-default-deny-removed":
        docs.remove(policy(docs, "service-b", "default-deny-all"))
    else:
        return [f"unknown mutation {mutation}"]
    dump(docs, path)
    return []


COMMANDS = {
    "core-objects": cmd_core_objects,
    "custom-resources": cmd_custom_resources,
    "invariants": cmd_invariants,
    "nca-input": cmd_nca_input,
    "loosen": cmd_loosen,
}


def main(argv):
    if len(argv) < 2 or argv[1] not in COMMANDS:
        sys.exit(__doc__)
    errors = COMMANDS[argv[1]](*argv[2:])
    for error in errors:
        print(f"FAIL {error}")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
