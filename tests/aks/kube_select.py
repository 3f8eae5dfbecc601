"""The objects of a Kubernetes List that a `kubectl get` would return, for the kubectl stand-in:
those of the namespace, matching the label selector and the field selector as the API server
matches them (k8s.io/apimachinery labels and fields selectors).

  kube_select.py NAMESPACE LABEL_SELECTOR FIELD_SELECTOR < LIST   the filtered List on stdout

Label selectors: comma-separated requirements `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`,
`k` (exists) and `!k` (does not exist); a key or value outside Kubernetes' syntax is refused as
the API server refuses it. Field selectors: `metadata.name`, `metadata.namespace` and
`status.phase` with `=`, `==` or `!=` (what the API server supports for pods and ReplicaSets).
An empty NAMESPACE or selector matches everything.
"""

import json
import re
import sys

NAME = r"([a-z0-9A-Z]([-a-z0-9A-Z_.]*[a-z0-9A-Z])?)"
KEY = re.compile(rf"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?{NAME}$")
VALUE = re.compile(rf"^({NAME})?$")
SET = re.compile(r"^\s*(\S+)\s+(in|notin)\s+\(([^)]*)\)\s*$")
FIELDS = {"metadata.name", "metadata.namespace", "status.phase"}


class Invalid(Exception):
    pass


def split_requirements(selector):
    """The requirements of SELECTOR: commas inside (...) belong to a set."""
    parts, depth, current = [], 0, ""
    for char in selector:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current)
    return [part.strip() for part in parts if part.strip()]


def requirement(text):
    """A predicate on a label map, for one requirement of a label selector."""
    match = SET.match(text)
    if match:
        key, operator, values = match.group(1), match.group(2), {v.strip() for v in match.group(3).split(",")}
        check_key(key, text)
        for value in values:
            check_value(value, text)
        if operator == "in":
            return lambda labels: labels.get(key) in values
        return lambda labels: labels.get(key) not in values
    for operator in ("!=", "==", "="):
        if operator in text:
            key, value = (part.strip() for part in text.split(operator, 1))
            check_key(key, text)
            check_value(value, text)
            if operator == "!=":
                return lambda labels: labels.get(key) != value
            return lambda labels: labels.get(key) == value
    negated = text.startswith("!")
    key = text[1:].strip() if negated else text
    check_key(key, text)
    return (lambda labels: key not in labels) if negated else (lambda labels: key in labels)


def check_key(key, text):
    if not KEY.match(key) or len(key.split("/")[-1]) > 63:
        raise Invalid(f"unable to parse requirement: {text!r}: invalid label key {key!r}")


def check_value(value, text):
    if not VALUE.match(value) or len(value) > 63:
        raise Invalid(f"unable to parse requirement: {text!r}: invalid label value {value!r}")


def field(item, path):
    node = item
    for part in path.split("."):
        node = (node or {}).get(part)
    return node


def field_requirement(text):
    for operator in ("!=", "==", "="):
        if operator in text:
            path, value = (part.strip() for part in text.split(operator, 1))
            if path not in FIELDS:
                raise Invalid(f'field label not supported: {path}')
            if operator == "!=":
                return lambda item: field(item, path) != value
            return lambda item: field(item, path) == value
    raise Invalid(f"invalid selector: {text!r}; can't understand {text!r}")


def select(items, namespace, labels, fields):
    wanted = [requirement(text) for text in split_requirements(labels)]
    wanted_fields = [field_requirement(text) for text in split_requirements(fields)]
    return [item for item in items
            if (not namespace or item["metadata"].get("namespace") == namespace)
            and all(test(item["metadata"].get("labels") or {}) for test in wanted)
            and all(test(item) for test in wanted_fields)]


def main(argv):
    namespace, labels, fields = (argv[1:] + ["", "", ""])[:3]
    listing = json.load(sys.stdin)
    try:
        listing["items"] = select(listing["items"], namespace, labels, fields)
    except Invalid as invalid:
        print(f"Error from server (BadRequest): {invalid}", file=sys.stderr)
        return 1
    json.dump(listing, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
