"""What every command group shares: the settings (environment and command line merged, once),
the functions registry, and the one error a command raises for a mistake in how it was called.

The merge is here and nowhere else: `Settings.from_env` reads the environment (the only reader of
`os.environ`), then a command-line flag given replaces its variable (`--namespace` over
`CLASSOPS_NAMESPACE`, `--kubeconfig` over `CLASSOPS_KUBECONFIG`, `--functions` over
`CLASSOPS_FUNCTIONS`). A command that never asks for settings (`validate`, `render`) is not
stopped by a bad variable it does not use.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable

from shared.handlers.registry import Registry
from shared.handlers.registry import load as load_functions
from shared.settings import Settings, SettingsError

# How a command group adds a subcommand: `subcommand(commands, name, help, outputs=...)` gives
# an argparse parser with the global options; the group adds its own and `set_defaults(func=)`.
Subcommand = Callable[..., argparse.ArgumentParser]

FLAGS = {"namespace": "namespace", "kubeconfig": "kubeconfig", "functions": "functions"}


class UsageError(Exception):
    """A mistake in how classops was called: one line for the operator, exit code 2."""


def settings(args: argparse.Namespace) -> Settings:
    """The environment's settings with the command line's flags laid over, built once per run."""
    cached: Settings | None = getattr(args, "settings", None)
    if cached is not None:
        return cached
    try:
        merged = Settings.from_env(os.environ)
    except SettingsError as err:
        raise UsageError(str(err)) from None
    given = {field: getattr(args, flag) for flag, field in FLAGS.items()
             if getattr(args, flag, None)}
    merged = dataclasses.replace(merged, **given)
    args.settings = merged
    return merged


def registry(args: argparse.Namespace) -> Registry:
    """The handlers: the registry a test passed to `main`, else the functions package by name."""
    given: Registry | None = getattr(args, "registry", None)
    if given is not None:
        return given
    package = settings(args).functions
    try:
        return load_functions(package)
    except ModuleNotFoundError as err:
        raise UsageError(f"cannot load the functions package {package!r}: {err}") from None
