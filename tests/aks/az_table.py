"""The table of az-cli-arguments.json, read from an installed azure-cli (only where one is
installed: `python tests/aks/az_cli.py generate`, see tests/aks/README.md).

For each command: its parser's arguments (option strings, number of values, choices and whether
they ignore case, required), the type argparse converts each value with (int, float...) and the
default the command sees when the argument is not given; then the validators azure-cli runs on
the parsed namespace before the command itself (and so before it asks for a login), in the order
it runs them, each with the namespace attributes its source reads. A command-level validator
replaces the argument-level ones (knack's _validation). az_cli.py emulates the validators that
read what the scripts pass and refuses to guess about the others.
"""

import inspect
import json
import re

READS = re.compile(r"\b(?:namespace|ns)\.(\w+)|(?:get|has)attr\((?:namespace|ns), ['\"](\w+)['\"]")


def name_of(function):
    function = getattr(function, "func", function)  # functools.partial
    return getattr(function, "__name__", type(function).__name__)


def reads_of(validator, dest=None):
    """The namespace attributes VALIDATOR's source reads (and the argument it is attached to)."""
    try:
        source = inspect.getsource(getattr(validator, "func", validator))
    except (OSError, TypeError):
        source = ""
    found = {a or b for a, b in READS.findall(source)}
    if dest:
        found.add(dest)
    return sorted(found)


def plain_default(value):
    """The default as JSON when it is a plain value (what an emulated validator may read); knack's
    DefaultStr and DefaultInt become the str and int they are."""
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return None


def generate(commands):
    """The table of COMMANDS, read from the parser of the installed azure-cli."""
    from azure.cli.core import __version__, get_default_cli  # only where azure-cli is installed
    from knack.events import EVENT_INVOKER_CMD_TBL_LOADED

    class Loaded(BaseException):
        pass

    def loaded(command):
        cli = get_default_cli()

        def capture(_cli, **kwargs):
            raise Loaded(kwargs)

        cli.register_event(EVENT_INVOKER_CMD_TBL_LOADED, capture)
        cli.invocation = cli.invocation_cls(cli_ctx=cli, parser_cls=cli.parser_cls,
                                            commands_loader_cls=cli.commands_loader_cls,
                                            help_cls=cli.help_cls)
        try:
            cli.invocation.execute(command.split() + ["--only-show-errors"])
        except Loaded as caught:
            kwargs = caught.args[0]
            if command in kwargs["parser"].subparser_map:
                return kwargs["parser"].subparser_map[command], kwargs["cmd_tbl"][command]
        raise SystemExit(f"azure-cli has no command '{command}'")

    table = {"azure-cli": __version__, "commands": {}}
    for command in sorted(set(commands)):
        parser, metadata = loaded(command)
        arguments = []
        for action in parser._actions:  # pylint: disable=protected-access
            argument = {"options": list(action.option_strings), "dest": action.dest,
                        "nargs": 0 if action.nargs == 0 else action.nargs, "required": bool(action.required)}
            if action.choices is not None:
                argument["choices"] = [str(choice) for choice in action.choices]
                argument["ignore_case"] = type(action.choices).__name__ == "CaseInsensitiveList"
            if action.type is not None and name_of(action.type) != "str":
                argument["type"] = name_of(action.type)
            default = plain_default(action.default)
            if default is not None and action.nargs != 0:
                argument["default"] = default
            arguments.append(argument)
        spec = {"allow_abbrev": parser.allow_abbrev, "arguments": arguments}
        if metadata.validator:
            spec["command_validator"] = {"name": name_of(metadata.validator), "reads": reads_of(metadata.validator)}
        else:
            spec["validators"] = [
                {"name": name_of(arg.validator), "reads": reads_of(arg.validator, dest)}
                for dest, arg in metadata.arguments.items()
                if arg.validator and not (arg.type.settings.get("deprecate_info")
                                          and arg.type.settings["deprecate_info"].expired())]
        table["commands"][command] = spec
    return table


def render(table):
    """The table as JSON with one argument (or validator) per line, so that a regeneration reads as
    a diff."""
    lines = ["{", f' "azure-cli": {json.dumps(table["azure-cli"])},', ' "commands": {']
    commands = sorted(table["commands"].items())
    for number, (name, spec) in enumerate(commands):
        lines.append(f'  {json.dumps(name)}: {{"allow_abbrev": {json.dumps(spec["allow_abbrev"])}, "arguments": [')
        lines.append(",\n".join(f'   {json.dumps(argument, sort_keys=True)}' for argument in spec["arguments"]))
        if "command_validator" in spec:
            lines.append(f'  ], "command_validator": {json.dumps(spec["command_validator"], sort_keys=True)}')
        elif spec["validators"]:
            lines.append('  ], "validators": [')
            lines.append(",\n".join(f'   {json.dumps(v, sort_keys=True)}' for v in spec["validators"]))
            lines.append("  ]")
        else:
            lines.append('  ], "validators": []')
        lines.append("  }" + ("," if number < len(commands) - 1 else ""))
    lines += [" }", "}", ""]
    return "\n".join(lines)
