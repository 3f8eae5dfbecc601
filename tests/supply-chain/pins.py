"""Every container image the project names is pinned by digest, as name:tag@sha256:<digest> (the
tag stays for the reader and for the refresh; a pull takes the digest only).

  pins.py check ROOT        fails on any unpinned image reference in the Dockerfiles, the compose
                            files, the rendered manifests and the aks/ scripts, and on one tag
                            pinned to two digests
  pins.py overrides ROOT    "VARIABLE pinned-reference" for each image the test suites may replace
                            with a local stand-in (CI reaches no registry): the compose variables
                            and the Dockerfiles' *_IMAGE build arguments
  pins.py refresh ROOT [--write] [NAME...]
                            asks the registries (skopeo) for the digest each pinned tag has today
                            (of the images named NAME only, if given), prints the changes, and
                            with --write makes them in every file git tracks

The project's own images (btc-price/...) are built from the commit and deployed by its tag (locked
and verified in the pipeline); aks/third-party-images.txt is checked by tests/aks/checks.py
(third-party), which accepts a "-" only where a "# unpinned" line says why.
"""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

DIGEST = r"sha256:[0-9a-f]{64}"
PINNED = re.compile(rf"^(?P<name>[a-z0-9][a-z0-9._/:-]*?):(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{{0,127}})@(?P<digest>{DIGEST})$")
OWN = re.compile(r"(^|/)btc-price/")
COMPOSE_VARIABLE = re.compile(r"^\$\{(?P<var>[A-Z0-9_]+)(?::-(?P<default>[^}]*)|:\?[^}]*)\}$")
DOCKERFILES = ["Dockerfile", "tests/stack/base-images/*.Dockerfile"]
COMPOSE_FILES = ["docker-compose.yml", "tests/stack/compose.test.yml"]
SCRIPTS = ["aks/*.sh", "aks/kind/*.sh", "aks/aks-engine/*.sh"]
KUSTOMIZE_ROOTS = ["manifests/base", "manifests/overlays/*", "tests/pod"]
# A stand-in for the test suites: tests/pod renders the base with the local stand-in of Redis.
STAND_IN_ROOTS = {"tests/pod"}


class Unpinned(Exception):
    pass


def files(root, patterns):
    return sorted(path for pattern in patterns for path in root.glob(pattern) if path.is_file())


def dockerfile_references(path):
    """(where, reference, variable) of each image the Dockerfile starts FROM or takes as an
    *_IMAGE build argument; a FROM ${X} whose ARG has no default names none (the caller must pass
    it), nor does FROM scratch or FROM a stage."""
    text = path.read_text(encoding="utf-8")
    args, stages, found = {}, set(), []
    for number, line in enumerate(text.splitlines(), 1):
        where = f"{path}:{number}"
        match = re.match(r"^ARG (\w+)(?:=(\S+))?$", line)
        if match:
            name, value = match.groups()
            if value is not None:
                value = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1)) or m.group(0), value)
                args[name] = value
                if name.endswith("_IMAGE"):
                    found.append((where, value, name))
            else:
                args.setdefault(name, None)
            continue
        match = re.match(r"^FROM (?:--platform=\S+ )?(\S+)(?: AS (\S+))?$", line, re.IGNORECASE)
        if match:
            image, stage = match.groups()
            if stage:
                stages.add(stage)
            variable = re.fullmatch(r"\$\{(\w+)\}", image)
            if variable:
                if variable.group(1) not in args:
                    raise Unpinned(f"{where}: FROM {image}: no ARG {variable.group(1)} before it")
                continue  # the ARG's default, if any, was checked above
            if image != "scratch" and image not in stages:
                found.append((where, image, None))
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
        if OWN.search(image):
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
            if not OWN.search(image):
                found.append((f"{directory} (rendered)", image.strip("\"'"), None))
    return found


def collect(root, manifests=True):
    defaults, found = {}, []
    for path in files(root, DOCKERFILES):
        found += dockerfile_references(path)
    for path in files(root, COMPOSE_FILES):
        found += compose_references(path, defaults)
    for path in files(root, SCRIPTS):
        found += script_references(path)
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


def check(root):
    references = collect(root)
    digests, problems = {}, []
    for where, reference, _ in references:
        match = PINNED.match(reference)
        if not match:
            problems.append(f"{where}: {reference} is not pinned (name:tag@sha256:<digest>)")
            continue
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
        if where.split(":")[0] not in ("Dockerfile", *COMPOSE_FILES):
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
