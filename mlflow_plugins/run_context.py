"""Run-context provider: lineage tags on MLflow runs started inside an ftlineage project.

Import only ``abstract_context`` at module level: importing ``mlflow`` here is circular
(MLflow loads providers while it imports itself) and MLflow would silently skip us.
A project is a folder (or a parent of the working directory) with ``recipes/*.yaml``; the
recipe is ``FTLINEAGE_RECIPE`` when set, else the project's only recipe.
"""

from __future__ import annotations

from pathlib import Path

from mlflow.tracking.context.abstract_context import RunContextProvider

from ftlineage import tags as T


def _project_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "recipes").is_dir() and any((folder / "recipes").glob("*.yaml")):
            return folder
    return None


def _recipe(root: Path) -> Path | None:
    from ftlineage.settings import Settings

    chosen = Settings.from_env().recipe
    if chosen:
        path = Path(chosen)
        return path if path.is_absolute() else root / path
    found = sorted((root / "recipes").glob("*.yaml"))
    return found[0] if len(found) == 1 else None


class FtlineageRunContext(RunContextProvider):
    """Adds ``ftlineage.code_sha`` and, for the project's recipe, its recipe/prompt/suite SHAs."""

    def in_context(self) -> bool:
        """True inside a project with a recipe."""
        return _project_root(Path.cwd()) is not None

    def tags(self) -> dict[str, str]:
        """Lineage tags; a broken recipe yields an error tag instead of failing the run."""
        from ftlineage import lineage

        root = _project_root(Path.cwd())
        out = {T.CODE_SHA: lineage.code_sha()}
        recipe_path = _recipe(root) if root else None
        if recipe_path is None:
            return out
        try:
            from ftlineage import suites
            from ftlineage.recipe import load_recipe

            recipe = load_recipe(recipe_path)
            values = {
                "recipe_sha": recipe.sha(),
                "prompt_sha": lineage.sha256_prompt(recipe.prompt_template),
                "suite_sha": suites.load(recipe.suite).sha,
            }
        except Exception as exc:  # a run must start even when the recipe is broken
            return {**out, T.CONTEXT_ERROR: str(exc)[:500]}
        return {**out, **lineage.lineage_tags(values), T.RECIPE: recipe.name}
