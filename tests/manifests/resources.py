"""Reading and writing rendered manifests, shared by the checks."""

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
