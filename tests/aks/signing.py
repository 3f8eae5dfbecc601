"""The pipeline's supply-chain invariants for tests/aks/workflow.py: the tests read the live
advisory database; the build job signs each image it pushed by digest (cosign, keyless), attests
its SBOM and its provenance, then locks the tag; the deploy job verifies signature, SBOM
attestation and provenance against this workflow file on main before it applies anything."""

import re

from common import require

IMAGES = ["api-a", "api-b", "poller"]
# The workflow file that signs (its path in the repository): the identity the deploy job demands.
WORKFLOW = "ci-cd.yml"
ISSUER = "https://token.actions.githubusercontent.com"


def step_index(steps, predicate, what, path, job):
    found = [i for i, step in enumerate(steps) if predicate(step)]
    require(len(found) == 1, f"{path}: job {job}: expected one step that {what}, found {len(found)}")
    return found[0]


def script_of(step):
    """The step's run: script with continuation lines joined."""
    return re.sub(r"\\\n\s*", "", step.get("run", ""))


def runs(step, text):
    return text in script_of(step)


def uses(step, action):
    return step.get("uses", "").startswith(action + "@")


def check_plain(path, job, step):
    """A verification or signing step must fail the job when its commands fail."""
    require("continue-on-error" not in step and "if" not in step,
            f"{path}: job {job}: step {step.get('name')!r} must always run and fail the job on error")
    require(not re.search(r"\|\|\s*(true|:)\b", script_of(step)),
            f"{path}: job {job}: step {step.get('name')!r} ignores a failure (|| true)")


def by_digest(path, job, script, what):
    """Each image handled by the digest the registry holds for the commit's tag."""
    require(re.search(r"for name in " + " ".join(IMAGES) + r"; do", script)
            and "tag=btc-price/$name:$AKS_IMAGE_TAG" in script
            and re.search(r'digest=\$\(az acr repository show --name "\$AKS_ACR_NAME" --image "\$tag" '
                          r"--query digest --output tsv\)", script)
            and re.search(r"image=\$registry/btc-price/\$name@\$digest", script),
            f"{path}: job {job}: each of {IMAGES} must be {what} by digest "
            "(image=$registry/btc-price/$name@$digest, the digest of its commit tag)")


def check_build_job(path, name, job):
    steps = job["steps"]
    permissions = job.get("permissions", {})
    require(permissions.get("id-token") == "write" and permissions.get("attestations") == "write",
            f"{path}: job {name} needs id-token: write (Sigstore certificates) and attestations: write")
    build = step_index(steps, lambda s: runs(s, "aks/deploy.sh --build-only"), "builds the images", path, name)
    installer = step_index(steps, lambda s: uses(s, "sigstore/cosign-installer"), "installs cosign", path, name)
    sign = step_index(steps, lambda s: runs(s, "cosign sign "), "signs the images", path, name)
    require(build < installer < sign, f"{path}: job {name}: build, install cosign, then sign, in that order")
    step = steps[sign]
    check_plain(path, name, step)
    script = script_of(step)
    require(step.get("id"), f"{path}: job {name}: the signing step needs an id (its outputs are the digests)")
    by_digest(path, name, script, "signed")
    require('cosign sign --yes "$image"' in script,
            f"{path}: job {name}: sign each image keylessly: cosign sign --yes \"$image\"")
    require(re.search(r'cosign attest --yes --type cyclonedx --predicate "\S+\$name\.cdx\.json" "\$image"', script)
            and "/usr/share/sbom/$name.cdx.json" in script,
            f"{path}: job {name}: attest the SBOM the image carries (/usr/share/sbom/$name.cdx.json) as cyclonedx")
    provenance = []
    for image in IMAGES:
        index = step_index(steps, lambda s, i=image: uses(s, "actions/attest-build-provenance")
                           and s.get("with", {}).get("subject-name", "").endswith(f"/btc-price/{i}"),
                           f"attests the provenance of {image}", path, name)
        settings = steps[index]["with"]
        require(settings.get("subject-digest") == f"${{{{ steps.{step['id']}.outputs.{image} }}}}"
                and settings.get("push-to-registry") is True,
                f"{path}: job {name}: the provenance of {image} must name the signed digest "
                f"(steps.{step['id']}.outputs.{image}) and be pushed to the registry, has {settings}")
        provenance.append(index)
    lock = step_index(steps, lambda s: runs(s, "az acr repository update"), "locks the tags", path, name)
    lock_script = script_of(steps[lock])
    require("tag=btc-price/$name:$AKS_IMAGE_TAG" in lock_script and re.search(
                r"for name in " + " ".join(IMAGES) + r"; do", lock_script)
            and '--image "$tag" --write-enabled false --delete-enabled false' in lock_script,
            f"{path}: job {name}: lock each signed tag (--write-enabled false --delete-enabled false)")
    require(sign < min(provenance) and max(provenance) < lock and lock == len(steps) - 1,
            f"{path}: job {name}: sign, attest provenance, then lock the tags, last")


def check_deploy_job(path, name, job):
    steps = job["steps"]
    deploy = step_index(steps, lambda s: runs(s, "aks/deploy.sh --skip-build"), "deploys", path, name)
    installer = step_index(steps, lambda s: uses(s, "sigstore/cosign-installer"), "installs cosign", path, name)
    verify = step_index(steps, lambda s: runs(s, "cosign verify "), "verifies the images", path, name)
    require(installer < verify < deploy and deploy == len(steps) - 1,
            f"{path}: job {name}: install cosign, verify the images, then deploy, last")
    step = steps[verify]
    check_plain(path, name, step)
    env, script = step.get("env", {}), script_of(step)
    workflow = WORKFLOW
    require(env.get("SIGNER") == "${{ github.server_url }}/${{ github.repository }}/.github/workflows/"
            f"{workflow}@refs/heads/main",
            f"{path}: job {name}: SIGNER must be this workflow file on main, is {env.get('SIGNER')!r}")
    require(env.get("ISSUER") == ISSUER, f"{path}: job {name}: ISSUER must be GitHub's OIDC issuer {ISSUER}")
    require('identity=(--certificate-identity "$SIGNER" --certificate-oidc-issuer "$ISSUER")' in script,
            f"{path}: job {name}: the identity demanded must be SIGNER from ISSUER")
    by_digest(path, name, script, "verified")
    checks = {
        "signature": 'cosign verify "${identity[@]}" "$image"',
        "SBOM attestation": 'cosign verify-attestation --type cyclonedx "${identity[@]}" "$image"',
        "provenance": f'gh attestation verify "oci://$image" --repo "$REPOSITORY" --bundle-from-oci '
                      f'--signer-workflow "$REPOSITORY/.github/workflows/{workflow}"',
    }
    for what, command in checks.items():
        require(re.search(re.escape(command) + r'( >/dev/null)? \|\| die "[^"\n]*refusing to deploy"', script),
                f"{path}: job {name}: the {what} must be verified with: {command} "
                "|| die \"... refusing to deploy\" (a clear message when it fails)")
    require(env.get("REPOSITORY") == "${{ github.repository }}", f"{path}: job {name}: REPOSITORY must be this repository")


def check_signing(path, jobs):
    test_env = jobs["test"].get("env", {})
    require(test_env.get("RUSTSEC_DB") == "live",
            f"{path}: the test job must run cargo-deny against the live advisory database (env RUSTSEC_DB: live)")
    builds = [n for n, j in jobs.items() if any(runs(s, "aks/deploy.sh --build-only") for s in j.get("steps", []))]
    deploys = [n for n, j in jobs.items() if any(runs(s, "aks/deploy.sh --skip-build") for s in j.get("steps", []))]
    require(len(builds) == 1 and len(deploys) == 1, f"{path}: expected one build and one deploy job")
    check_build_job(path, builds[0], jobs[builds[0]])
    check_deploy_job(path, deploys[0], jobs[deploys[0]])
    require(builds[0] in ([jobs[deploys[0]]["needs"]] if isinstance(jobs[deploys[0]]["needs"], str)
                          else jobs[deploys[0]]["needs"]),
            f"{path}: job {deploys[0]} must need {builds[0]}")
    return builds[0], deploys[0]
