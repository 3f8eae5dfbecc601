"""Every container image the project names is pinned by digest, as name:tag@sha256:<digest> (the
tag stays for the reader and for the refresh; a pull takes the digest only).

  pins.py check ROOT        fails on any unpinned image reference in every Dockerfile (FROM, an
                            ARG a FROM uses, COPY --from, RUN --mount=from=, the # syntax=
                            frontend), every compose file, every rendered kustomization and every
                            kustomize images: entry, every other YAML file git tracks (the kind
                            config among them) and the aks/ scripts; on one tag pinned to two
                            digests; and on a third-party image whose digest is not the one
                            aks/third-party-images.txt records for its tag
  pins.py overrides ROOT    "VARIABLE pinned-reference" for each image the test suites may replace
                            with a local stand-in (CI reaches no registry): the compose variables
                            and the Dockerfiles' *_IMAGE build arguments
  pins.py refresh ROOT [--write] [NAME...]
                            asks the registries (skopeo) for the digest each pinned tag has today
                            (of the images named NAME only, if given), prints the changes, and
                            with --write makes them in every file git tracks

The project's own images (btc-price/api-a, api-b and poller, bare or under the overlays' registry
placeholder) are built from the commit and deployed by the digests the pipeline verified; any other
name, also one that merely contains btc-price/, is a third-party image and must be pinned.
aks/third-party-images.txt is checked by tests/aks/checks.py (third-party), which accepts a "-" only
where a "# unpinned" line says why. The workflows' container and service images are held to their
digests by tests/aks/workflow_files.py.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from dockerfile import Unpinned, dockerfile_references

DIGEST = r"sha256:[0-9a-f]{64}"
PINNED = re.compile(rf"^(?P<name>[a-z0-9][a-z0-9._/:-]*?):(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})@(?P<digest>{DIGEST})$")
# The registry placeholder the overlays name (deploy.sh replaces it with the real registry).
PLACEHOLDER_REGISTRY = "btcprice.azurecr.io"
OWN = re.compile(rf"^(?:{re.escape(PLACEHOLDER_REGISTRY)}/)?btc-price/(?:api-a|api-b|poller)(?::[A-Za-z0-9_.${{}}:-]+)?$")
COMPOSE_VARIABLE = re.compile(r"^\$\{(?P<var>[A-Z0-9_]+)(?::-(?P<default>[^}]*)|:\?[^}]*)\}$")
DOCKERFILE = re.compile(r"(^|/)(Dockerfile|Containerfile)([.-][^/]*)?$|\.(Dockerfile|Containerfile)$")
COMPOSE_FILE = re.compile(r"(^|/)[^/]*compose[^/]*\.ya?ml$")
SCRIPTS = ["aks/*.sh", "aks/kind/*.sh", "aks/aks-engine/*.sh"]
KUSTOMIZE_ROOTS = ["manifests/base", "manifests/overlays/*", "tests/pod"]
# A stand-in for the test suites: tests/pod renders the base with the local stand-in of Redis.
STAND_IN_ROOTS = {"tests/pod"}
# YAML that names images no one pulls: the network-policy checker's fixtures (static analysis
# only), the workflows (tests/aks/workflow_files.py), the kustomize trees (checked rendered).
NOT_PULLED = re.compile(r"^(tests/manifests/|\.github/workflows/|manifests/|tests/pod/)")


def files(root, patterns):
    return sorted(path for pattern in patterns for path in root.glob(pattern) if path.is_file())


def yaml_references(path):
    """(where, reference, None) of each image: value of a YAML file outside the kustomize trees."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"^\s*-?\s*image:\s*[\"']?([^\s\"'#]+)", line)
        if match and not OWN.match(match.group(1)):
            found.append((f"{path}:{number}", match.group(1), None))
    return found


def kustomize_entries(path):
    """(where, reference, None) of each kustomize images: entry that gives a third-party image a
    new tag or name: it must carry the digest too (a component rendered only inside an overlay is
    checked here as well)."""
    found, entry, start = [], {}, None
    lines = path.read_text(encoding="utf-8").splitlines() + ["end:"]
    inside = False
    for number, line in enumerate(lines, 1):
        if re.match(r"^images:\s*$", line):
            inside = True
            continue
        if inside and (re.match(r"^\S", line) or re.match(r"^  - ", line)):
            if entry:
                name = entry.get("newName", entry.get("name", ""))
                if not OWN.match(name):
                    reference = f"{name}:{entry.get('newTag', '')}" + (f"@{entry['digest']}" if "digest" in entry else "")
                    found.append((f"{path}:{start}", reference, None))
            entry, start = {}, number
            if re.match(r"^\S", line):
                inside = False
        match = re.match(r"^  (?:- |  )(name|newName|newTag|digest):\s*\"?([^\s\"]+)\"?", line)
        if inside and match:
            entry[match.group(1)] = match.group(2)
    return found


def compose_references(path, defaults):
    """(where, reference, variable) of each image: line; ${VAR:-default} names the default,
    ${VAR:?message} the default VAR has elsewhere (DEFAULTS)."""
    found = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        match = re.match(r"^\s+image:\s*(\S+)\s*(#.*)?$", line)
        if not match:
            continue
        where, image = f"{path}:{number}", match.group(1).strip("\"'")
        if OWN.match(image):
            continue
        variable = COMPOSE_VARIABLE.match(image)
        if variable and variable.group("default") is not None:
            defaults[variable.group("var")] = variable.group("default")
            found.append((where, variable.group("default"), variable.group("var")))
        elif variable:
            found.append((where, ("see", variable.group("var")), variable.group("var")))
        else:
            found.append((where, image, None))
    return found


def command_blocks(path):
    """(line number, command) of a shell script, continuation lines joined."""
    blocks, start, parts = [], None, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if start is None:
            start = number
        parts.append(line.rstrip("\\").strip())
        if not line.endswith("\\"):
            blocks.append((start, " ".join(parts)))
            start, parts = None, []
    return blocks


def script_references(path):
    """Image defaults of knobs and variables named *_IMAGE, and the image of each `docker run`."""
    found = []
    for number, block in command_blocks(path):
        where = f"{path}:{number}"
        match = re.match(r"^knob (\w+_IMAGE) \"?([^\"\s]*)\"? ", block) or \
            re.match(r"^(?:readonly |local )?([A-Z_]+_IMAGE)=\"?([^\"\s$]+)\"?$", block)
        if match and match.group(2):
            found.append((where, match.group(2), match.group(1)))
        match = re.match(r"^(?:run )?docker run .* (\S+)$", block)
        if match and not match.group(1).startswith('"$'):
            found.append((where, match.group(1).strip("\"'"), None))
    return found


def manifest_references(root, roots):
    """Each image: of every rendered kustomization (kubectl kustomize, offline)."""
    found = []
    for directory in roots:
        rendered = subprocess.run(["kubectl", "kustomize", str(root / directory)], check=True,
                                  capture_output=True, text=True).stdout
        for image in sorted(set(re.findall(r"^\s*-?\s*image:\s*(\S+)$", rendered, re.MULTILINE))):
            if not OWN.match(image.strip("\"'")):
                found.append((f"{directory} (rendered)", image.strip("\"'"), None))
    return found


def collect(root, manifests=True):
    defaults, found = {}, []
    tracked = [name for name in source_files(root) if (root / name).is_file()]
    for name in tracked:
        if DOCKERFILE.search(name):
            found += dockerfile_references(root / name)
    for name in tracked:
        if COMPOSE_FILE.search(name):
            found += compose_references(root / name, defaults)
    for path in files(root, SCRIPTS):
        found += script_references(path)
    for name in tracked:
        if name.endswith("kustomization.yaml") and str(Path(name).parent) not in STAND_IN_ROOTS:
            found += kustomize_entries(root / name)
        elif re.search(r"\.ya?ml$", name) and not COMPOSE_FILE.search(name) and not NOT_PULLED.match(name):
            found += yaml_references(root / name)
    kustomize = [str(p.relative_to(root)) for pattern in KUSTOMIZE_ROOTS for p in sorted(root.glob(pattern))
                 if (p / "kustomization.yaml").exists() and str(p.relative_to(root)) not in STAND_IN_ROOTS]
    if manifests:
        found += manifest_references(root, kustomize)
    resolved = []
    for where, reference, variable in found:
        if isinstance(reference, tuple):
            if reference[1] not in defaults:
                raise Unpinned(f"{where}: ${{{reference[1]}:?...}} has no pinned default in a compose file")
            reference = defaults[reference[1]]
        resolved.append((str(where).replace(str(root) + "/", ""), reference, variable))
    return resolved


def image_key(name, tag):
    """One image however it is spelled: without its registry host, Docker's official images
    without library/ (and ECR Public's docker/library/ mirror of them)."""
    parts = name.split("/")
    if len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost"):
        parts = parts[1:]
    path = "/".join(parts)
    path = re.sub(r"^(docker/)?library/", "", path)
    return f"{path}:{tag}"


def listed_digests(root):
    """{image key: (use, {digests})} from aks/third-party-images.txt: each source's tag may be
    pinned to its linux/amd64 digest (the list's column) or to its index (the "the index is"
    note of the use in the list's header); each copy's tag only to the linux/amd64 digest."""
    listing = root / "aks/third-party-images.txt"
    notes, use, expected = {}, None, {}
    lines = listing.read_text(encoding="utf-8").splitlines()
    for line in lines:
        start = re.match(r"^#   ([a-z][a-z0-9-]*)\s{2,}\S", line)
        if start:
            use = start.group(1)
        elif not line.startswith("#   "):
            use = None
        if use:
            notes[use] = notes.get(use, "") + " " + line[1:].strip()
    indexes = {use: found.group(1) for use, text in notes.items()
               if (found := re.search(rf"the index is ({DIGEST})", text))}
    for line in lines:
        fields = line.split()
        if line.startswith("#") or len(fields) != 4 or not re.fullmatch(DIGEST, fields[3]):
            continue
        copy_name, copy_tag = fields[1].rsplit(":", 1)
        source_name, source_tag = fields[2].rsplit(":", 1)
        expected[image_key(copy_name, copy_tag)] = (fields[0], {fields[3]})
        expected[image_key(source_name, source_tag)] = (fields[0], {fields[3]} | ({indexes[fields[0]]} if fields[0] in indexes else set()))
    return expected


def check(root):
    references = collect(root)
    listed = listed_digests(root)
    digests, problems = {}, []
    for where, reference, _ in references:
        match = PINNED.match(reference)
        if not match:
            problems.append(f"{where}: {reference} is not pinned (name:tag@sha256:<digest>)")
            continue
        key = image_key(match.group("name"), match.group("tag"))
        if key in listed and match.group("digest") not in listed[key][1]:
            problems.append(f"{where}: {reference}: aks/third-party-images.txt ({listed[key][0]}) records "
                            f"{' or '.join(sorted(listed[key][1]))} for {key}, not this digest")
        # One image, however it is spelled: Docker Hub's official images have three names.
        name = re.sub(r"^(docker\.io/)?(library/)?", "", match.group("name"))
        key = f"{name}:{match.group('tag')}"
        digests.setdefault(key, {}).setdefault(match.group("digest"), []).append(where)
    for key, seen in digests.items():
        if len(seen) > 1:
            problems.append(f"{key} is pinned to {len(seen)} digests: {seen}")
    if problems:
        raise Unpinned("\n  ".join(problems))
    print(f"  {len(references)} image references, {len(digests)} tags, each pinned to one digest: "
          + ", ".join(sorted(digests)))


def overrides(root):
    seen = set()
    for where, reference, variable in collect(root, manifests=False):
        path = where.split(":")[0]
        if path != "Dockerfile" and not COMPOSE_FILE.search(path):
            continue
        if variable and variable not in seen and PINNED.match(reference):
            seen.add(variable)
            print(variable, reference)


def registry_digests(reference):
    """(index digest, linux/amd64 manifest digest) the registry serves for reference's tag today."""
    # skopeo 1.9 (Debian 12) reads only /etc/containers/registries.conf unless told.
    configuration = os.environ.get("CONTAINERS_REGISTRIES_CONF")
    options = ["--registries-conf", configuration] if configuration else []
    read = subprocess.run(["skopeo", *options, "inspect", "--raw", f"docker://{reference}"], capture_output=True)
    if read.returncode != 0:
        raise Unpinned(f"skopeo cannot read {reference}: {read.stderr.decode().strip()}")
    raw = read.stdout
    index = json.loads(raw)
    amd64 = [m["digest"] for m in index.get("manifests", [])
             if m.get("platform", {}).get("os") == "linux" and m.get("platform", {}).get("architecture") == "amd64"]
    top = "sha256:" + hashlib.sha256(raw).hexdigest()
    return top, (amd64[0] if amd64 else top)


def source_files(root):
    """The files git tracks under ROOT, or, outside a git checkout, every file but build output."""
    listed = subprocess.run(["git", "-C", str(root), "ls-files"], capture_output=True, text=True)
    if listed.returncode == 0:
        return listed.stdout.splitlines()
    skipped = {".git", "target", "node_modules"}
    return [str(p.relative_to(root)) for p in sorted(root.rglob("*"))
            if p.is_file() and not any(part in skipped or part.startswith(".venv")
                                       for part in p.relative_to(root).parts)]


def refresh(root, write, names):
    """New digests for the pinned tags (the index: multi-platform) and for the third-party list's
    sources (their linux/amd64 manifest, which the registry copies keep); only for the images
    NAMES, if any."""
    def wanted(name):
        return not names or name in names
    changes = {}
    for where, reference, _ in collect(root):
        match = PINNED.match(reference)
        if match and match.group("digest") not in changes and wanted(match.group("name")):
            top, _ = registry_digests(f"{match.group('name')}:{match.group('tag')}")
            changes[match.group("digest")] = (top, f"{match.group('name')}:{match.group('tag')}")
    listing = root / "aks/third-party-images.txt"
    for line in listing.read_text(encoding="utf-8").splitlines():
        fields = line.split()
        if (len(fields) == 4 and not line.startswith("#") and re.fullmatch(DIGEST, fields[3])
                and wanted(fields[2].rsplit(":", 1)[0])):
            _, amd64 = registry_digests(fields[2])
            changes.setdefault(fields[3], (amd64, fields[2] + " (linux/amd64)"))
    moved = {old: new for old, new in changes.items() if old != new[0]}
    for old, (new, what) in changes.items():
        print(f"  {what}: {'unchanged' if old == new else f'{old} -> {new}'}")
    if write and moved:
        for name in source_files(root):
            path = root / name
            try:
                text = path.read_text(encoding="utf-8")
            except (UnicodeDecodeError, IsADirectoryError, FileNotFoundError):
                continue
            updated = text
            for old, (new, _) in moved.items():
                updated = updated.replace(old, new)
            if updated != text:
                path.write_text(updated, encoding="utf-8")
                print(f"  rewrote {name}")
    if moved and not write:
        print("  (dry run: --write makes these changes)")


def main(argv):
    if len(argv) < 3 or argv[1] not in {"check", "overrides", "refresh"}:
        print(__doc__, file=sys.stderr)
        return 2
    root = Path(argv[2]).resolve()
    try:
        if argv[1] == "check":
            check(root)
        elif argv[1] == "overrides":
            overrides(root)
        else:
            options = argv[3:]
            refresh(root, "--write" in options, [o for o in options if o != "--write"])
    except Unpinned as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
