"""The ``Registry`` contract as a reusable test suite: every registry adapter's tests subclass it.

    class TestMyRegistry(RegistryContract):
        def make(self, tmp_path): ...                      # a fresh, empty registry
        def make_run(self, registry, tags, files): ...     # a run with tags and text artifacts

The tests drive the registry only through the ``Registry`` protocol, then the promotion policy
(:mod:`ftlineage.gate.promotion`) on top of it: version numbering, tags at creation, aliases,
an atomic ``claim`` under concurrent callers, run evidence, and exactly one winner when eight
promotions race for the champion alias.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ftlineage.tracking import Registry


class RegistryContract:
    """Subclass and implement ``make`` and ``make_run``."""

    def make(self, tmp_path: Path) -> Registry:
        """A fresh, empty registry under ``tmp_path``."""
        raise NotImplementedError

    def make_run(self, registry: Registry, tags: Mapping[str, str], files: Mapping[str, str]) -> str:
        """A run in the registry's store with ``tags`` and text artifacts ``files`` (path → text)."""
        raise NotImplementedError

    def _version(self, registry: Registry, name: str, run_id: str, **tags: str) -> str:
        registry.ensure_model(name)
        return registry.create_version(
            name, source=f"src/{run_id}", run_id=run_id, tags=tags, description="d"
        ).version

    def test_it_satisfies_the_protocol(self, tmp_path: Path) -> None:
        """The adapter is a ``Registry``."""
        assert isinstance(self.make(tmp_path), Registry)

    def test_versions_are_numbered_in_order_and_carry_their_tags_from_creation(self, tmp_path: Path) -> None:
        """Versions count up per model and carry the tags given at creation."""
        registry = self.make(tmp_path)
        run = self.make_run(registry, {}, {})
        assert [self._version(registry, "m", run, k=str(i)) for i in range(3)] == ["1", "2", "3"]
        mv = registry.get_version("m", "2")
        assert mv is not None
        assert (mv.name, mv.version, mv.run_id, mv.tags.get("k")) == ("m", "2", run, "1")
        assert registry.get_version("m", "9") is None
        assert registry.get_version("nope", "1") is None

    def test_find_versions_filters_by_run_and_tag_oldest_first(self, tmp_path: Path) -> None:
        """Search by run and by tag, oldest first."""
        registry = self.make(tmp_path)
        a, b = self.make_run(registry, {}, {}), self.make_run(registry, {}, {})
        for run, state in ((a, "pending"), (b, "done"), (a, "done")):
            self._version(registry, "m", run, state=state)
        assert [v.version for v in registry.find_versions("m")] == ["1", "2", "3"]
        assert [v.version for v in registry.find_versions("m", run_id=a)] == ["1", "3"]
        assert [v.version for v in registry.find_versions("m", tag=("state", "done"))] == ["2", "3"]
        assert registry.find_versions("nope") == []

    def test_content_digests_follow_the_files_a_version_serves(self, tmp_path: Path) -> None:
        """``served_sha`` of a version is ``content_sha`` of its source; other files, another digest."""
        registry = self.make(tmp_path)
        a = self.make_run(registry, {}, {"model/weights.txt": "a"})
        b = self.make_run(registry, {}, {"model/weights.txt": "b"})
        src_a, src_b = registry.candidate_source(a), registry.candidate_source(b)
        assert registry.content_sha(src_a) != registry.content_sha(src_b)
        registry.ensure_model("m")
        v = registry.create_version("m", source=src_a, run_id=a, tags={}, description="d").version
        assert registry.served_sha("m", v) == registry.content_sha(src_a)
        assert registry.kind in ("model", "prompt")

    def test_tags_aliases_and_deletion(self, tmp_path: Path) -> None:
        """Tags and aliases move; a deleted version is gone and its number is never reused."""
        registry = self.make(tmp_path)
        run = self.make_run(registry, {}, {})
        one, two = self._version(registry, "m", run), self._version(registry, "m", run)
        registry.set_version_tag("m", one, "verdict", "pass")
        tagged = registry.get_version("m", one)
        assert tagged is not None
        assert tagged.tags["verdict"] == "pass"
        assert registry.aliases("m") == {}
        assert registry.aliases("nope") == {}
        registry.set_alias("m", "live", one)
        registry.set_alias("m", "next", two)
        registry.set_alias("m", "live", two)
        assert registry.aliases("m") == {"live": two, "next": two}
        registry.delete_alias("m", "next")
        assert registry.aliases("m") == {"live": two}
        registry.delete_version("m", one)
        assert registry.get_version("m", one) is None
        assert self._version(registry, "m", run) == "3"  # numbers are never reused

    def test_claim_is_create_if_absent(self, tmp_path: Path) -> None:
        """A claim exists once; releasing frees it."""
        registry = self.make(tmp_path)
        assert registry.claim("ledger.m.live.1", {"to": "1"})
        assert not registry.claim("ledger.m.live.1", {"to": "2"})
        found = registry.claimed("ledger.m.live.1")
        assert found is not None
        assert found[0]["to"] == "1"
        assert found[1] > 0
        assert registry.claimed("ledger.m.live.2") is None
        registry.claim("ledger.m.live.2", {"to": "2"})
        registry.claim("ledger.other.live.1", {"to": "9"})
        assert sorted(registry.claims("ledger.m.live.")) == ["ledger.m.live.1", "ledger.m.live.2"]
        registry.release("ledger.m.live.2")
        assert registry.claimed("ledger.m.live.2") is None
        assert registry.claim("ledger.m.live.2", {"to": "3"})

    def test_one_of_many_concurrent_claims_wins(self, tmp_path: Path) -> None:
        """Eight threads claim one key: exactly one wins."""
        registry = self.make(tmp_path)
        results: list[bool] = []
        barrier = threading.Barrier(8)

        def claim(i: int) -> None:
            barrier.wait()
            results.append(registry.claim("ledger.race.1", {"to": str(i)}))

        threads = [threading.Thread(target=claim, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(results) == [False] * 7 + [True]

    def test_run_evidence(self, tmp_path: Path) -> None:
        """A run's tags and logged files are read back; a missing run or file is ``None``."""
        registry = self.make(tmp_path)
        run = self.make_run(registry, {"ftlineage.prompt_sha": "p" * 64}, {"gate/decision.json": "{}"})
        assert (registry.run_tags(run) or {}).get("ftlineage.prompt_sha") == "p" * 64
        registry.set_run_tag(run, "ftlineage.registered_version", "4")
        assert (registry.run_tags(run) or {})["ftlineage.registered_version"] == "4"
        assert registry.read_run_file(run, "gate/decision.json") == "{}"
        assert registry.read_run_file(run, "gate/missing.json") is None
        assert registry.run_tags("0" * 32) is None

    def test_the_promotion_policy_on_top_keeps_exactly_one_champion(self, tmp_path: Path) -> None:
        """Eight promotions race for the champion alias: one wins, one ledger entry."""
        from ftlineage.errors import PromotionConflict
        from ftlineage.gate.promotion import Aliases, current_version, move_alias

        champion = Aliases.of().champion

        registry = self.make(tmp_path)
        run = self.make_run(registry, {}, {})
        versions = [self._version(registry, "m", run) for _ in range(8)]
        outcomes: dict[str, Any] = {}
        barrier = threading.Barrier(len(versions))

        def promote(version: str) -> None:
            barrier.wait()
            try:
                outcomes[version] = move_alias(registry, "m", champion, version, expect="none")
            except PromotionConflict as exc:
                outcomes[version] = exc

        threads = [threading.Thread(target=promote, args=(v,)) for v in versions]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        winners = [v for v, o in outcomes.items() if isinstance(o, str)]
        assert len(winners) == 1, outcomes
        assert current_version(registry, "m", champion) == winners[0]
        assert registry.claims(f"ftlineage-ledger.m.{champion}.") == [f"ftlineage-ledger.m.{champion}.1"]
