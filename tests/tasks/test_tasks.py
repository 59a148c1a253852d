"""Every bundled task passes the TaskContract."""

from ftlineage.testing.task_contract import TaskContract


class TestGeneral(TaskContract):
    name = "general"


class TestHealthcare(TaskContract):
    name = "healthcare_postcall"


class TestSalon(TaskContract):
    name = "salon_booking"


def test_general_v1_is_large_enough_and_multi_turn_is_real_messages():
    from ftlineage import suites

    s = suites.load("general_v1")
    assert len(s.drift) >= 250
    fams = {c.family for c in s.drift}
    assert fams == {"arithmetic", "format", "multi_turn", "refusal", "domain_adjacent"}
    turns = [c for c in s.drift if c.family == "multi_turn"]
    assert all(c.messages and len(c.messages) >= 3 for c in turns)
    refusal = [c for c in s.drift if c.family == "refusal"]
    assert {c.get("should_refuse") for c in refusal} == {True, False}  # benign controls


def test_no_healthcare_field_outside_the_healthcare_task():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "ftlineage"
    names = re.compile(r'patient_name|"insurance"|urgency')  # field names, not the English word
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if names.search(p.read_text(encoding="utf-8")) and "tasks/healthcare" not in p.as_posix()
    ]
    assert offenders == []
