"""A prompt candidate's text: from the MLflow Prompt Registry or a file, in the recipe's template form.

Recipes write the slot as ``{prompt}``; the Prompt Registry writes variables as ``{{name}}``. A
registry prompt has one variable, whatever its name (ours are written as ``{{input}}``: MLflow's
``PromptVersion.format`` cannot take a variable called ``prompt``).
A registry prompt may be text or chat (a list of ``{role, content}`` messages: the system message
becomes the system turn, the user message the template). A file holds the template as text, or
YAML/JSON ``{template: ..., system: ...}``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ftlineage import readers as userfile
from ftlineage.errors import RecipeError

_REF = re.compile(r"^prompts:/(?P<name>[^/@]+)(?:@(?P<alias>[\w.-]+)|/(?P<version>\d+))$")
_VAR = re.compile(r"\{\{\s*([A-Za-z_]\w*)\s*\}\}")
REGISTRY_VAR = "input"


@dataclass(frozen=True)
class PromptText:
    """The template (with ``{prompt}`` once), its system turn, and where it came from."""

    template: str
    system: str | None
    source: str


def from_registry_template(text: str) -> str:
    """``{{var}}`` (registry form, one variable of any name) → ``{prompt}`` (recipe form).

    A template with two or more variables is returned with none replaced (refused by the caller).
    """
    names = set(_VAR.findall(text))
    return _VAR.sub("{prompt}", text) if len(names) == 1 else text


def to_registry_template(text: str) -> str:
    """``{prompt}`` (recipe form) → ``{{input}}`` (registry form)."""
    return text.replace("{prompt}", "{{" + REGISTRY_VAR + "}}")


def is_registry_ref(ref: str) -> bool:
    """Whether ``ref`` is a ``prompts:/`` URI."""
    return ref.startswith("prompts:/")


def parse_prompt(ref: str, value: Any, where: str) -> PromptText:
    """A prompt's template and system turn from a registry value (text or chat messages) or mapping."""
    system: str | None = None
    if isinstance(value, list):
        turns = [t for t in value if isinstance(t, dict)]
        system = next((str(t.get("content")) for t in turns if t.get("role") == "system"), None)
        value = next((t.get("content") for t in turns if t.get("role") == "user"), None)
    elif isinstance(value, dict):
        system = value.get("system")
        value = value.get("template")
    if not isinstance(value, str):
        raise RecipeError(f"{where}: prompt {ref!r} has no text template (or user message); give one")
    template = from_registry_template(value)
    if template.count("{prompt}") != 1:
        raise RecipeError(
            f"{where}: prompt {ref!r} must contain one slot, {{prompt}} or a single {{{{variable}}}}, "
            f"exactly once; it has {template.count('{prompt}')} {{prompt}} and "
            f"{len(_VAR.findall(template))} {{{{...}}}} variables"
        )
    return PromptText(template, str(system) if system is not None else None, ref)


def read_prompt_file(ref: str, base: Path, where: str) -> PromptText:
    """A prompt file beside the recipe: text, or YAML/JSON with ``template`` (and ``system``)."""
    path = Path(ref) if Path(ref).is_absolute() else base / ref
    if not path.is_file():
        raise RecipeError(
            f"{where} (candidate.prompt): {ref!r} is neither a prompts:/name@alias URI nor a file; "
            f"no file {path}"
        )
    text = userfile.read_text(path, "prompt file", RecipeError)
    value: Any = text
    if path.suffix == ".json":
        try:
            value = userfile.parse_json(text)
        except ValueError as exc:
            raise RecipeError(f"{where} (candidate.prompt): {path}: not JSON ({exc}); fix the file") from None
    elif path.suffix in (".yaml", ".yml"):
        value = userfile.parse(text, path, "prompt file", RecipeError)[0]
    return parse_prompt(str(path), value, where)


def registry_ref(ref: str, where: str) -> tuple[str, str | None, str | None]:
    """``(name, alias, version)`` of a ``prompts:/`` URI; a malformed one says the forms."""
    m = _REF.match(ref)
    if not m:
        raise RecipeError(
            f"{where} (candidate.prompt): {ref!r} is not a prompt URI; "
            "use prompts:/NAME@ALIAS or prompts:/NAME/N"
        )
    return m["name"], m["alias"], m["version"]
