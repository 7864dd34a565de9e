"""Which environment variable a setting came in under: for error messages that name the variable the user
actually set, and for two spellings of one setting that disagree."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

__all__ = ["contradicting_aliases", "dotenv_names", "env_names", "variable_name"]


def env_names(cls: type[BaseSettings], field: str) -> list[str]:
    """The variables ``field`` of ``cls`` is read from, the standard name first."""
    info = cls.model_fields[field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [choice for choice in alias.choices if isinstance(choice, str)]
    if isinstance(alias, str):
        return [alias]
    return [f"{cls.model_config.get('env_prefix', '')}{field}".upper()]


def dotenv_names(cls: type[BaseSettings], overrides: dict[str, Any]) -> set[str]:
    """The names set in the .env file(s) ``cls`` reads, upper case."""
    env_file = overrides.get("_env_file", cls.model_config.get("env_file"))
    if env_file is None:
        return set()
    files = [env_file] if isinstance(env_file, str | Path) else list(env_file)
    names: set[str] = set()
    for file in files:
        path = Path(file).expanduser()
        if path.is_file():
            encoding = overrides.get("_env_file_encoding", cls.model_config.get("env_file_encoding"))
            names.update(name.upper() for name in dotenv_values(path, encoding=encoding or "utf-8"))
    return names


def variable_name(cls: type[BaseSettings], key: str, overrides: dict[str, Any]) -> str:
    """The variable to name for a problem pydantic located at ``key`` (a field name or an alias).

    That is the name the value came in under: the override's key, else the first of the field's
    variables set in the environment, else in .env; the standard name when none is.
    """
    field = key if key in cls.model_fields else None
    if field is None:
        field = next((name for name in cls.model_fields if key in env_names(cls, name)), None)
    if field is None:
        return key
    names = env_names(cls, field)
    if key in overrides or field in overrides:
        return key if key in overrides and key != field else names[0]
    environment = {name.upper(): name for name in os.environ}
    for name in names:
        if name.upper() in environment:
            return environment[name.upper()]
    in_dotenv = dotenv_names(cls, overrides)
    return next((name for name in names if name.upper() in in_dotenv), names[0])


def contradicting_aliases(cls: type[BaseSettings], overrides: dict[str, Any]) -> list[str]:
    """One line per field whose variables (say ZEEBE_HOSTNAME and ZEBEE_HOSTNAME) are set to different
    values in the environment or .env; the values are never named."""
    dotenv_file = overrides.get("_env_file", cls.model_config.get("env_file"))
    dotenv: dict[str, str | None] = {}
    for file in [dotenv_file] if isinstance(dotenv_file, str | Path) else list(dotenv_file or ()):
        path = Path(file).expanduser()
        if path.is_file():
            dotenv.update({k.upper(): v for k, v in dotenv_values(path).items()})
    environment = {name.upper(): value for name, value in os.environ.items()}
    lines = []
    for field in cls.model_fields:
        names = env_names(cls, field)
        if len(names) < 2 or field in overrides or any(name in overrides for name in names):
            continue
        found = {}
        for name in names:
            value = environment.get(name.upper(), dotenv.get(name.upper()))
            if value is not None and value.strip():
                found[name] = value.strip()
        if len(set(found.values())) > 1:
            first, *others = found
            lines.append(f"{first} and {', '.join(others)} are set to different values; set one of them")
    return lines
