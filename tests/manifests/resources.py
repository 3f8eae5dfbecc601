"""Reading and writing rendered manifests, shared by the checks."""

import re

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


def selects(selector, labels):
    return all(labels.get(k) == v for k, v in (selector or {}).get("matchLabels", {}).items())


# Kubernetes label values: at most 63 characters, alphanumeric at both ends, -_. inside.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def valid_label_value(value):
    return LABEL_VALUE.match(str(value)) is not None and len(str(value)) <= 63
