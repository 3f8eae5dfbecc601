"""What the Azure CLI checks after parsing and before it asks for a login: the value types its
parser converts with, and the validators it runs on the parsed namespace (both named in
az-cli-arguments.json, read from azure-cli's parser by az_table.py). Each one the aks/ scripts' or
the workflow's arguments reach is re-implemented here from its azure-cli source (acs, acr and role
_validators.py, core and knack), with the CLI's own message, so that the az stand-in refuses what
az refuses; tests/aks/az-refusals.txt lists a case for each, compared with the real CLI
(`az_cli.py compare`).

A validator that is not emulated and reads an argument the command line gives is not guessed
about: NotEmulated says which one to add. Validators that can only refuse what no command line
gives them (they read only defaults) are skipped, as they accept the defaults.
"""

import re


class Refused(Exception):
    """The error az prints, and its exit status: 2 for the parser, 1 for a validator."""

    def __init__(self, message, status=2):
        super().__init__(message)
        self.status = status


class NotEmulated(Exception):
    """A check of the real CLI that this module does not reproduce."""


def invalid(label, kind, value):
    return Refused(f"argument {label}: invalid {kind} value: {value!r}")


def jmespath_type(value):
    # knack's --query type: compiled with JMESPath; its errors are ValueErrors (and KeyErrors).
    try:
        import jmespath
    except ImportError as missing:
        raise NotEmulated("--query: the jmespath module is needed to check a query as az does") from missing
    jmespath.compile(value)
    return value


def identity(value):
    return value


# Value types of the parser: how a value is converted (a ValueError, TypeError or KeyError is
# argparse's "invalid <type> value"). location_name_type, file_type and validate_tag never fail.
TYPES = {
    "int": int,
    "float": float,
    "lower": str.lower,  # --output: lowered before its choices are checked
    "jmespath_type": jmespath_type,
    "location_name_type": identity,
    "file_type": identity,
    "validate_tag": identity,
}


def convert(label, kind, value):
    if kind not in TYPES:
        raise NotEmulated(f"argument {label}: value type {kind} (add it to az_validators.TYPES)")
    try:
        return TYPES[kind](value)
    except (ValueError, TypeError, KeyError) as error:
        raise invalid(label, kind, value) from error


def fail(message):
    raise Refused(message, status=1)


# ---- acs (az aks ...) ----------------------------------------------------------------------
def validate_linux_host_name(ns):
    if not re.match(r"^[a-zA-Z0-9]$|^[a-zA-Z0-9][-_a-zA-Z0-9]{0,61}[a-zA-Z0-9]$", ns["name"] or ""):
        fail("--name cannot exceed 63 characters and can only contain letters, numbers, underscores (_) "
             "or dashes (-).")


def validate_ssh_key(ns):
    if ns.get("no_ssh_key"):
        return
    raise NotEmulated("validate_ssh_key without --no-ssh-key reads or generates ~/.ssh/id_rsa.pub")


def validate_k8s_version(ns):
    version = ns.get("kubernetes_version")
    if version and not re.match(r"^[v|V]?(\d+\.\d+(?:\.\d+)?)$", version):
        fail('--kubernetes-version should be the full version number or major.minor version number, '
             'such as "1.7.12" or "1.7"')


def validate_create_parameters(ns):
    if not ns.get("name"):
        fail("--name has no value")
    if ns.get("dns_name_prefix") is not None and not ns["dns_name_prefix"]:
        fail("--dns-prefix has no value")


def validate_network_policy(ns):
    if ns.get("network_policy") is not None and not ns["network_policy"].islower():
        fail("--network-policy should be provided in lowercase")


def one_of_lowered(value, allowed, message):
    if value and value.lower() not in allowed:
        fail(message)


def validate_sku_tier(ns):
    one_of_lowered(ns.get("tier"), ("free", "standard", "premium"),
                   "--tier can only be free, standard and premium")


def validate_k8s_support_plan(ns):
    one_of_lowered(ns.get("k8s_support_plan"), ("kubernetesofficial", "akslongtermsupport"),
                   "--k8s-support-plan can only be KubernetesOfficial or AKSLongTermSupport")


def validate_nodepool_name(ns):
    name = ns.get("nodepool_name")
    if name:
        if len(name) > 12:
            fail("--nodepool-name can contain at most 12 characters")
        if not name.isalnum():
            fail("--nodepool-name should contain only alphanumeric characters")


def validate_nodes_count(ns):
    for option, dest in (("--min-count", "min_count"), ("--max-count", "max_count")):
        if ns.get(dest) is not None and not 0 <= ns[dest] <= 1000:
            fail(f"{option} must be in the range [0,1000]")


def validate_nodepool_taints(ns):
    taints = ns["nodepool_taints"] if "nodepool_taints" in ns else ns.get("node_taints")
    for taint in (taints or "").split(","):
        pattern = r"^[a-zA-Z\d][\w\-\.\/]{0,252}=[a-zA-Z\d][\w\-\.]{0,62}:(NoSchedule|PreferNoSchedule|NoExecute)$"
        if taint and not re.match(pattern, taint):
            raise Refused(f"Invalid node taint: {taint}", status=1)


def validate_gateway_prefix_size(ns):
    size = ns.get("gateway_prefix_size")
    if size is not None:
        if ns.get("mode") != "Gateway":
            raise Refused("--gateway-prefix-size can only be set for Gateway-mode nodepools", status=1)
        if not 28 <= size <= 31:
            fail("--gateway-prefix-size must be in the range [28, 31]")


def release_version(option, example, ns, dest):
    if not re.match(r"^[v|V]?(\d+\.\d+\.\d+.*|latest)$", ns.get(dest) or ""):
        fail(f"{option} should be the full version number {example} or \"latest\"")


def validate_kubectl_version(ns):
    release_version("--client-version", '(such as "1.11.8" or "1.12.6")', ns, "client_version")


def validate_kubelogin_version(ns):
    release_version("--kubelogin-version", '(such as "0.0.4")', ns, "kubelogin_version")


def validate_acr(ns):
    if ns.get("attach_acr") and ns.get("detach_acr"):
        fail('Cannot specify "--attach-acr" and "--detach-acr" at the same time.')
    if ns.get("assignee_principal_type") and not ns.get("attach_acr"):
        fail('The "--assignee-principal-type" argument can only be used with "--attach-acr".')
    if ns.get("attach_acr") and ns.get("assignee_principal_type") not in (None, "User", "ServicePrincipal", "Group"):
        fail("Invalid value for --assignee_principal_type. Allowed values are: User, ServicePrincipal, Group")


# ---- acr ---------------------------------------------------------------------------------------
BAD_REGISTRY_NAME = ("Registry names may contain only alpha numeric characters and must be between 5 "
                     "and 50 characters")


def validate_registry_name(ns):
    registry = ns.get("registry_name")
    if registry is None:
        return
    name, dot, suffix = registry.partition(".")
    suffix = dot + suffix
    if not suffix and "-" in name:
        fail(BAD_REGISTRY_NAME)
    if suffix and suffix.lower() != ".azurecr.io":
        fail("The login server suffix is not valid for the current cloud. Please try again using '.azurecr.io'.")
    if suffix:
        name = name.split("-", 1)[0]  # the domain name label hash of a login server name
    if not re.match(r"^[a-zA-Z0-9-]{5,50}$", name):
        fail(BAD_REGISTRY_NAME)


# ---- role --------------------------------------------------------------------------------------
def process_assignment_namespace(ns, options):
    for dest in ("assignee", "scope", "role", "resource_group_name"):
        if ns.get(dest) == "":
            fail(f"usage error: {options[dest]} can't be an empty string. Either omit it or provide a "
                 "non-empty string.")


def never_refuses(_ns):
    """validate_tags, validate_arg (acr build --build-arg): they only reshape the values; and
    get_default_location_from_resource_group, which the scripts never leave without --location
    (without it, a logged-in az reads the resource group's)."""


VALIDATORS = {
    "validate_linux_host_name": validate_linux_host_name,
    "validate_ssh_key": validate_ssh_key,
    "validate_k8s_version": validate_k8s_version,
    "validate_create_parameters": validate_create_parameters,
    "validate_network_policy": validate_network_policy,
    "validate_sku_tier": validate_sku_tier,
    "validate_k8s_support_plan": validate_k8s_support_plan,
    "validate_nodepool_name": validate_nodepool_name,
    "validate_nodes_count": validate_nodes_count,
    "validate_nodepool_taints": validate_nodepool_taints,
    "validate_gateway_prefix_size": validate_gateway_prefix_size,
    "validate_kubectl_version": validate_kubectl_version,
    "validate_kubelogin_version": validate_kubelogin_version,
    "validate_acr": validate_acr,
    "validate_registry_name": validate_registry_name,
    "validate_tags": never_refuses,
    "validate_arg": never_refuses,
    "get_default_location_from_resource_group": never_refuses,
}
COMMAND_VALIDATORS = {"process_assignment_namespace": process_assignment_namespace}


def run_validators(command, spec, ns, given):
    """The validators of SPEC (a command of the table) on the namespace NS, in azure-cli's order;
    GIVEN: the destinations the command line set."""
    if "command_validator" in spec:
        validator = spec["command_validator"]
        if validator["name"] not in COMMAND_VALIDATORS:
            raise NotEmulated(f"az {command}: command validator {validator['name']} (add it to az_validators.py)")
        options = {arg["dest"]: arg["options"][0] for arg in spec["arguments"] if arg["options"]}
        COMMAND_VALIDATORS[validator["name"]](ns, options)
        return
    for validator in spec["validators"]:
        if validator["name"] in VALIDATORS:
            VALIDATORS[validator["name"]](ns)
        elif given & set(validator["reads"]):
            raise NotEmulated(f"az {command}: validator {validator['name']} reads "
                              f"{', '.join(sorted(given & set(validator['reads'])))}, which this command "
                              "line gives (add it to az_validators.py)")
