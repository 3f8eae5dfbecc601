"""An image's SBOM and the dependency policy agree on what ships: `sbom.py ROOT TARGET SBOM...`.

- TARGET, the platform the image's binary is built for, is one of deny.toml's [graph] targets:
  cargo-deny resolves target-specific and cfg-gated dependencies for those platforms only, so a
  build for another one could ship crates the policy never saw;
- the SBOM (CycloneDX, cargo cyclonedx --target TARGET) lists exactly the crates the workspace
  resolves for its binary on TARGET (normal and build dependencies, as cargo metadata
  --filter-platform resolves them), each at the locked version;
- every component has a purl (pkg:cargo/<name>@<version>; one built from a path only for the
  workspace's own crates) and a scope (required, or excluded for what only a build script uses);
- every component's licence expression is one deny.toml admits: its allow-list, or the crate's
  named exception (OR takes either side, AND needs both, WITH counts as the whole term).

The stack suite runs the same checks on the SBOM each image carries (inventory.py).
"""

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

SCOPES = {"required", "excluded"}


class Disagreement(Exception):
    pass


def policy(root):
    with open(Path(root) / "deny.toml", "rb") as handle:
        config = tomllib.load(handle)
    licences = config.get("licenses", {})
    exceptions = {entry["crate"]: set(entry.get("allow", [])) for entry in licences.get("exceptions", [])}
    targets = [t if isinstance(t, str) else t.get("triple") for t in config.get("graph", {}).get("targets", [])]
    return set(licences.get("allow", [])), exceptions, targets


def admitted(expression, allowed):
    """Whether the SPDX EXPRESSION is satisfied by the licences ALLOWED."""
    tokens = re.findall(r"\(|\)|[A-Za-z0-9.+-]+(?:\s+WITH\s+[A-Za-z0-9.+-]+)?", expression)
    position = 0

    def term():
        nonlocal position
        token = tokens[position]
        position += 1
        if token == "(":
            value = either()
            position += 1  # ")"
            return value
        return " ".join(token.split()) in allowed

    def both():
        nonlocal position
        value = term()
        while position < len(tokens) and tokens[position] == "AND":
            position += 1
            value = term() and value
        return value

    def either():
        nonlocal position
        value = both()
        while position < len(tokens) and tokens[position] == "OR":
            position += 1
            value = both() or value
        return value

    try:
        result = either()
    except IndexError:
        return False
    return result and position == len(tokens)


def resolved(root, target):
    """(packages by id, resolve nodes by id, workspace member ids) for TARGET."""
    metadata = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--locked", "--offline", "--filter-platform", target],
        cwd=root, check=True, capture_output=True, text=True).stdout)
    return ({p["id"]: p for p in metadata["packages"]}, {n["id"]: n for n in metadata["resolve"]["nodes"]},
            set(metadata["workspace_members"]))


def shipped(graph, name):
    """{(name, version): package} of the crates the workspace member NAME is built from."""
    packages, nodes, members = graph
    (start,) = [i for i in members if packages[i]["name"] == name]
    seen, queue = set(), [start]
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        for dep in nodes[current]["deps"]:
            if any(kind["kind"] in (None, "build") for kind in dep["dep_kinds"]):
                queue.append(dep["pkg"])
    return {(packages[i]["name"], packages[i]["version"]): packages[i] for i in seen}


def licences_of(component):
    return [entry.get("expression") or entry.get("license", {}).get("id") or entry.get("license", {}).get("name")
            for entry in component.get("licenses", [])]


def check_sbom(root, target, sbom, graph=None):
    """Problems of SBOM against the policy and the graph of its binary on TARGET; (name, count)."""
    allow, exceptions, targets = policy(root)
    problems = []
    if target not in targets:
        problems.append(f"{target} is not among deny.toml's [graph] targets {targets}: the policy never resolved "
                        "what this build ships")
    with open(sbom, encoding="utf-8") as handle:
        bom = json.load(handle)
    if bom.get("bomFormat") != "CycloneDX":
        raise Disagreement(f"{sbom}: not a CycloneDX document")
    name = bom["metadata"]["component"]["name"]
    graph = graph or resolved(root, target)
    packages, _, members = graph
    expected = shipped(graph, name)
    member_names = {packages[i]["name"] for i in members}
    listed = {}
    for component in [bom["metadata"]["component"]] + bom.get("components", []):
        key = (component.get("name"), component.get("version"))
        listed[key] = component
        what = f"{sbom}: {key[0]} {key[1]}"
        purl = component.get("purl", "")
        if not re.match(rf"^pkg:cargo/{re.escape(key[0])}@{re.escape(key[1] or '')}(\?|$)", purl):
            problems.append(f"{what}: purl {purl!r} is not pkg:cargo/{key[0]}@{key[1]}")
        elif "download_url=file:" in purl and key[0] not in member_names:
            problems.append(f"{what}: built from a path ({purl}) but not one of the workspace's crates")
        if component.get("scope") not in SCOPES:
            problems.append(f"{what}: scope {component.get('scope')!r}, not one of {sorted(SCOPES)}")
        expressions = [x for x in licences_of(component) if x]
        if not expressions:
            problems.append(f"{what}: no licence")
        elif key[0] not in member_names and not any(
                admitted(x, allow | exceptions.get(key[0], set())) for x in expressions):
            problems.append(f"{what}: licence {expressions} is not admitted by deny.toml")
    for key in sorted(set(expected) - set(listed)):
        problems.append(f"{sbom}: {key[0]} {key[1]} goes into {name} on {target} but is not listed")
    for key in sorted(set(listed) - set(expected)):
        problems.append(f"{sbom}: lists {key[0]} {key[1]}, which {name} is not built from on {target}")
    return problems, name, len(listed)


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    root, target, paths = argv[1], argv[2], argv[3:]
    graph = resolved(root, target)
    problems, lines = [], []
    for path in paths:
        found, name, count = check_sbom(root, target, path, graph)
        problems += found
        lines.append(f"{name} ({count})")
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        print("FAILED: " + "\n  ".join(shown), file=sys.stderr)
        return 1
    print(f"  {target}: {', '.join(lines)} components, each with purl, scope and a licence deny.toml admits; "
          "exactly what each binary is built from; the target among the policy's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
