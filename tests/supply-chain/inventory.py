"""What a release binary says it contains, checked against the lock file and against its SBOM.

  inventory.py ROOT TARGET BINARY SBOM [LOCK]

- The dependency list cargo auditable compressed into BINARY (read with rust-audit-info) names
  exactly the crates the workspace at ROOT resolves for that binary on TARGET (cargo metadata:
  normal and build dependencies, no dev dependencies), each at the version and from the source
  LOCK (default ROOT/Cargo.lock) pins: a binary built from another lock file, or one whose list
  lacks or adds a crate, fails.
- A crate the list says was built from a path is one of the workspace's own crates (a vendored
  or path crate from elsewhere would escape the policy's source and licence checks).
- SBOM (CycloneDX JSON, the one the image carries) describes BINARY's crate and lists every other
  crate of the binary with the same version and a licence, the one its Cargo.toml declares; and
  agrees with the policy as sbom.py checks it (target among deny.toml's, purl and scope on every
  component, licences deny.toml admits, nothing listed that the binary is not built from).

Prints one line of counts, or the differences and exits 1.
"""

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import sbom as sbom_policy

CRATES_IO = "registry+https://github.com/rust-lang/crates.io-index"


class Mismatch(Exception):
    pass


def audit_packages(binary):
    """{(name, version): entry} of the dependency list embedded in the binary."""
    read = subprocess.run(["rust-audit-info", str(binary)], capture_output=True, text=True)
    if read.returncode != 0:
        raise Mismatch(f"{binary} carries no dependency list (built without cargo auditable?): "
                       f"{read.stderr.strip()}")
    data = json.loads(read.stdout)
    return {(p["name"], p["version"]): p for p in data["packages"]}


def lock_packages(lock):
    with open(lock, "rb") as handle:
        return {(p["name"], p["version"]): p.get("source") for p in tomllib.load(handle)["package"]}


def resolved_for(graph, name):
    """{(name, version): license} of the crates `name` is built from (sbom.shipped)."""
    return {key: package.get("license") for key, package in sbom_policy.shipped(graph, name).items()}


def sbom_components(sbom):
    """{(name, version): [licence expressions]} of the SBOM, the described crate included."""
    with open(sbom, encoding="utf-8") as handle:
        bom = json.load(handle)
    if bom.get("bomFormat") != "CycloneDX":
        raise Mismatch(f"{sbom}: not a CycloneDX document")
    components = [bom["metadata"]["component"]] + bom.get("components", [])
    listed = {}
    for component in components:
        licences = [entry.get("expression") or entry.get("license", {}).get("id")
                    or entry.get("license", {}).get("name") for entry in component.get("licenses", [])]
        listed[(component["name"], component.get("version"))] = [x for x in licences if x]
    return bom["metadata"]["component"]["name"], listed


def same_licence(declared, listed):
    """Cargo.toml's licence field and the SBOM's expression name the same terms ("/" is the old
    spelling of OR)."""
    def norm(text):
        return " ".join(text.replace("/", " OR ").replace("(", " ").replace(")", " ").split())
    return declared is None or any(norm(declared) == norm(entry) for entry in listed)


def check(root, target, binary, sbom, lock):
    name = Path(binary).name
    embedded = audit_packages(binary)
    problems = []
    roots = [key for key, p in embedded.items() if p.get("root")]
    if roots != [(name, roots[0][1] if roots else None)]:
        problems.append(f"{binary}: the embedded list's root is {roots}, not {name}")
    pinned = lock_packages(lock)
    graph = sbom_policy.resolved(root, target)
    members = {graph[0][i]["name"] for i in graph[2]}
    for (crate, version), entry in sorted(embedded.items()):
        key = (crate, version)
        if entry.get("source") not in ("crates.io", "local"):
            problems.append(f"{crate} {version}: source {entry.get('source')!r} in {name}, neither crates.io nor the workspace")
        elif entry.get("source") == "local" and crate not in members:
            problems.append(f"{crate} {version} is built into {name} from a path but is not one of the workspace's crates")
        source = CRATES_IO if entry.get("source") == "crates.io" else None
        if key not in pinned:
            locked = sorted(v for (n, v) in pinned if n == crate)
            problems.append(f"{crate} {version} is in {name} but {lock} pins {locked or 'no such crate'}")
        elif pinned[key] != source:
            problems.append(f"{crate} {version}: source {entry.get('source')} in {name}, {pinned[key]} in {lock}")
    expected = resolved_for(graph, name)
    for crate, version in sorted(set(expected) - set(embedded)):
        problems.append(f"{crate} {version} goes into {name} (cargo metadata) but is not in its embedded list")
    for crate, version in sorted(set(embedded) - set(expected)):
        problems.append(f"{crate} {version} is in {name}'s embedded list but not in its resolved graph")
    described, listed = sbom_components(sbom)
    if described != name:
        problems.append(f"{sbom} describes {described}, not {name}")
    for key in sorted(embedded):
        if key not in listed:
            others = sorted(v for (n, v) in listed if n == key[0])
            problems.append(f"{key[0]} {key[1]} is in {name} but not in {sbom}" + (f" (it lists {others})" if others else ""))
        elif not listed[key]:
            problems.append(f"{key[0]} {key[1]} has no licence in {sbom}")
        elif not same_licence(expected.get(key), listed[key]):
            problems.append(f"{key[0]} {key[1]}: licence {listed[key]} in {sbom}, {expected.get(key)!r} in its Cargo.toml")
    problems += sbom_policy.check_sbom(root, target, sbom, graph)[0]
    if problems:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        raise Mismatch("\n  ".join(shown))
    build = sum(1 for p in embedded.values() if p.get("kind") == "build")
    print(f"  {name}: {len(embedded)} crates embedded ({build} build-time), as {Path(lock).name} pins "
          f"and the graph resolves for {target}; all in {Path(sbom).name} with version and licence")


def main(argv):
    if len(argv) not in (5, 6):
        print(__doc__, file=sys.stderr)
        return 2
    root, target, binary, sbom = argv[1:5]
    lock = argv[5] if len(argv) == 6 else str(Path(root) / "Cargo.lock")
    try:
        check(root, target, binary, sbom, lock)
    except Mismatch as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
