"""Stand-ins for `cosign` and `gh attestation` (tests/aks/bin/cosign, bin/gh): they parse the
command line as the real tools' flag parsers do (cobra/pflag: --flag value, --flag=value, boolean
flags without a value, shorthands), refuse what those refuse with their messages, and answer the
read-only verifications from the signatures the fake registry holds; every other command (sign,
attest, initialize, ...) changes something and is refused (exit 97), as the other stand-ins do.
`signatures.py plan RUNBOOK...` parses every cosign and gh command a dry run planned or ran the
same way, so that the signing the stand-ins never run is still held to the real flags.

What the registry holds (tests/aks/README.md): every image of btc-price/<name>@<digest> is signed
and its SBOM attested by FAKE_SIGNED_BY (a certificate identity; default this repository's
ci-cd.yml on main) through GitHub's issuer, with build provenance from the same workflow built
from FAKE_PROVENANCE_REF (default that identity's ref); FAKE_MISSING lists what some image lacks
("poller:signature api-b:sbom api-a:provenance").
"""

import json
import os
import re
import sys

GITHUB_ISSUER = "https://token.actions.githubusercontent.com"
DEFAULT_SIGNER = "https://github.com/octo-org/btc-price/.github/workflows/ci-cd.yml@refs/heads/main"
IMAGE = re.compile(r"^(?:oci://)?[a-z0-9.:-]+/btc-price/(?P<name>[a-z0-9-]+)@sha256:[0-9a-f]{64}$")
IDENTITY = re.compile(r"^https://github\.com/(?P<repo>[^/]+/[^/]+)/(?P<path>\.github/workflows/[^@]+)@(?P<ref>.+)$")

# cosign's flags of the commands the scripts use (tests/aks/cosign-flags.json, read from the
# release the workflow installs): name -> (shorthand, takes a value).
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "cosign-flags.json"), encoding="utf-8") as _table:
    COSIGN_FLAGS = {command: {name: tuple(flag) for name, flag in flags.items()}
                    for command, flags in json.load(_table)["commands"].items()}
VERIFICATIONS = ("verify", "verify-attestation")
# cosign's predicate types (options/predicate.go); any other value must be a URI.
COSIGN_TYPES = {"custom", "slsaprovenance", "slsaprovenance02", "slsaprovenance1", "spdx", "spdxjson",
                "cyclonedx", "link", "vuln", "openvex"}

# gh attestation verify's flags (gh's --help as carapace-bin's gh completer records it; the
# owner/repo and signer groups as pkg/cmd/attestation/verify/verify.go marks them).
GH_VERIFY_FLAGS = {
    "bundle": ("b", True), "bundle-from-oci": (None, False), "cert-identity": (None, True),
    "cert-identity-regex": ("i", True), "cert-oidc-issuer": (None, True), "custom-trusted-root": (None, True),
    "deny-self-hosted-runners": (None, False), "digest-alg": ("d", True), "format": (None, True),
    "hostname": (None, True), "jq": ("q", True), "limit": ("L", True), "no-public-good": (None, False),
    "owner": ("o", True), "predicate-type": (None, True), "repo": ("R", True), "signer-digest": (None, True),
    "signer-repo": (None, True), "signer-workflow": (None, True), "source-digest": (None, True),
    "source-ref": (None, True), "template": ("t", True), "help": (None, False),
}


class Refused(Exception):
    """A refusal: exit 97 for a change, 1 for bad arguments (both logged as REFUSED, so a run that
    hits one fails), or 1 for a verification that fails (not logged: that is an answer)."""

    def __init__(self, message, status=1, arguments=True):
        super().__init__(message)
        self.status, self.arguments = status, arguments


def parse(words, flags):
    """(values, positional) as pflag parses WORDS against FLAGS."""
    shorthands = {short: name for name, (short, _) in flags.items() if short}
    values, positional, index = {}, [], 0
    while index < len(words):
        word = words[index]
        index += 1
        if word == "--":
            positional += words[index:]
            break
        if word.startswith("--"):
            name, equals, value = word[2:].partition("=")
        elif word.startswith("-") and len(word) > 1:
            name, equals, value = shorthands.get(word[1:2], "\0" + word[1:2]), bool(word[2:]), word[2:].lstrip("=")
        else:
            positional.append(word)
            continue
        if name.startswith("\0"):
            raise Refused(f"unknown shorthand flag: '{name[1:]}' in {word}")
        if name not in flags:
            raise Refused(f"unknown flag: --{name}")
        if flags[name][1] and not equals:
            if index >= len(words):
                raise Refused(f"flag needs an argument: --{name}")
            value = words[index]
            index += 1
        values.setdefault(name, []).append(value if flags[name][1] else (value or "true"))
    return values, positional


def missing(name, what):
    return f"{name}:{what}" in os.environ.get("FAKE_MISSING", "").split()


def one(values, flag):
    return values.get(flag, [""])[-1]


def cosign_arguments(words):
    """(command, flag values, images) as cosign parses WORDS, with what cosign refuses before it
    does anything: an unknown command or flag, no image, an attestation without its predicate or
    of an unknown type, a keyless verification that names no identity or issuer, a signature that
    would wait for a confirmation no one can give in a job (no --yes)."""
    if not words or words[0] not in COSIGN_FLAGS:
        raise Refused(f"unknown command \"{words[0] if words else ''}\" for \"cosign\"")
    command, (values, images) = words[0], parse(words[1:], COSIGN_FLAGS[words[0]])
    if not images:
        raise Refused("requires at least 1 arg(s), only received 0")
    wanted = one(values, "type") or "custom"
    if "type" in COSIGN_FLAGS[command] and wanted not in COSIGN_TYPES and not re.match(r"^[a-z]+://", wanted):
        raise Refused(f"invalid predicate type: {wanted}")
    if command == "attest" and not (one(values, "predicate") or one(values, "statement")):
        raise Refused("at least one of the flags in the group [predicate statement] is required")
    if command in ("sign", "attest") and one(values, "yes") != "true":
        raise Refused("no --yes: cosign asks before it uploads to the transparency log, and a job has no terminal")
    if command in VERIFICATIONS:
        if not (one(values, "certificate-identity") or one(values, "certificate-identity-regexp")):
            raise Refused("--certificate-identity or --certificate-identity-regexp is required for verification in keyless mode")
        if not (one(values, "certificate-oidc-issuer") or one(values, "certificate-oidc-issuer-regexp")):
            raise Refused("--certificate-oidc-issuer or --certificate-oidc-issuer-regexp is required for verification in keyless mode")
    return command, values, images


def cosign(words):
    command, values, images = cosign_arguments(words)
    if command not in VERIFICATIONS:
        raise Refused(f"not a read-only verification: cosign {' '.join(words)}", 97)
    wanted = one(values, "type") or "custom"
    signer = os.environ.get("FAKE_SIGNED_BY", DEFAULT_SIGNER)
    for image in images:
        match = IMAGE.match(image)
        what = "signature" if command == "verify" else "sbom"
        # Only the identity and issuer given exactly are demanded here; a regexp would be a looser check
        # the verification must not rely on, so the stand-in treats it as not matching.
        if (not match or missing(match.group("name"), what) or one(values, "certificate-identity") != signer
                or one(values, "certificate-oidc-issuer") != GITHUB_ISSUER
                or (command == "verify-attestation" and wanted != "cyclonedx")):
            raise Refused(f"no matching {'signatures' if command == 'verify' else 'attestations'}: {image}",
                          arguments=False)
        print(json.dumps([{"critical": {"image": {"docker-manifest-digest": image.rsplit("@", 1)[1]}},
                           "optional": {"Issuer": GITHUB_ISSUER, "Subject": signer}}]))


def gh_arguments(words):
    """(flag values, artefacts) of `gh attestation verify`, refused as gh refuses them."""
    values, artefacts = parse(words[2:], GH_VERIFY_FLAGS)
    if len(artefacts) != 1:
        raise Refused("must specify file path or container image URI, as well as one of --owner or --repo")
    if bool(values.get("owner")) == bool(values.get("repo")):
        raise Refused("if any flags in the group [owner repo] are set none of the others can be; "
                      "at least one of the flags in the group [owner repo] is required")
    signers = sorted(set(values) & {"cert-identity", "cert-identity-regex", "signer-repo", "signer-workflow"})
    if len(signers) > 1:
        raise Refused(f"if any flags in the group [cert-identity cert-identity-regex signer-repo signer-workflow] "
                      f"are set none of the others can be; {signers} were all set")
    return values, artefacts


def gh(words):
    if words[:2] != ["attestation", "verify"]:
        raise Refused(f"not a read-only verification: gh {' '.join(words)}", 97)
    values, artefacts = gh_arguments(words)
    identity = IDENTITY.match(os.environ.get("FAKE_SIGNED_BY", DEFAULT_SIGNER))
    built_from = os.environ.get("FAKE_PROVENANCE_REF", identity.group("ref"))
    match = IMAGE.match(artefacts[0])
    workflow = f"{identity.group('repo')}/{identity.group('path')}"
    checks = [match and not missing(match.group("name"), "provenance"),
              one(values, "repo") in ("", identity.group("repo")),
              one(values, "owner") in ("", identity.group("repo").split("/")[0]),
              one(values, "signer-workflow") in ("", workflow, f"github.com/{workflow}"),
              one(values, "source-ref") in ("", built_from)]
    if not all(checks):
        raise Refused(f"verifying with issuer \"sigstore.dev\": no attestations for {artefacts[0]} match the "
                      "given policy", arguments=False)
    print(f"The following 1 attestation matched the policy criteria\n- Attestation #1\n  - Build repo:..... "
          f"{identity.group('repo')}\n  - Build workflow:. {workflow}@{built_from}")


def planned(paths):
    """Every cosign and gh command a dry run planned (+) or ran (?) in the runbooks PATHS, wrapped
    lines joined, parsed as the tool parses it: a command the tool would refuse fails the check."""
    import shlex

    seen = []
    for path in paths:
        with open(path, encoding="utf-8") as handle:
            text = re.sub(r" \\\n   ", " ", handle.read())
        for line in text.splitlines():
            match = re.match(r"^[+?](?: \([^)]*\))? (cosign|gh) (.*)$", line)
            if not match:
                continue
            words = shlex.split(match.group(2))
            try:
                if match.group(1) == "cosign":
                    cosign_arguments(words)
                elif words[:2] == ["attestation", "verify"]:
                    gh_arguments(words)
                else:
                    raise Refused(f"the gh stand-in knows no {' '.join(words[:2])}")
            except Refused as refused:
                raise SystemExit(f"FAILED: {path}: {line}: {match.group(1)} refuses it: {refused}")
            seen.append(f"{match.group(1)} {words[0]}")
    return seen


def main(tool, words):
    with open(os.environ["FAKE_LOG"], "a", encoding="utf-8") as log:
        log.write(f"{tool} {' '.join(words)}\n")
        try:
            (cosign if tool == "cosign" else gh)(words)
        except Refused as refused:
            if refused.status == 97:
                log.write(f"REFUSED {tool} {' '.join(words)}\n")
            elif refused.arguments:
                log.write(f"REFUSED (arguments {tool} refuses) {tool} {' '.join(words)}\n")
            print(f"Error: {refused}", file=sys.stderr)
            return refused.status
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "plan":
        planned(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1], sys.argv[2:]))
