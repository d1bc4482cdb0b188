"""The root CLI imports a command's module only when that command runs, and its help still
lists every command with the command's own help line."""

from __future__ import annotations

import subprocess
import sys

import pytest
import typer

from polytraders.cli.main import COMMANDS, load_command


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own_first_paragraph(name: str) -> None:
    cmd = load_command(name)
    assert cmd.name == name
    assert (cmd.help or "").split("\n\n")[0].strip() == COMMANDS[name][2], (
        f"update COMMANDS[{name!r}] in cli/main.py to the command's new help line")


def _modules_after(*argv: str) -> set[str]:
    code = ("import sys; from polytraders.cli.main import app\n"
            f"sys.argv = ['polytraders', *{list(argv)!r}]\n"
            "try:\n    app()\nexcept SystemExit:\n    pass\n"
            "print('\\n'.join(sorted(sys.modules)), file=sys.stderr)")
    ran = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return set(ran.stderr.split())


def test_root_help_lists_every_command_without_importing_them() -> None:
    ran = subprocess.run([sys.executable, "-m", "polytraders.cli.main", "--help"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 0
    for name in COMMANDS:
        assert f" {name} " in ran.stdout, name
    loaded = _modules_after("--help")
    heavy = {"polytraders.journal.sqlite", "polytraders.contracts", "pydantic", "web3", "py_ecc",
             "eth_keyfile", "polytraders.engine.system", "polytraders.cli.demo"}
    assert not heavy & loaded, heavy & loaded


def test_a_command_loads_its_own_module_only() -> None:
    loaded = _modules_after("codes", "--help")
    assert "polytraders.cli.codes" in loaded
    assert not {"polytraders.cli.demo", "polytraders.cli.exchange", "polytraders.engine.system",
                "web3", "py_ecc"} & loaded


def test_unknown_command_is_bad_usage() -> None:
    ran = subprocess.run([sys.executable, "-m", "polytraders.cli.main", "nosuch"], capture_output=True,
                         text=True, timeout=60)
    assert ran.returncode == 2 and "No such command" in ran.stderr and "Traceback" not in ran.stderr


def test_groups_load_as_groups() -> None:
    assert isinstance(load_command("killswitch"), typer.core.TyperGroup)
    assert not isinstance(load_command("orders"), typer.core.TyperGroup)
