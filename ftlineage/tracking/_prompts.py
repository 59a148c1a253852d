"""The MLflow Prompt Registry as a :class:`~ftlineage.tracking.Registry`, so prompts take the models' path.

A prompt version's ``source`` is its template (the registry's ``{{prompt}}`` form; a chat prompt
as canonical JSON of its messages) and its ``run_id`` the run whose gate passed it (tag
``ftlineage.source_run``; prompt versions have no run of their own). Registering, signing,
the compare-and-set ledger and evidence checks in :mod:`ftlineage.gate.promotion` then work on
prompts unchanged; the ledger's claims live in the model registry as for models.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ftlineage import tags as T
from ftlineage.tracking._protocol import ModelVersion
from ftlineage.tracking._registry import MlflowRegistry


def _source(template: Any) -> str:
    return template if isinstance(template, str) else json.dumps(template, sort_keys=True, ensure_ascii=False)


def _template(source: str) -> Any:
    if source.startswith("["):
        try:
            return json.loads(source)
        except ValueError:
            return source
    return source


class PromptRegistry(MlflowRegistry):
    """Prompt versions and aliases through MLflow's prompt APIs; claims as in the model registry."""

    kind = "prompt"

    def served_sha(self, name: str, version: str) -> str:
        """SHA-256 of what the prompt version serves: its template tags as the store holds them."""
        from ftlineage.lineage import sha256_prompt_content

        mv = self.client._get_registry_client().get_model_version(name, str(version))
        return sha256_prompt_content(dict(mv.tags or {}))

    def _pv(self, pv: Any) -> ModelVersion:
        tags = dict(pv.tags or {})
        return ModelVersion(pv.name, str(pv.version), _source(pv.template), tags.get(T.SOURCE_RUN, ""), tags)

    def exists(self, name: str) -> bool:
        """Whether ``name`` is a registered prompt."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_prompt(name) is not None
        except MlflowException:
            return False

    def ensure_model(self, name: str, description: str = "") -> None:
        """Prompts are created with their first version."""

    def create_version(
        self, name: str, *, source: str, run_id: str, tags: Mapping[str, str], description: str = ""
    ) -> ModelVersion:
        """Register ``source`` (the template) as the prompt's next version, with every tag."""
        pv = self.client.register_prompt(
            name=name,
            template=_template(source),
            commit_message=description.splitlines()[0][:500] if description else None,
            tags={**tags, T.SOURCE_RUN: run_id},
        )
        return self._pv(pv)

    def get_version(self, name: str, version: str) -> ModelVersion | None:
        """A prompt version, or ``None``."""
        from mlflow.exceptions import MlflowException

        try:
            pv = self.client.get_prompt_version(name, version)
        except MlflowException:
            return None
        return self._pv(pv) if pv is not None else None

    def _versions(self, name: str) -> list[Any]:
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_prompt_versions(name)
        except MlflowException:
            return []
        return list(getattr(found, "prompt_versions", found) or [])

    def find_versions(
        self, name: str, *, run_id: str | None = None, tag: tuple[str, str] | None = None
    ) -> list[ModelVersion]:
        """Versions of ``name`` (passed by ``run_id``, carrying ``tag``), oldest first."""
        out = [self._pv(pv) for pv in self._versions(name)]
        out = [v for v in out if run_id is None or v.run_id == run_id]
        out = [v for v in out if tag is None or v.tags.get(tag[0]) == tag[1]]
        return sorted(out, key=lambda v: int(v.version))

    def delete_version(self, name: str, version: str) -> None:
        """Delete a prompt version."""
        self.client.delete_prompt_version(name, version)

    def set_version_tag(self, name: str, version: str, key: str, value: str) -> None:
        """Set one tag on a prompt version."""
        self.client.set_prompt_version_tag(name, version, key, value)

    def aliases(self, name: str) -> dict[str, str]:
        """Alias → version of a prompt (empty for a missing one)."""
        out: dict[str, str] = {}
        for listed in self._versions(name):  # search results carry no aliases; each version does
            pv = self.client.get_prompt_version(name, str(listed.version))
            out.update({a: str(pv.version) for a in (pv.aliases or [])})
        return out

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point ``@alias`` at ``version``."""
        self.client.set_prompt_alias(name, alias, int(version))

    def delete_alias(self, name: str, alias: str) -> None:
        """Remove ``@alias``."""
        self.client.delete_prompt_alias(name, alias)

    def transition_stage(self, name: str, version: str, stage: str) -> None:
        """Prompts have no stages; aliases are the deploy gate."""


def load_registry_prompt(ref: str) -> tuple[Any, dict[str, str], str]:
    """``(template, tags, "prompts:/name/N")`` of a ``prompts:/name@alias`` or ``prompts:/name/N`` URI."""
    import mlflow

    pv = mlflow.genai.load_prompt(ref)
    return pv.template, dict(pv.tags or {}), f"prompts:/{pv.name}/{pv.version}"
