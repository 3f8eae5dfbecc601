"""What the checks of tests/aks (checks.py, workflow.py) share: the failure they raise, the
assertion that raises it, and an az command line checked against the Azure CLI's arguments
(az_cli.py), spelled out in full."""

import shlex


class CheckFailed(Exception):
    pass


def require(condition, message):
    if not condition:
        raise CheckFailed(message)


def check_az_words(where, words, table):
    """The command's name when `az WORDS` is accepted by the CLI of TABLE, without abbreviations."""
    import az_cli  # here: the checks that import this module for CheckFailed alone start faster

    try:
        return az_cli.check(words, table, exact=True)
    except az_cli.Refused as refused:
        raise CheckFailed(f"{where}: az {shlex.join(words)}\n  refused as the Azure CLI "
                          f"{table['azure-cli']} would: {refused}") from refused
