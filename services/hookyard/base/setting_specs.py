"""How a setting is declared: ``setting(...)`` on a ``Settings`` field carries its default, a valid
example, its description and its parser, and ``SettingSpec`` reads them back (parsing a value,
phrasing an error, writing the README's row)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class WithEnviron:
    """A parser that also reads other variables (a shop's ``access_token_env``)."""

    parse: Callable[[str, Mapping[str, str]], Any]


def with_environ(parse: Callable[[str, Mapping[str, str]], Any]) -> WithEnviron:
    return WithEnviron(parse)


@dataclass(frozen=True)
class SettingSpec:
    """One setting as declared: its variable, field, default, example, description, parser."""

    env: str
    attr: str
    default: str
    example: str
    description: str
    parse: Callable[[str], Any] | WithEnviron
    secret: bool = False

    def value(self, environ: Mapping[str, str]) -> Any:
        """The parsed value of this setting in ``environ`` (its default when unset)."""
        raw = environ.get(self.env, self.default)
        if isinstance(self.parse, WithEnviron):
            return self.parse.parse(raw, environ)
        return self.parse(raw)

    def problem(self, environ: Mapping[str, str], reason: object) -> str:
        shown = "" if self.secret else f" (got {environ.get(self.env, self.default)!r})"
        return (f"{self.env} is invalid{shown}: {reason}. "
                f"Example of a valid value: {self.env}={self.example}")


def setting(default: str, example: str, description: str,
            parse: Callable[[str], Any] | WithEnviron, *, secret: bool = False) -> Any:
    """Declare a ``Settings`` field: its variable's default text, a valid example, the
    description the README shows, and the parser of the text."""
    return field(repr=not secret, metadata={"setting": (default, example, description, parse,
                                                        secret)})


def declared(prefix: str, attribute: Any) -> SettingSpec:
    """The spec of a field declared with ``setting``; its variable is ``prefix`` + NAME."""
    default, example, description, parse, secret = attribute.metadata["setting"]
    return SettingSpec(env=prefix + attribute.name.upper(), attr=attribute.name,
                       default=default, example=example, description=description,
                       parse=parse, secret=secret)


def specs_table(specs: Iterable[SettingSpec]) -> str:
    """A Markdown table of ``specs``: variable, default, description."""
    rows = ["| Variable | Default | Description |", "|---|---|---|"]
    rows += [f"| `{spec.env}` | `{spec.default or '(empty)'}` | {spec.description} |"
             for spec in specs]
    return "\n".join(rows)
