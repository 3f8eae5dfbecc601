"""The delivery pipeline's invariants for tests/aks/checks.py (workflow, workflow-env,
az-workflow): tests on every event with their artefacts kept, the end-to-end job on kind, the
deploy jobs on main through OIDC with IDs only, the deploy job carrying the HTTPS host, the job's
environment as GitHub would set it, its az commands as the Azure CLI accepts them, and the images
signed, attested and verified (signing.py)."""

import re
import shlex
from pathlib import Path

import az_cli
import signing
from common import check_az_words, require

SHA_PIN = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
SHELL_VARIABLE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
EXAMPLE_VALUES = {
    "AKS_ACR_NAME": "btcprice0123abcd",
    "ACR": "btcprice0123abcd",
    "tag": "btc-price/api-a:0123456789abcdef0123456789abcdef01234567",
}
"""What the variables of the workflow's az command lines hold on a real run (the repository
variables' rules are in aks/settings.sh), so that az's validators judge real values."""


def check_workflow(path):
    import yaml

    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    workflow = yaml.safe_load(text)
    # PyYAML reads the key "on" as True (YAML 1.1).
    triggers = workflow.get("on", workflow.get(True))
    require("pull_request" in triggers, f"{path}: must run on pull_request")
    # Not callable from another workflow: a caller's job would carry this file's job_workflow_ref
    # on main, the identity the deploy demands, with the caller's code around it.
    require(set(triggers) <= {"pull_request", "push", "workflow_dispatch"},
            f"{path}: runs on {sorted(triggers)}; only pull_request, push and workflow_dispatch (no workflow_call)")
    require(triggers.get("push", {}).get("branches") == ["main"], f"{path}: must run on push to main")
    require(workflow.get("permissions") == {"contents": "read"}, f"{path}: default permissions must be contents: read")
    # Workflow-wide settings reach every job, the deploy's too: no default shell (it could drop
    # bash -e), no setting of the scripts.
    require("defaults" not in workflow, f"{path}: no workflow-wide defaults (a run: step's shell is bash -e)")
    require(set(workflow.get("env", {})) <= {"RUST_TOOLCHAIN"},
            f"{path}: the workflow-wide env may only name the Rust toolchain, has {sorted(workflow.get('env', {}))}")
    require("secrets." not in text, f"{path}: uses a secret; the pipeline must hold IDs only (OIDC)")
    jobs = workflow["jobs"]
    uses = [step["uses"] for job in jobs.values() for step in job.get("steps", []) if "uses" in step]
    for action in uses:
        require(SHA_PIN.match(action), f"{path}: {action} is not pinned to a commit SHA")
    check_test_matrix(path, jobs["test"])
    require("if" not in jobs["test"], f"{path}: the tests must run on every event")
    check_test_artefacts(path, jobs["test"]["steps"])
    deploying = [name for name, job in jobs.items()
                 if any("azure/login@" in step.get("uses", "") for step in job.get("steps", []))]
    require(deploying, f"{path}: no job signs in to Azure")
    for name in deploying:
        job = jobs[name]
        require(job.get("permissions", {}).get("id-token") == "write", f"{path}: job {name} needs id-token: write (OIDC)")
        login = next(step for step in job["steps"] if "azure/login@" in step.get("uses", ""))
        require(login.get("with") == {
            "client-id": "${{ vars.AZURE_CLIENT_ID }}",
            "tenant-id": "${{ vars.AZURE_TENANT_ID }}",
            "subscription-id": "${{ vars.AZURE_SUBSCRIPTION_ID }}",
        }, f"{path}: job {name} must log in with the three ID variables only, found {login.get('with')}")
        require(job.get("environment") == "production", f"{path}: job {name} must use environment production")
        needs = job.get("needs")
        require(needs, f"{path}: job {name} must wait for the tests (needs)")
    runs = " ".join(step.get("run", "") for name in deploying for step in jobs[name]["steps"])
    require("aks/deploy.sh --build-only" in runs and "aks/deploy.sh --skip-build" in runs,
            f"{path}: the pipeline must build with aks/deploy.sh --build-only and deploy with --skip-build")
    gate = jobs[deploying[0]].get("if", "")
    require("refs/heads/main" in gate and "push" in gate, f"{path}: deployment must be limited to pushes to main")
    check_deploy_host(path, jobs)
    e2e = check_e2e_job(path, jobs)
    build, deploy = signing.check_signing(path, jobs)
    print(f"  {path}: tests on every PR, one job per suite (screenshots and reports kept), end-to-end on kind for PRs "
          f"(job {e2e}), deploy on main via OIDC (jobs {deploying}), {len(uses)} actions pinned by SHA, "
          f"no secrets; job {build} signs, attests and locks the images, job {deploy} verifies them "
          "before it applies anything")


def check_deploy_host(path, jobs):
    """The deploy job carries the public host through: a repository variable AKS_HOST, which makes
    aks/deploy.sh apply the HTTPS overlay (the suite runs the job's command with its environment);
    without it, each push to main would replace a cluster's HTTPS with the plain overlay."""
    deploys = [name for name, job in jobs.items()
               if any("aks/deploy.sh --skip-build" in step.get("run", "") for step in job.get("steps", []))]
    require(len(deploys) == 1, f"{path}: expected one job running aks/deploy.sh --skip-build, found {deploys}")
    job = jobs[deploys[0]]
    require(job.get("env", {}).get("AKS_HOST") == "${{ vars.AKS_HOST }}",
            f"{path}: job {deploys[0]} must set AKS_HOST: ${{{{ vars.AKS_HOST }}}} (the HTTPS host), "
            f"has {job.get('env', {}).get('AKS_HOST')!r}")
    for step in job["steps"]:
        require("AKS_HOST" not in step.get("env", {}) and "AKS_HOST" not in step.get("run", ""),
                f"{path}: job {deploys[0]}: a step overrides AKS_HOST: {step}")


def workflow_env(path, job_name, values, step_name=None):
    """The job's env (and, with STEP_NAME, the index of a step, that step's env over it) with its expressions
    evaluated: ${{ vars.X }}, ${{ vars.X || 'default' }} and ${{ github.X }}, from VALUES
    ("vars.X" or "github.X" -> value; a missing variable is empty, as on GitHub)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        job = yaml.safe_load(handle)["jobs"][job_name]
    settings = dict(job.get("env", {}))
    if step_name is not None:
        settings.update(job["steps"][int(step_name)].get("env", {}))
    expression = re.compile(r"^\$\{\{ (vars|github)\.([A-Za-z_]+)(?: \|\| '([^']*)')? \}\}$")
    env = {}
    for name, value in settings.items():
        value = str(value)
        if "${{" in value:
            match = expression.match(value)
            require(match, f"{path}: job {job_name}: env {name}: expression {value!r} not understood")
            value = values.get(f"{match.group(1)}.{match.group(2)}", "") or (match.group(3) or "")
        env[name] = value
    for name, value in env.items():
        print(f"{name}={value}")


TEST_RUN = signing.TEST_RUN


def check_test_matrix(path, job):
    """The test job runs each suite of tests/run (tests/suites/SUITE.sh) as one job of its matrix."""
    suites = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "suites").glob("*.sh"))
    matrix = job.get("strategy", {}).get("matrix", {}).get(signing.TEST_MATRIX, [])
    require(sorted(matrix) == suites and len(set(matrix)) == len(matrix),
            f"{path}: the test job's matrix must name each suite of tests/run once: {suites}, found {matrix}")
    require(job.get("strategy", {}).get("fail-fast") is False,
            f"{path}: one failing suite must not cancel the others (fail-fast: false)")
    runs = [step.get("run", "").strip() for step in job["steps"]]
    require(TEST_RUN in runs, f"{path}: the test job must run {TEST_RUN}")


def workflow_step(path, job_name, index):
    """The run: text of the job's step INDEX (0 the first, -1 the last), as GitHub hands it to bash."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        job = yaml.safe_load(handle)["jobs"][job_name]
    print(job["steps"][int(index)]["run"].strip())


# Where the suites leave what a person reads after a run (screenshots, reports, logs): the test
# job keeps them as build artefacts.
TEST_ARTEFACTS = ["target/browser/", "target/drills/", "target/contract/", "target/observability/",
                  "target/bench/"]


def check_test_artefacts(path, steps):
    uploads = [i for i, step in enumerate(steps)
               if step.get("uses", "").startswith("actions/upload-artifact@")]
    require(len(uploads) == 1,
            f"{path}: the test job must upload the suites' artefacts once, found {len(uploads)}")
    (index,) = uploads
    upload = steps[index]
    runs = [i for i, step in enumerate(steps) if step.get("run", "").strip() == TEST_RUN]
    require(runs and runs[0] < index, f"{path}: the artefacts must be uploaded after tests/run")
    require(upload.get("if") == "always()",
            f"{path}: the artefacts must be uploaded when the tests fail too (if: always())")
    paths = upload.get("with", {}).get("path", "").split()
    missing = [folder for folder in TEST_ARTEFACTS if folder not in paths]
    require(not missing, f"{path}: the test job's artefacts lack {missing}")


# The end-to-end job calls, in this order, the scripts tests/suites/aks.sh dry-runs with AKS_PLATFORM=kind.
E2E_SCRIPTS = ["aks/kind/create-cluster.sh", "aks/install-ingress.sh", "aks/deploy.sh", "aks/kind/delete-cluster.sh"]


def check_e2e_job(path, jobs):
    e2e = [name for name, job in jobs.items() if job.get("env", {}).get("AKS_PLATFORM") == "kind"]
    require(len(e2e) == 1, f"{path}: expected one job with AKS_PLATFORM: kind (the end-to-end job), found {e2e}")
    job = jobs[e2e[0]]
    require("pull_request" in job.get("if", ""), f"{path}: job {e2e[0]} must run on pull requests")
    require("id-token" not in job.get("permissions", {}), f"{path}: job {e2e[0]} needs no Azure identity")
    steps = job["steps"]
    require("actions/checkout@" in steps[0].get("uses", ""), f"{path}: job {e2e[0]} starts with the checkout")
    runs = [step.get("run", "").strip() for step in steps[1:]]
    require(runs == E2E_SCRIPTS and all("uses" not in step for step in steps[1:]),
            f"{path}: job {e2e[0]} must run exactly {E2E_SCRIPTS}, one script per step, found {runs}")
    require(steps[-1].get("if") == "always()", f"{path}: job {e2e[0]} must delete the cluster whatever happened")
    return e2e[0]


def example(path, variable):
    require(variable in EXAMPLE_VALUES,
            f"{path}: an az command line uses ${variable}: add an example value to EXAMPLE_VALUES")
    return EXAMPLE_VALUES[variable]


def check_az_workflow(path):
    """Every az command of the workflow's run: steps (one command per line, continuation lines
    joined, `sudo az` too)."""
    import yaml

    with open(path, encoding="utf-8") as handle:
        workflow = yaml.safe_load(handle)
    table = az_cli.load_table()
    checked = []
    for name, job in workflow["jobs"].items():
        for step in job.get("steps", []):
            for line in re.sub(r"\\\n\s*", "", step.get("run", "")).splitlines():
                words = shlex.split(line)
                words = words[1:] if words[:1] == ["sudo"] else words
                if words[:1] == ["az"]:
                    words = [SHELL_VARIABLE.sub(lambda m: example(path, m.group(1)), w) for w in words]
                    checked.append(check_az_words(f"{path}: job {name}", words[1:], table))
    require(checked, f"{path}: no az command found in the run: steps")
    print(f"  {path}: {len(checked)} az commands ({', '.join(checked)}) accepted by azure-cli "
          f"{table['azure-cli']}")
