"""Checks of tests/suites/aks.sh that are easier in Python than in shell.

  checks.py aks-engine-model MODEL            invariants of the committed aks-engine API model
  checks.py aks-engine-filled MODEL FILLED    the model generate.sh wrote: valid, nothing left to fill
  checks.py order RUNBOOK REGEX...            lines matching the regexes occur in this order
  checks.py command RUNBOOK START REGEX...    the first command matching START (continuation
                                              lines joined) matches every REGEX
  checks.py no-command RUNBOOK REGEX          no line matches REGEX
  checks.py policy-peer POLICIES              "namespace <ns>, pods <k=v,...>" admitted by the
                                              allow-from-ingress-controller NetworkPolicies
  checks.py workflow WORKFLOW                 the delivery pipeline's invariants
  checks.py workflow-env WORKFLOW JOB [--step INDEX] NAME=VALUE...
                                              the job's (and its step INDEX's) environment as GitHub
                                              would set it, with the given repository variables
                                              (vars.NAME) and github.NAME values: one NAME=VALUE per line
  checks.py workflow-step WORKFLOW JOB INDEX  the run: text of the job's step INDEX (-1: the last)
  checks.py workflows DIRECTORY               every workflow file: actions pinned by SHA, and only
                                              the delivery workflow deploys (tests/aks/workflow_files.py)
  checks.py third-party LIST SETTINGS BASE [DOCKERFILE]
                                              the list of third-party images agrees with the
                                              kustomize images (and the Dockerfile's build base)
  checks.py az-plan RUNBOOK...                every az command a runbook plans (+) or runs (?)
                                              is one the Azure CLI accepts (tests/aks/az_cli.py)
  checks.py plan RUNBOOK...                   az-plan, and every cosign and gh command parsed as
                                              those tools parse it (signatures.py plan): what the
                                              suite checks of every dry run, in one process
  checks.py az-workflow WORKFLOW              likewise for the az commands of the run: steps
  checks.py az-cases CASES                    the stand-in refuses each case of az-refusals.txt as listed
  checks.py az-compare AZ CASES RUNBOOK...    the real CLI AZ agrees with the stand-in on the cases
                                              and on every az command of the runbooks (local)

Each prints what it checked and exits 1 with the reason when a check fails. The modules a
check needs are imported by that check: the suite starts this file hundreds of times, mostly for
the runbook checks (order, command), which need none of them.
"""

import json
import re
import shlex
import sys

from common import CheckFailed, require

PLACEHOLDER = re.compile(r"^\$\{[A-Z0-9_]+\}$")
# aks-engine pkg/api/vlabs/validate.go validatePoolName; DNS prefix: pkg/api/common ValidateDNSPrefix.
POOL_NAME = re.compile(r"^[a-z][a-z0-9]{0,11}$")
DNS_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9-]{1,43}[A-Za-z0-9]$")
GUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# Fields of the aks-engine API model that hold secrets, keys or identifiers of an Azure account.
SENSITIVE_KEYS = {
    "keydata", "secret", "clientid", "clientsecret", "objectid", "tenantid", "subscriptionid",
    "adminpassword", "password", "serverappid", "clientappid", "etcdencryptionkey",
    "caprivatekey", "apiserverprivatekey", "clientprivatekey", "kubeconfigprivatekey",
}


def strings(node, path=""):
    """Every (path, key, string value) in a JSON document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if isinstance(value, str):
                yield f"{path}/{key}", key, value
            else:
                yield from strings(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            if isinstance(value, str):
                yield f"{path}/{index}", "", value
            else:
                yield from strings(value, f"{path}/{index}")


def load_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except json.JSONDecodeError as error:
        raise CheckFailed(f"{path} is not valid JSON: {error}") from error


def model_invariants(path, model):
    require(model.get("apiVersion") == "vlabs", f"{path}: apiVersion must be vlabs")
    properties = model.get("properties", {})
    orchestrator = properties.get("orchestratorProfile", {})
    require(orchestrator.get("orchestratorType") == "Kubernetes", f"{path}: orchestratorType must be Kubernetes")
    release = orchestrator.get("orchestratorRelease") or ".".join(
        str(orchestrator.get("orchestratorVersion", "")).split(".")[:2])
    require(release == "1.24", f"{path}: Kubernetes must be 1.24, the newest aks-engine supports (found {release!r})")
    config = orchestrator.get("kubernetesConfig", {})
    require(config.get("enableRbac") is True, f"{path}: kubernetesConfig.enableRbac must be true")
    require(config.get("networkPlugin") == "azure", f"{path}: kubernetesConfig.networkPlugin must be azure")
    require(config.get("networkPolicy") == "calico",
            f"{path}: kubernetesConfig.networkPolicy must be calico (an engine that enforces NetworkPolicies)")
    pools = properties.get("agentPoolProfiles") or []
    require(pools, f"{path}: no agentPoolProfiles")
    names = [pool.get("name", "") for pool in pools]
    for name in names:
        require(POOL_NAME.match(name), f"{path}: pool name {name!r} does not match {POOL_NAME.pattern}")
    require(len(set(names)) == len(names), f"{path}: pool names must be unique: {names}")
    for pool in pools:
        require(pool.get("osType", "Linux") == "Linux", f"{path}: pool {pool.get('name')} must be Linux")
    require(properties.get("masterProfile", {}).get("dnsPrefix"), f"{path}: masterProfile.dnsPrefix missing")
    keys = properties.get("linuxProfile", {}).get("ssh", {}).get("publicKeys", [])
    require(keys and keys[0].get("keyData"), f"{path}: linuxProfile.ssh.publicKeys[0].keyData missing")
    return names


def check_aks_engine_model(path):
    model = load_json(path)
    names = model_invariants(path, model)
    placeholders = []
    for where, key, value in strings(model):
        if PLACEHOLDER.match(value):
            placeholders.append(value)
            continue
        require("${" not in value, f"{path}{where}: malformed placeholder {value!r} (write ${{NAME}})")
        require(key.lower() not in SENSITIVE_KEYS,
                f"{path}{where}: {key} holds a literal value; it must be a ${{NAME}} placeholder")
        require(not GUID.search(value), f"{path}{where}: a GUID (an Azure ID?) is committed: {value!r}")
        for marker in ("ssh-rsa", "ssh-ed25519", "BEGIN", "PRIVATE KEY"):
            require(marker not in value, f"{path}{where}: key material committed ({marker})")
    require("${AKS_ENGINE_DNS_PREFIX}" in placeholders and "${AKS_ENGINE_SSH_PUBLIC_KEY}" in placeholders,
            f"{path}: the DNS prefix and the SSH key must be placeholders (found {placeholders})")
    print(f"  {path}: vlabs, Kubernetes 1.24, RBAC on, azure CNI + calico, Linux pools {names}, "
          f"placeholders {sorted(set(placeholders))}, no literal secret")


def fill(node, values):
    if isinstance(node, dict):
        return {key: fill(value, values) for key, value in node.items()}
    if isinstance(node, list):
        return [fill(value, values) for value in node]
    if isinstance(node, str) and PLACEHOLDER.match(node):
        return values[node[2:-1]]
    return node


def check_aks_engine_filled(model_path, filled_path):
    model = load_json(model_path)
    filled = load_json(filled_path)
    for where, _, value in strings(filled):
        require("${" not in value, f"{filled_path}{where}: placeholder left: {value!r}")
    model_invariants(filled_path, filled)
    properties = filled["properties"]
    prefix = properties["masterProfile"]["dnsPrefix"]
    require(DNS_PREFIX.match(prefix), f"{filled_path}: dnsPrefix {prefix!r} breaks aks-engine's rule")
    key = properties["linuxProfile"]["ssh"]["publicKeys"][0]["keyData"]
    require(key.startswith("ssh-rsa "), f"{filled_path}: keyData is not an RSA public key")
    values = {"AKS_ENGINE_DNS_PREFIX": prefix, "AKS_ENGINE_SSH_PUBLIC_KEY": key}
    require(fill(model, values) == filled, f"{filled_path}: differs from the model beyond its placeholders")
    print(f"  {filled_path}: valid JSON, no placeholder left, dnsPrefix {prefix}, same model otherwise")


def read_lines(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read().splitlines()


def check_order(path, patterns):
    lines = read_lines(path)
    position = 0
    for pattern in patterns:
        regex = re.compile(pattern)
        for index in range(position, len(lines)):
            if regex.search(lines[index]):
                position = index + 1
                break
        else:
            before = lines[position - 1] if position else "(start)"
            raise CheckFailed(f"{path}: no line matching {pattern!r} after line {position}: {before!r}")


def command_blocks(lines):
    """Each command of a runbook as one line: its first line joined with its continuation lines."""
    def joined(parts):
        return " ".join([parts[0].rstrip("\\").rstrip()] + [part.rstrip("\\").strip() for part in parts[1:]])

    blocks, current = [], None
    for line in lines:
        current = [line] if current is None else current + [line]
        if not line.endswith("\\"):
            blocks.append(joined(current))
            current = None
    if current is not None:
        blocks.append(joined(current))
    return blocks


def command_block(lines, start):
    """The first command whose text (continuation lines joined) matches START."""
    regex = re.compile(start)
    return next((block for block in command_blocks(lines) if regex.search(block)), None)


def check_command(path, start, patterns):
    block = command_block(read_lines(path), start)
    require(block is not None, f"{path}: no command matching {start!r}")
    for pattern in patterns:
        require(re.search(pattern, block), f"{path}: command {start!r} lacks {pattern!r}:\n  {block}")


def check_no_command(path, pattern):
    regex = re.compile(pattern)
    for line in read_lines(path):
        require(not regex.search(line), f"{path}: unexpected line matching {pattern!r}: {line!r}")


def policy_peer(path):
    import yaml  # only here and in check_workflow: it is the slow import

    with open(path, encoding="utf-8") as handle:
        policies = [doc for doc in yaml.safe_load_all(handle) if doc]
    peers = set()
    for policy in policies:
        if policy.get("metadata", {}).get("name") != "allow-from-ingress-controller":
            continue
        for rule in policy["spec"]["ingress"]:
            for peer in rule["from"]:
                namespace = peer["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"]
                pods = ",".join(f"{k}={v}" for k, v in sorted(peer["podSelector"]["matchLabels"].items()))
                peers.add(f"namespace {namespace}, pods {pods}")
    require(len(peers) == 1, f"{path}: expected one controller peer, found {sorted(peers)}")
    print(peers.pop())


THIRD_PARTY_USES = {"rust-build-base", "redis", "f5-controller", "isolation-probe"}
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
COPY = re.compile(r"^third-party/[a-z0-9._/-]+:[A-Za-z0-9._-]+$")
# Docker Hub's names: anonymous pulls from it are limited to 10 per hour per address.
DOCKER_HUB = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}
UNPINNED = re.compile(r"^# unpinned ([a-z0-9-]+): \S")


def third_party_entries(list_path):
    """{use: (copy, source, digest)} of the list, checked line by line."""
    entries, unpinned = {}, set()
    for line in read_lines(list_path):
        match = UNPINNED.match(line)
        if match:
            unpinned.add(match.group(1))
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        fields = line.split()
        require(len(fields) == 4, f"{list_path}: {line!r} is not: use copy source digest")
        use, copy, source, digest = fields
        require(use not in entries, f"{list_path}: {use} listed twice")
        require(COPY.match(copy), f"{list_path}: {use}: copy {copy!r} is not third-party/<path>:<tag>")
        host = source.split("/", 1)[0]
        require("/" in source and ("." in host or ":" in host),
                f"{list_path}: {use}: source {source!r} names no registry (a bare name is Docker Hub)")
        require(host not in DOCKER_HUB, f"{list_path}: {use}: source {source!r} is on Docker Hub, which "
                                        "throttles anonymous pulls; use a mirror")
        require(re.match(r"^[a-z0-9._/:-]+:[A-Za-z0-9._-]+$", source) and "@" not in source,
                f"{list_path}: {use}: source {source!r} is not <registry>/<path>:<tag>")
        require(source.rsplit(":", 1)[1] == copy.rsplit(":", 1)[1],
                f"{list_path}: {use}: the copy's tag must be the source's ({source} -> {copy})")
        require(digest == "-" or DIGEST.match(digest), f"{list_path}: {use}: bad digest {digest!r}")
        entries[use] = (copy, source, digest)
    require(set(entries) == THIRD_PARTY_USES, f"{list_path}: uses must be {sorted(THIRD_PARTY_USES)}")
    for use, (_, _, digest) in entries.items():
        require(digest != "-" or use in unpinned,
                f"{list_path}: {use} has no digest and no '# unpinned {use}: <why>' line")
    stale = sorted(use for use in unpinned if entries.get(use, (None, None, "-"))[2] != "-")
    require(not stale, f"{list_path}: '# unpinned' lines for entries that have a digest: {stale}")
    return entries


def check_third_party(list_path, settings_path, base_path, dockerfile_path=None):
    import yaml

    entries = third_party_entries(list_path)

    def images(path):
        with open(path, encoding="utf-8") as handle:
            return {i["name"]: i for i in yaml.safe_load(handle).get("images", [])}

    copy, _, redis_digest = entries["redis"]
    repository, tag = copy.rsplit(":", 1)
    name = "docker.io/library/" + repository.rsplit("/", 1)[1]
    require(DIGEST.match(redis_digest), f"{list_path}: redis must be pinned: the overlays name it by digest")
    base = images(base_path).get(name, {})
    require(base.get("newTag") == tag, f"{base_path}: {name} must be tag {tag}, the listed copy's")
    settings = images(settings_path).get(name, {})
    require(settings.get("newName", "").endswith("/" + repository) and settings.get("digest") == redis_digest,
            f"{settings_path}: {name} must be the registry's copy by digest {redis_digest}, is {settings}")
    checked = ["redis"]
    if dockerfile_path:
        text = "\n".join(read_lines(dockerfile_path))
        args = dict(re.findall(r"^ARG (\w+)=(\S+)$", text, re.MULTILINE))
        default = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), args.get("RUST_IMAGE", ""))
        source = entries["rust-build-base"][1]
        public, _, digest = default.partition("@")
        require(source.endswith("/library/" + public) and DIGEST.match(digest),
                f"{dockerfile_path}: ARG RUST_IMAGE (public, for the local stack) must be the listed "
                f"build base {source} by its Docker Hub name and a digest, is {default!r}")
        require(re.search(r"^FROM \$\{RUST_IMAGE\} AS ", text, re.MULTILINE),
                f"{dockerfile_path}: the build stage must start FROM ${{RUST_IMAGE}}")
        checked.append("rust-build-base")
    pinned = sorted(use for use, entry in entries.items() if entry[2] != "-")
    print(f"  {list_path}: {len(entries)} images, none from Docker Hub, pinned {pinned}, the others "
          f"say why; agrees with the kustomize images and the Dockerfile for {checked}")


def check_az_plan(paths):
    """Every `+ az ...` and `? az ...` command of the runbooks, continuation lines joined."""
    import az_cli
    from common import check_az_words

    table = az_cli.load_table()
    counts = {}
    for path in paths:
        for block in command_blocks(read_lines(path)):
            match = re.match(r"^[+?] (az .*)$", block)
            if match:
                command = check_az_words(path, shlex.split(match.group(1))[1:], table)
                counts[command] = counts.get(command, 0) + 1
    return counts


def main(argv):
    command, args = argv[1], argv[2:]
    try:
        if command == "aks-engine-model":
            check_aks_engine_model(*args)
        elif command == "aks-engine-filled":
            check_aks_engine_filled(*args)
        elif command == "order":
            check_order(args[0], args[1:])
        elif command == "command":
            check_command(args[0], args[1], args[2:])
        elif command == "no-command":
            check_no_command(*args)
        elif command == "policy-peer":
            policy_peer(*args)
        elif command == "third-party":
            check_third_party(*args)
        elif command == "az-plan":
            check_az_plan(args)
        elif command == "plan":
            import signatures

            check_az_plan(args)
            signatures.planned(args)
        elif command in ("workflow", "workflow-env", "workflow-step", "az-workflow"):
            import workflow

            if command == "workflow":
                workflow.check_workflow(*args)
            elif command == "workflow-env":
                step = args[3] if args[2:3] == ["--step"] else None
                rest = args[4:] if step else args[2:]
                workflow.workflow_env(args[0], args[1], dict(arg.split("=", 1) for arg in rest), step)
            elif command == "workflow-step":
                workflow.workflow_step(*args)
            else:
                workflow.check_az_workflow(*args)
        elif command == "workflows":
            import workflow_files

            workflow_files.check_workflow_files(*args)
        elif command in ("az-cases", "az-compare"):
            import az_compare

            if command == "az-cases":
                az_compare.check_cases(*args)
            else:
                blocks = [block for path in args[2:] for block in command_blocks(read_lines(path))]
                az_compare.compare(args[0], args[1], az_compare.planned_commands(blocks))
        else:
            raise CheckFailed(f"unknown check {command}")
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
