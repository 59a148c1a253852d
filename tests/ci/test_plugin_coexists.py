"""The plugin loads in every pytest run of an env with ftlineage: it must not take a project's options."""

import pytest

# A typical ML project's own conftest: generic option names the eval gate must leave free.
PROJECT_CONFTEST = """
def pytest_addoption(parser):
    parser.addoption("--model", default=None)
    parser.addoption("--baseline", default=None)
    parser.addoption("--recipe", default=None)
    parser.addoption("--slice", default=None)
    parser.addoption("--changed-since", default=None)
"""

PROJECT_TEST = """
def test_reads_its_own_model_option(request):
    config = request.config
    assert config.getoption("--model") == "x"
    assert config.getoption("--slice") is None
    assert config.pluginmanager.has_plugin("ftlineage")  # the pytest11 entry point did load
    assert config.getoption("--eval-model") is None
    assert config.getoption("--eval-slice") == 50
    # inert unless asked: no eval or prompt-CI session without --eval-suite / --eval-recipes
    assert not config.pluginmanager.has_plugin("ftlineage-eval-session")
    assert not config.pluginmanager.has_plugin("ftlineage-prompt-ci")
"""


def test_a_project_defining_model_and_friends_still_starts(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(PROJECT_CONFTEST)
    pytester.makepyfile(test_project=PROJECT_TEST)
    res = pytester.runpytest_subprocess("--model=x", "-p", "no:cacheprovider")
    assert "already used" not in res.stderr.str()
    res.assert_outcomes(passed=1)


def test_the_eval_options_are_namespaced(pytestconfig: pytest.Config) -> None:
    assert pytestconfig.pluginmanager.has_plugin("ftlineage")
    missing = object()
    for old, new in [
        ("model", "eval_model"),
        ("baseline", "eval_baseline"),
        ("recipe", "eval_recipe"),
        ("slice", "eval_slice"),
        ("changed_since", "eval_changed_since"),
    ]:
        assert pytestconfig.getoption(old, default=missing) is missing, old
        assert pytestconfig.getoption(new, default=missing) is not missing, new
