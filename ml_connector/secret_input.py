"""Secrets for the CLI come from the environment, standard input or a prompt, never from arguments.

Arguments show in `ps` and in shell history. Each secret has an environment variable; `--secrets-from-stdin`
reads `name=value` lines (for scripts and CI); on a terminal the CLI prompts without echo.
"""

from __future__ import annotations

import argparse
import getpass
import os
import secrets
import sys
from collections.abc import Callable, Mapping
from typing import IO, Any

from connector.errors import ConfigurationError

# name -> (environment variable, what a person calls it)
SECRETS = {
    "exact_client_secret": ("ML_CONNECTOR_EXACT_CLIENT_SECRET", "Exact client secret"),
    "basware_client_secret": ("ML_CONNECTOR_BASWARE_CLIENT_SECRET", "Basware client secret"),
    "webhook_secret": ("ML_CONNECTOR_WEBHOOK_SECRET", "Basware webhook secret"),
    # A chat incoming-webhook URL carries its token in the path: a secret like the others.
    "notify_webhook_url": ("ML_CONNECTOR_NOTIFY_WEBHOOK_URL", "chat webhook URL for reminders"),
    "exact_webhook_secret": ("ML_CONNECTOR_EXACT_WEBHOOK_SECRET", "Exact webhook secret"),
}


class SecretReader:
    """Reads each secret once from the environment, `name=value` lines on stdin, or a prompt."""

    def __init__(
        self,
        *,
        from_stdin: bool = False,
        env: Mapping[str, str] | None = None,
        stdin: IO[str] | None = None,
        prompt: Callable[[str], str] = getpass.getpass,
    ) -> None:
        self._env = os.environ if env is None else env
        self._stdin = stdin or sys.stdin
        self._from_stdin = from_stdin
        self._prompt = prompt
        self._lines: dict[str, str] | None = None

    def read(self, name: str) -> str:
        """The secret called `name` (a key of SECRETS); a clear error when none was given."""
        variable, label = SECRETS[name]
        if self._env.get(variable):
            return self._env[variable]
        if self._from_stdin:
            value = self._stdin_values().get(name)
            if value:
                return value
            raise ConfigurationError(f"no {label} on standard input: send a line '{name}=...'")
        if self._stdin.isatty():
            value = self._prompt(f"{label}: ")
            if value:
                return value
        raise ConfigurationError(
            f"no {label}: set {variable}, pipe '{name}=...' with --secrets-from-stdin, or run "
            "this on a terminal to be asked"
        )

    def _stdin_values(self) -> dict[str, str]:
        if self._lines is None:
            self._lines = {}
            for line in self._stdin.read().splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() in SECRETS:
                    self._lines[key.strip()] = value.strip()
        return self._lines


def generate_webhook_secret() -> str:
    """A new webhook secret: 32 random bytes, URL-safe (43 characters)."""
    return secrets.token_urlsafe(32)


class RefuseSecretArgument(argparse.Action):
    """A secret given as an argument is refused with what to do instead (it would show in ps and history)."""

    def __call__(self, parser: argparse.ArgumentParser, _ns: Any, _values: Any, option: str | None = None) -> None:
        name = (option or "").lstrip("-").replace("-", "_")
        variable = SECRETS.get(name, ("the matching ML_CONNECTOR_* variable", ""))[0]
        parser.error(
            f"{option} does not take the secret on the command line (it would show in ps and shell history): "
            f"set {variable}, use --secrets-from-stdin, or let the CLI prompt you"
        )
