"""A prompt-only change through the gate: the Prompt Registry is its registry, the ledger its deploy gate."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from ftlineage import tags as T
from tests.candidates.conftest import TEMPLATE, write_recipe

pytestmark = pytest.mark.integration


def _prompt_recipe(tmp_path, cities, *, current: str, proposed: str):
    (tmp_path / "proposed.txt").write_text(proposed.replace("{prompt}", "{{prompt}}"))
    extra = "candidate: {kind: prompt, prompt: proposed.txt}\n"
    return write_recipe(tmp_path, cities, extra, base=cities.taught, template=current)


def _run(path):
    from ftlineage.pipeline import run_job

    return run_job(str(path), None)


def test_a_prompt_that_fixes_the_format_passes_and_becomes_challenger(cities, store, tmp_path, capsys):
    from ftlineage.cli import main

    result = _run(_prompt_recipe(tmp_path, cities, current="{prompt}", proposed=TEMPLATE))
    assert result.decision == "pass", result.reasons
    pv = MlflowClient(store).get_prompt_version_by_alias("cities", "challenger")
    assert pv.template == TEMPLATE.replace("{prompt}", "{{input}}")
    assert pv.tags[T.CANDIDATE_KIND] == "prompt"
    assert pv.tags[T.SOURCE_RUN] == result.run_id
    assert pv.tags[T.DECISION] == "pass"
    assert T.DECISION_SHA in pv.tags
    run = MlflowClient(store).get_run(result.run_id)
    assert pv.tags[T.PROMPT_SHA] == run.data.tags[T.PROMPT_SHA]
    assert not MlflowClient(store).search_registered_models()  # a prompt, not a model version
    assert (
        mlflow.genai.load_prompt("prompts:/cities@challenger").format(input="Where is Oslo?")
        == "Q: Where is Oslo?\nCountry:"
    )

    assert main(["promote", "--to", "champion", "--model", "cities"]) == 0
    assert MlflowClient(store).get_prompt_version_by_alias("cities", "champion").version == pv.version
    capsys.readouterr()
    assert main(["status"]) == 0
    (line,) = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("cities (prompt)")]
    assert f"champion v{pv.version} | challenger v{pv.version} | kind prompt" in line
    assert "last decision pass" in line


def test_an_unsigned_prompt_version_cannot_become_champion(cities, store, tmp_path):
    from ftlineage.cli import main

    mlflow.genai.register_prompt(name="cities", template="Hi {{prompt}}")
    assert main(["promote", "--to", "champion", "--model", "cities", "--version", "1"]) == 4
    with pytest.raises(mlflow.exceptions.MlflowException):
        MlflowClient(store).get_prompt_version_by_alias("cities", "champion")


def test_a_prompt_that_breaks_the_format_is_blocked_and_no_alias_moves(cities, store, tmp_path):
    result = _run(_prompt_recipe(tmp_path, cities, current=TEMPLATE, proposed="Tell me: {prompt} ->"))
    assert result.decision == "blocked"
    assert any("exact_match" in r for r in result.reasons), result.reasons
    assert MlflowClient(store).search_prompts() == []


def test_the_champion_prompt_is_the_baseline_when_there_is_one(cities, store, tmp_path):
    first = _run(_prompt_recipe(tmp_path, cities, current="{prompt}", proposed=TEMPLATE))
    assert first.decision == "pass", first.reasons
    MlflowClient(store).set_prompt_alias("cities", "champion", 1)  # no guard on a bare sqlite store
    again = tmp_path / "again"
    again.mkdir()
    second = _run(_prompt_recipe(again, cities, current="{prompt}", proposed=TEMPLATE))
    tags = MlflowClient(store).get_run(second.run_id).data.tags
    assert tags[T.PROMPT_BASELINE].startswith("prompts:/cities/1")
    assert second.decision == "blocked"  # the same prompt as the champion does not beat it


def test_a_missing_prompt_file_is_refused_naming_the_recipe(cities, store, tmp_path):
    from ftlineage.errors import RecipeError

    path = write_recipe(tmp_path, cities, "candidate: {kind: prompt, prompt: nope.txt}\n", base=cities.taught)
    with pytest.raises(RecipeError, match=r"recipe.yaml \(candidate.prompt\): 'nope.txt'"):
        _run(path)


def test_a_passing_prompt_run_registers_later_through_promote(cities, store, tmp_path):
    from ftlineage.cli import main

    path = _prompt_recipe(tmp_path, cities, current="{prompt}", proposed=TEMPLATE)
    path.write_text(
        path.read_text().replace(
            "registry: {model_name: cities}", "registry: {model_name: cities, auto_register: false}"
        )
    )
    result = _run(path)
    assert result.decision == "pass", result.reasons
    assert result.version is None
    assert MlflowClient(store).search_prompts() == []
    assert main(["promote", result.run_id]) == 0
    pv = MlflowClient(store).get_prompt_version_by_alias("cities", "challenger")
    assert pv.tags[T.SOURCE_RUN] == result.run_id
    assert pv.tags[T.CANDIDATE_KIND] == "prompt"
