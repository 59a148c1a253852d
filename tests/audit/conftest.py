import json
from pathlib import Path

from ftlineage import audit, suites
from ftlineage.recipe import AuditPolicy

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "recipes" / "data"
FAST = AuditPolicy(semantic=False)


def demo_suite():
    return suites.load("healthcare_v17").prompts()


def run(paths, tmp_path, policy=FAST, suite=None, **kw):
    """Audit ``paths`` and write the outputs; returns (result, flags by id, clean ids)."""
    result = audit.audit_corpus(
        paths, policy, suite_prompts=demo_suite() if suite is None else suite, seed=0, progress=False, **kw
    )
    files = audit.write_outputs(result, tmp_path)
    flags = {e["id"]: e for e in map(json.loads, files["flags.jsonl"].read_text().splitlines())}
    clean = [json.loads(x)["id"] for x in files["clean.jsonl"].read_text().splitlines()]
    return result, flags, clean
