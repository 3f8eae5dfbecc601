"""The pipeline's supply-chain invariants for tests/aks/workflow.py, held by the structure of the
jobs rather than by the wording of their scripts: the build job builds, signs the digests its
builds reported, attests and locks, in that order, each step a script the aks suite runs against
stand-ins; the deploy job verifies and then deploys the list of digests the verification wrote,
and nothing on the way from the tests to the deploy can run after a failure (no if:, no
continue-on-error, no shell or defaults that drop bash -e) or change what the scripts see (no
step env beyond the verification's two, the job env as listed)."""

from common import require

IMAGES = ["api-a", "api-b", "poller"]
BUILT = '"$RUNNER_TEMP/built-images"'
VERIFIED = '"$RUNNER_TEMP/verified-images"'
BUILD_RUN = f"aks/deploy.sh --build-only --built-images {BUILT}"
SIGN_RUN = f"aks/sign-images.sh {BUILT}"
LOCK_RUN = f"aks/sign-images.sh --lock {BUILT}"
VERIFY_RUN = f"aks/verify-images.sh --output {VERIFIED}"
DEPLOY_RUN = f"aks/deploy.sh --skip-build --verified-images {VERIFIED}"
VERIFY_ENV = {"GH_TOKEN": "${{ github.token }}", "AKS_SIGNER_REPOSITORY": "${{ github.repository }}"}
BUILD_GATE = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
# The settings each job may pass its scripts (anything else, e.g. AKS_PROBE_IMAGE or a tag other
# than the commit's, would change what is built or deployed).
BUILD_ENV = {"AKS_RESOURCE_GROUP": "${{ vars.AKS_RESOURCE_GROUP }}", "AKS_CLUSTER_NAME": "${{ vars.AKS_CLUSTER_NAME }}",
             "AKS_ACR_NAME": "${{ vars.AKS_ACR_NAME }}", "AKS_IMAGE_TAG": "${{ github.sha }}"}
DEPLOY_ENV = {**BUILD_ENV, "AKS_INGRESS_FLAVOUR": "${{ vars.AKS_INGRESS_FLAVOUR }}",
              "AKS_DEPLOYER_GROUP_ID": "${{ vars.AKS_DEPLOYER_GROUP_ID }}", "AKS_HOST": "${{ vars.AKS_HOST }}",
              "AKS_CHECK_ISOLATION": "${{ vars.AKS_CHECK_ISOLATION || 'yes' }}"}
# The keys a step on the deploy path may carry: nothing that skips it, tolerates its failure,
# changes its shell or its directory.
STEP_KEYS = {"name", "id", "uses", "with", "run", "env"}
# The test job runs each suite of tests/run as one job of a matrix over `suite` (workflow.py holds
# the matrix to the suites): a failing suite fails the job, so the build that needs it never runs.
TEST_RUN = 'tests/run "${{ matrix.suite }}"'
TEST_MATRIX = "suite"


def plain(step, programs):
    """Whether the step's run: is only commands of PROGRAMS, one per line, with nothing a shell
    would read as another command, a redirection or a command substitution (a variable's value is
    only an argument): such a step cannot change the files or programs the next steps run."""
    lines = step.get("run", "").strip().splitlines()
    return bool(lines) and all(line.startswith(programs) and not set(line) & set(";&|<>`\\()") for line in lines)


def kinds(steps):
    """Each step as what it does: the action it uses, or its run: text."""
    return [step["uses"].split("@")[0] if "uses" in step else step.get("run", "").strip() for step in steps]


def check_path(path, name, job, allowed_ifs=(), matrix=None):
    """Nothing in the job lets a later step or job run after a failure, or changes how run: steps
    fail: no continue-on-error, no if: but the allowed ones, no shell or working directory; no
    strategy but, given `matrix`, one over that variable alone with fail-fast off (no include,
    exclude or other key that could add a job or change one)."""
    for key in ("continue-on-error", "defaults", "container", "services"):
        require(key not in job, f"{path}: job {name} must not set {key} (it is on the way to the deploy)")
    strategy = job.get("strategy")
    if matrix is None:
        require(strategy is None, f"{path}: job {name} must not set strategy (it is on the way to the deploy)")
    else:
        require(isinstance(strategy, dict) and set(strategy) == {"fail-fast", "matrix"}
                and isinstance(strategy["matrix"], dict) and set(strategy["matrix"]) == {matrix},
                f"{path}: job {name}: its strategy must be a matrix over {matrix} alone with fail-fast off, nothing "
                f"else (it is on the way to the deploy), is {strategy}")
    for step in job["steps"]:
        extra = set(step) - STEP_KEYS
        allowed = "if" in extra and (step.get("name"), step["if"]) in allowed_ifs
        require(not extra - ({"if"} if allowed else set()),
                f"{path}: job {name}: step {step.get('name') or step.get('uses')!r} must not set {sorted(extra)}: "
                "on the way to the deploy a failed step stops the job (bash -e, no if:, no continue-on-error)")


def check_env(path, name, job, expected):
    require(job.get("env", {}) == expected,
            f"{path}: job {name}: env must be exactly {sorted(expected)} as listed, is {job.get('env')}")
    for step in job["steps"]:
        if step.get("run", "").strip() != VERIFY_RUN:
            require("env" not in step, f"{path}: job {name}: step {step.get('name')!r} sets its own env")


def check_build_job(path, name, job):
    permissions = job.get("permissions", {})
    require(permissions == {"contents": "read", "id-token": "write", "attestations": "write"},
            f"{path}: job {name} needs exactly contents: read, id-token: write (Sigstore certificates) and "
            f"attestations: write, has {permissions}")
    require(job.get("if") == BUILD_GATE, f"{path}: job {name} must run on pushes to main only: if: {BUILD_GATE}")
    check_path(path, name, job)
    check_env(path, name, job, BUILD_ENV)
    steps = job["steps"]
    expected = ["actions/checkout", "azure/login", BUILD_RUN, "sigstore/cosign-installer", SIGN_RUN,
                *(["actions/attest-build-provenance"] * len(IMAGES)), LOCK_RUN]
    require(kinds(steps) == expected,
            f"{path}: job {name} must be, step by step: {expected}; is {kinds(steps)}")
    sign = steps[4]
    require(sign.get("id") == "sign", f"{path}: job {name}: the signing step needs id: sign (its outputs)")
    for image, step in zip(IMAGES, steps[5:5 + len(IMAGES)]):
        settings = step.get("with", {})
        require(settings == {"subject-name": f"${{{{ steps.sign.outputs.registry }}}}/btc-price/{image}",
                             "subject-digest": f"${{{{ steps.sign.outputs.{image} }}}}", "push-to-registry": True},
                f"{path}: job {name}: the provenance of {image} must name the signed digest "
                f"(steps.sign.outputs.{image}) and be pushed to the registry, has {settings}")


def check_deploy_job(path, name, job, build):
    require(job.get("permissions") == {"contents": "read", "id-token": "write"},
            f"{path}: job {name} needs exactly contents: read and id-token: write, has {job.get('permissions')}")
    needs = job.get("needs")
    require(needs == build or needs == [build], f"{path}: job {name} must need {build} (and only it), needs {needs}")
    require("if" not in job, f"{path}: job {name} must run only when {build} succeeded (no if:)")
    check_path(path, name, job)
    check_env(path, name, job, DEPLOY_ENV)
    steps = job["steps"]
    expected = ["actions/checkout", "azure/login", "sigstore/cosign-installer", VERIFY_RUN, DEPLOY_RUN]
    found = [kind for kind, step in zip(kinds(steps), steps) if not plain(step, ("az ", "sudo az "))]
    require(found == expected, f"{path}: job {name} must be, besides plain az commands: {expected}; is {kinds(steps)}")
    require(kinds(steps)[-2:] == [VERIFY_RUN, DEPLOY_RUN],
            f"{path}: job {name}: the deploy must be the last step, right after the verification")
    require(steps[-2].get("env") == VERIFY_ENV,
            f"{path}: job {name}: the verification's env must be exactly {VERIFY_ENV}, is {steps[-2].get('env')}")


def check_test_job(path, jobs):
    job = jobs["test"]
    require(job.get("env", {}).get("RUSTSEC_DB") == "live",
            f"{path}: the test job must run cargo-deny against the live advisory database (env RUSTSEC_DB: live)")
    check_path(path, "test", job, allowed_ifs={("upload screenshots and reports", "always()")}, matrix=TEST_MATRIX)
    found = [kind for kind, step in zip(kinds(job["steps"]), job["steps"]) if not plain(step, ("rustup ",))]
    expected = ["actions/checkout", "actions/cache", TEST_RUN, "actions/upload-artifact"]
    require(found == expected, f"{path}: the test job must be, besides plain rustup commands: {expected}; is {found}")


def check_signing(path, jobs):
    builds = [n for n, j in jobs.items() if any(s.get("run", "").strip() == BUILD_RUN for s in j.get("steps", []))]
    deploys = [n for n, j in jobs.items() if any(s.get("run", "").strip() == DEPLOY_RUN for s in j.get("steps", []))]
    require(len(builds) == 1 and len(deploys) == 1,
            f"{path}: expected one job running {BUILD_RUN} and one running {DEPLOY_RUN}, found {builds} and {deploys}")
    require(jobs[builds[0]].get("needs") in ("test", ["test"]), f"{path}: job {builds[0]} must need the tests (test)")
    check_test_job(path, jobs)
    check_build_job(path, builds[0], jobs[builds[0]])
    check_deploy_job(path, deploys[0], jobs[deploys[0]], builds[0])
    return builds[0], deploys[0]
