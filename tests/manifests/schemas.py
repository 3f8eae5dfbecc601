"""Strict schemas for the custom-resource kinds this project renders (kubernetes-validate knows
only the built-in kinds)."""

import re

import jsonschema

from resources import ident

# kubernetes-validate knows only the built-in kinds; for the custom kinds these schemas stand in.
# They cover exactly the fields this project uses, and refuse every other field
# (additionalProperties: false), so a typo or an invented field fails like `--strict` does.
# Field names, types, enums and required fields are those of the upstream APIs:
#   Gateway API v1 (sigs.k8s.io/gateway-api apis/v1: Gateway, Listener, AllowedRoutes,
#     RouteNamespaces, RouteGroupKind, HTTPRoute, ParentReference, HTTPRouteRule,
#     HTTPRouteMatch, HTTPPathMatch, HTTPBackendRef);
#   cert-manager Certificate and ClusterIssuer v1 (github.com/cert-manager/cert-manager v1.21,
#     deploy/crds/cert-manager.io_certificates.yaml and cert-manager.io_clusterissuers.yaml);
#   Prometheus Operator PodMonitor and PrometheusRule v1 (github.com/prometheus-operator/
#     prometheus-operator v0.93, example/prometheus-operator-crd/monitoring.coreos.com_podmonitors
#     .yaml and monitoring.coreos.com_prometheusrules.yaml);
#   NGINX Gateway Fabric RateLimitPolicy v1alpha1 (github.com/nginx/nginx-gateway-fabric v2.4,
#     apis/v1alpha1/ratelimitpolicy_types.go and config/crd/bases/
#     gateway.nginx.org_ratelimitpolicies.yaml);
#   Azure Monitor managed Prometheus PodMonitor v1 (github.com/Azure/prometheus-collector,
#     otelcollector/deploy/addon-chart/azure-monitor-metrics-addon/templates/
#     ama-metrics-podmonitor-crd.yaml: the operator's fields in group azmonitoring.coreos.com,
#     with minor differences, e.g. scheme lowercase only).

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

RATE_LIMIT_POLICY = resource("gateway.nginx.org/v1alpha1", "RateLimitPolicy", closed({
    "targetRefs": {"type": "array", "minItems": 1, "maxItems": 16, "items": closed({
        "group": {"const": "gateway.networking.k8s.io"},
        "kind": {"enum": ["Gateway", "HTTPRoute", "GRPCRoute"]},
        "name": OBJECT_NAME,
    }, required=("group", "kind", "name"))},
    "rateLimit": closed({
        "dryRun": {"type": "boolean"},
        "logLevel": {"enum": ["info", "notice", "warn", "error"]},
        "rejectCode": {"type": "integer", "minimum": 400, "maximum": 599},
        "local": closed({
            "rules": {"type": "array", "items": {
                **closed({
                    "zoneSize": {"type": "string", "pattern": r"^\d{1,4}(k|m|g)?$"},
                    "delay": {"type": "integer", "minimum": 0},
                    "noDelay": {"type": "boolean"},
                    "burst": {"type": "integer", "minimum": 0},
                    "rate": {"type": "string", "pattern": r"^\d+r/[sm]$"},
                    "key": {"type": "string", "pattern": r"^(?:[^ \t\r\n;{}#$]+|\$\w+)+$"},
                }, required=("rate", "key")),
                # NoDelay cannot be true when Delay is also set (the CRD's CEL rule).
                "not": {"required": ["noDelay", "delay"], "properties": {"noDelay": {"const": True}}},
            }},
        }),
    }),
}, required=("targetRefs",)))

DNS_NAME = {"type": "string", "maxLength": 253,
            "pattern": r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?\.)+[a-z]([-a-z0-9]*[a-z0-9])?$"}

CERTIFICATE = resource("cert-manager.io/v1", "Certificate", closed({
    "secretName": DNS_LABEL,
    "dnsNames": {"type": "array", "minItems": 1, "items": DNS_NAME},
    "issuerRef": closed({
        "group": {"type": "string"}, "kind": {"enum": ["Issuer", "ClusterIssuer"]},
        "name": OBJECT_NAME,
    }, required=("name",)),
    "privateKey": closed({
        "algorithm": {"enum": ["RSA", "ECDSA", "Ed25519"]},
        "size": {"type": "integer"},
        "rotationPolicy": {"enum": ["Never", "Always"]},
    }),
}, required=("secretName", "issuerRef")))

OBJECT_META_TEMPLATE = closed({"labels": LABELS, "annotations": LABELS})

CLUSTER_ISSUER = resource("cert-manager.io/v1", "ClusterIssuer", closed({
    "acme": closed({
        "server": {"type": "string", "pattern": "^https://"},
        "email": {"type": "string"},
        "privateKeySecretRef": closed({"name": DNS_LABEL, "key": {"type": "string"}},
                                      required=("name",)),
        "solvers": {"type": "array", "minItems": 1, "items": closed({
            "http01": closed({
                "ingress": closed({
                    "ingressClassName": {"type": "string"},
                    "ingressTemplate": closed({"metadata": OBJECT_META_TEMPLATE}),
                    "podTemplate": closed({"metadata": OBJECT_META_TEMPLATE}),
                }),
            }),
        })},
    }, required=("server", "privateKeySecretRef")),
}), namespaced=False)

# Prometheus durations as the operator's CRDs pattern them (Duration).
DURATION = {"type": "string", "pattern":
            r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}
COUNT = {"type": "integer", "minimum": 0}
RELABEL_ACTIONS = ["replace", "Replace", "keep", "Keep", "drop", "Drop", "hashmod", "HashMod",
                   "labelmap", "LabelMap", "labeldrop", "LabelDrop", "labelkeep", "LabelKeep",
                   "lowercase", "Lowercase", "uppercase", "Uppercase", "keepequal", "KeepEqual",
                   "dropequal", "DropEqual"]


def pod_monitor(api_version, schemes):
    return resource(api_version, "PodMonitor", closed({
        "selector": LABEL_SELECTOR,
        "namespaceSelector": closed({"any": {"type": "boolean"},
                                     "matchNames": {"type": "array", "items": {"type": "string"}}}),
        "jobLabel": {"type": "string"},
        "podTargetLabels": {"type": "array", "items": {"type": "string"}},
        "sampleLimit": COUNT,
        "labelLimit": COUNT,
        "labelNameLengthLimit": COUNT,
        "labelValueLengthLimit": COUNT,
        "podMetricsEndpoints": {"type": "array", "items": closed({
            "port": {"type": "string"},
            "portNumber": PORT,
            "path": {"type": "string"},
            "scheme": {"enum": schemes},
            "interval": DURATION,
            "scrapeTimeout": DURATION,
            "honorLabels": {"type": "boolean"},
            "relabelings": {"type": "array", "items": closed({
                "action": {"enum": RELABEL_ACTIONS},
                "sourceLabels": {"type": "array",
                                 "items": {"type": "string", "pattern": "^[a-zA-Z_][a-zA-Z0-9_]*$"}},
                "separator": {"type": "string"},
                "targetLabel": {"type": "string"},
                "regex": {"type": "string"},
                "modulus": COUNT,
                "replacement": {"type": "string"},
            })},
        })},
    }, required=("selector",)))


PROMETHEUS_RULE = resource("monitoring.coreos.com/v1", "PrometheusRule", closed({
    "groups": {"type": "array", "items": closed({
        "name": {"type": "string", "minLength": 1},
        "interval": DURATION,
        "query_offset": DURATION,
        "limit": {"type": "integer"},
        "labels": LABELS,
        "partial_response_strategy": {"type": "string", "pattern": "^(?i)(abort|warn)?$"},
        "rules": {"type": "array", "items": {
            **closed({
                "alert": {"type": "string"},
                "record": {"type": "string"},
                "expr": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
                "for": DURATION,
                "keep_firing_for": {**DURATION, "minLength": 1},
                "labels": LABELS,
                "annotations": LABELS,
            }, required=("expr",)),
            # Prometheus's rule format: a rule is an alert or a recording rule, never both.
            "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
        }},
    }, required=("name",))},
}))

CUSTOM_SCHEMAS = {
    ("cert-manager.io/v1", "Certificate"): CERTIFICATE,
    ("cert-manager.io/v1", "ClusterIssuer"): CLUSTER_ISSUER,
    ("gateway.networking.k8s.io/v1", "Gateway"): GATEWAY,
    ("gateway.networking.k8s.io/v1", "HTTPRoute"): HTTP_ROUTE,
    ("gateway.nginx.org/v1alpha1", "RateLimitPolicy"): RATE_LIMIT_POLICY,
    ("monitoring.coreos.com/v1", "PodMonitor"):
        pod_monitor("monitoring.coreos.com/v1", ["http", "https", "HTTP", "HTTPS"]),
    ("monitoring.coreos.com/v1", "PrometheusRule"): PROMETHEUS_RULE,
    ("azmonitoring.coreos.com/v1", "PodMonitor"):
        pod_monitor("azmonitoring.coreos.com/v1", ["http", "https"]),
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
