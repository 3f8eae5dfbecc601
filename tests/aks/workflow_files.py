"""Every workflow file GitHub runs (.github/workflows/*.yml and *.yaml), for tests/aks/checks.py
workflows: each action and reusable workflow pinned to a commit SHA, each container image of a job
or a `docker://` step by digest (tests/supply-chain/pins.py also holds them to the third-party
list), and only the delivery workflow holding the powers of a deploy: the `production`
environment (whose federated credential is the pipeline's Azure identity), azure/login, an
id-token, the aks/ scripts. A second workflow with any of them would deploy around the delivery
workflow's signatures and verifications, which tests/aks/signing.py holds to their order."""

import re
from pathlib import Path

from common import require

DELIVERY = "ci-cd.yml"
SHA_PIN = re.compile(r"^[^@\s]+@[0-9a-f]{40}$")
DIGEST_PIN = re.compile(r"^[^@\s]+@sha256:[0-9a-f]{64}$")
AKS_SCRIPT = re.compile(r"(^|[\s;&|(`/])(\./)?aks/[\w./-]+\.sh\b")


def environment_name(job):
    environment = job.get("environment")
    return environment.get("name") if isinstance(environment, dict) else environment


def id_token(permissions):
    return permissions == "write-all" or (isinstance(permissions, dict) and permissions.get("id-token") == "write")


def job_images(job):
    """The images a job runs in or beside: container: and services:."""
    images = []
    container = job.get("container")
    if container:
        images.append(container.get("image") if isinstance(container, dict) else container)
    for service in (job.get("services") or {}).values():
        images.append(service.get("image") if isinstance(service, dict) else service)
    return images


def check_file(path, workflow):
    jobs = workflow.get("jobs") or {}
    delivery = path.name == DELIVERY
    powers = []
    if id_token(workflow.get("permissions")):
        powers.append("workflow-wide id-token: write")
    for name, job in jobs.items():
        reusable = job.get("uses")
        if reusable:
            require(reusable.startswith("./") or SHA_PIN.match(reusable),
                    f"{path}: job {name}: reusable workflow {reusable} is not pinned to a commit SHA")
            if DELIVERY in reusable:
                powers.append(f"job {name} calls {DELIVERY}")
        for image in job_images(job):
            require(isinstance(image, str) and DIGEST_PIN.match(image),
                    f"{path}: job {name}: container image {image!r} is not pinned by digest")
        if environment_name(job) == "production":
            powers.append(f"job {name} uses the environment production")
        if id_token(job.get("permissions")):
            powers.append(f"job {name} asks for an id-token")
        for step in job.get("steps") or []:
            action = step.get("uses", "")
            if action.startswith("docker://"):
                require(DIGEST_PIN.match(action[len("docker://"):]),
                        f"{path}: job {name}: {action} is not pinned by digest")
            elif action and not action.startswith("./"):
                require(SHA_PIN.match(action), f"{path}: job {name}: {action} is not pinned to a commit SHA")
            if action.startswith("azure/login@"):
                powers.append(f"job {name} signs in to Azure")
            if AKS_SCRIPT.search(step.get("run", "")):
                powers.append(f"job {name} runs an aks/ script")
    require(delivery or not powers,
            f"{path}: only .github/workflows/{DELIVERY} may deploy, and it holds the signatures and "
            f"verifications that go with it; this file: {'; '.join(powers)}")
    return len(jobs)


def check_workflow_files(directory):
    import yaml

    files = sorted(p for p in Path(directory).iterdir() if p.suffix in (".yml", ".yaml") and p.is_file())
    require(any(p.name == DELIVERY for p in files), f"{directory}: no {DELIVERY}")
    counts = {}
    for path in files:
        with open(path, encoding="utf-8") as handle:
            workflow = yaml.safe_load(handle)
        require(isinstance(workflow, dict), f"{path}: not a workflow")
        counts[path.name] = check_file(path, workflow)
    print(f"  {directory}: {', '.join(f'{name} ({jobs} jobs)' for name, jobs in counts.items())}; every action "
          f"pinned to a commit, every container by digest; only {DELIVERY} deploys")
