"""A knowledge split into a main file and parts (faq.yaml + faq.d/) is loaded, checked,
reloaded, uploaded, shared and edited as one knowledge base."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot import bundle
from bot.bundle import Bundle, KnowledgeError
from bot.curation.edits import OUT_OF_SCOPE_TARGET, propose
from bot.knowledge import LiveKnowledge, load, parse
from bot.matching.embeddings import EmbeddingCache
from tests.conftest import SMALL_YAML, problems_of

ROOT = Path(__file__).resolve().parent.parent
MAIN, ENTRIES = SMALL_YAML.split("entries:\n")
RECORD, _, DEATH = ENTRIES.partition("  - id: death")
DEATH = "  - id: death" + DEATH
EXAMPLES = 'out_of_scope:\n  - "who founded the komsomol"\n'


@pytest.fixture
def split(write_knowledge) -> Path:
    """The small knowledge as faq.yaml (source, synonyms) and three parts."""
    path = write_knowledge(MAIN)
    parts = path.parent / "faq.d"
    parts.mkdir()
    (parts / "10-record.yaml").write_text("entries:\n" + RECORD, encoding="utf-8")
    (parts / "20-death.yaml").write_text("entries:\n" + DEATH, encoding="utf-8")
    (parts / "out-of-scope.yaml").write_text(EXAMPLES, encoding="utf-8")
    return path


def test_a_main_file_and_its_parts_load_as_one_knowledge_base(split):
    kb = load(split)
    assert [e.id for e in kb.entries] == ["record", "death"]
    assert kb.out_of_scope == ("who founded the komsomol",)
    assert kb.index.match("when did stakhanov die").best.entry_id == "death"


def test_the_parts_give_the_same_knowledge_as_one_file(split, write_knowledge):
    one = load(
        write_knowledge(SMALL_YAML.replace("entries:\n", EXAMPLES + "entries:\n"), "one.yaml")
    )
    kb = load(split)
    assert kb.entries == one.entries and kb.out_of_scope == one.out_of_scope


def test_a_problem_in_a_part_names_the_part_the_entry_and_the_line(split):
    part = split.parent / "faq.d" / "20-death.yaml"
    part.write_text(part.read_text().replace("related: [death]", "").replace("title:", "titel:"))
    (problem, *_) = problems_of(split)
    assert problem.startswith(f"{part}: entry 'death' (line 2): ")


def test_a_reference_problem_in_a_part_names_the_part(split):
    part = split.parent / "faq.d" / "20-death.yaml"
    part.write_text(part.read_text().replace("source: src", "source: nowhere"))
    (problem,) = problems_of(split)
    assert problem.startswith(f"{part}: entry 'death' (line 2): citation 1")
    assert "unknown source id 'nowhere'" in problem


def test_the_same_id_in_two_parts_is_refused(split):
    (split.parent / "faq.d" / "30-again.yaml").write_text("entries:\n" + DEATH, encoding="utf-8")
    problems = problems_of(split)
    assert any("30-again.yaml: entry 'death' (line 2): duplicate id 'death'" in p for p in problems)


def test_a_part_may_not_list_sources(split):
    part = split.parent / "faq.d" / "20-death.yaml"
    part.write_text(MAIN.split("synonyms:")[0].replace("version: 1\n", "") + part.read_text())
    (problem,) = problems_of(split)
    assert problem == f"{part}: sources: unknown field"


def test_every_broken_file_is_reported_at_once(split):
    for name in ("10-record.yaml", "20-death.yaml"):
        (split.parent / "faq.d" / name).write_text("entries: [\n", encoding="utf-8")
    problems = problems_of(split)
    assert len(problems) == 2 and all("invalid YAML" in p for p in problems)


def test_knowledge_with_no_entry_in_any_file_is_refused(split):
    for name in ("10-record.yaml", "20-death.yaml"):
        (split.parent / "faq.d" / name).unlink()
    assert problems_of(split) == [f"{split}: entries: none, in it or its parts"]


def test_a_part_with_an_unsafe_name_is_named(split):
    (split.parent / "faq.d" / "my part.yaml").write_text(EXAMPLES, encoding="utf-8")
    (problem,) = problems_of(split)
    assert "my part.yaml" in problem and "letters, digits" in problem


def test_a_part_with_the_main_files_name_is_refused(split):
    (split.parent / "faq.d" / "faq.yaml").write_text(EXAMPLES, encoding="utf-8")
    (problem,) = problems_of(split)
    assert "faq.d/faq.yaml: a part may not have the main file's name" in problem


def test_loading_a_part_loads_the_knowledge_it_belongs_to(split):
    assert len(load(split.parent / "faq.d" / "20-death.yaml").entries) == 2


def test_loading_a_folder_loads_the_knowledge_in_it(split):
    assert len(load(split.parent).entries) == 2


def test_validate_names_the_parts_it_read(split):
    result = subprocess.run(
        [sys.executable, "-m", "bot", "validate", str(split.parent / "faq.d" / "10-record.yaml")],
        capture_output=True,
        cwd=ROOT,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(
        f"{split} and 3 parts in {split.parent / 'faq.d'}/: OK: 2 entries"
    )


def test_an_edited_part_is_validated_again_not_remembered(split, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    load(split, cache=cache)
    part = split.parent / "faq.d" / "20-death.yaml"
    part.write_text(part.read_text().replace("source: src", "source: nowhere"))
    with pytest.raises(KnowledgeError):
        load(split, cache=cache)


def test_a_reload_after_a_part_broke_changes_nothing(split):
    live = LiveKnowledge(split)
    before = live.kb, live.files
    part = split.parent / "faq.d" / "20-death.yaml"
    part.write_text("entries: [\n", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        live.reload()
    assert (live.kb, live.files) == before


def test_a_reload_picks_up_a_new_part(split):
    live = LiveKnowledge(split)
    (split.parent / "faq.d" / "out-of-scope.yaml").unlink()
    (split.parent / "faq.d" / "05-examples.yml").write_text(EXAMPLES, encoding="utf-8")
    live.reload()
    assert live.kb.out_of_scope == ("who founded the komsomol",)
    assert [n for n, _ in live.files.files][1] == "faq.d/05-examples.yml"


def test_an_upload_replaces_the_file_of_its_name():
    files = Bundle(Path("k/faq.yaml"), (("faq.yaml", b"m"), ("faq.d/20-death.yaml", b"d")))
    assert files.upload_name("20-death.yaml") == "faq.d/20-death.yaml"
    assert files.upload_name("../../faq.yaml") == "faq.yaml"


def test_an_upload_of_a_new_name_adds_a_part_in_name_order():
    files = Bundle(Path("k/faq.yaml"), (("faq.yaml", b"m"), ("faq.d/20-death.yaml", b"d")))
    name = files.upload_name("/etc/10-new.yaml")
    assert name == "faq.d/10-new.yaml"
    assert [n for n, _ in files.with_file(name, b"n").files] == [
        "faq.yaml",
        "faq.d/10-new.yaml",
        "faq.d/20-death.yaml",
    ]


def test_an_upload_with_a_name_no_part_may_have_is_refused():
    files = Bundle(Path("k/faq.yaml"), (("faq.yaml", b"m"), ("faq.d/20-death.yaml", b"d")))
    with pytest.raises(KnowledgeError) as caught:
        files.upload_name("faq (1).txt")
    assert "20-death.yaml" in caught.value.problems[0]


def test_an_upload_to_a_single_file_replaces_it_whatever_its_name():
    assert Bundle.single(Path("k/faq.yaml"), b"m").upload_name("copy of faq.yml") == "faq.yaml"


def test_split_knowledge_packs_for_another_instance_and_back(split):
    files = bundle.read(split)
    elsewhere = Path("/srv/other/faq.yaml")
    back = Bundle.unpack(files.pack(), elsewhere)
    assert back.path == elsewhere and back.files == files.files


def test_one_file_is_shared_as_itself():
    files = Bundle.single(Path("faq.yaml"), b"version: 1\n")
    assert files.pack() == b"version: 1\n"
    assert Bundle.unpack(files.pack(), Path("x/faq.yaml")).files == (("faq.yaml", b"version: 1\n"),)


def test_packed_files_cannot_name_a_part_outside_the_parts_folder():
    packed = bundle.PACKED + b'{"faq.yaml": "m", "../../evil.yaml": "x"}'
    with pytest.raises(KnowledgeError):
        Bundle.unpack(packed, Path("k/faq.yaml"))


def test_writing_backs_up_what_changed_and_removes_dropped_parts(split, tmp_path):
    files = bundle.read(split)
    changed = files.with_file("faq.d/10-record.yaml", b"entries: []\n")
    changed = Bundle(changed.path, tuple(f for f in changed.files if f[0] != "faq.d/20-death.yaml"))
    backups = bundle.write(changed, tmp_path / "backups")
    assert sorted(b.name[: b.name.rindex("-")] for b in backups) == ["10-record", "20-death"]
    assert (split.parent / "faq.d" / "10-record.yaml").read_bytes() == b"entries: []\n"
    assert not (split.parent / "faq.d" / "20-death.yaml").exists()
    assert bundle.read(split).files == changed.files


def test_a_curated_phrasing_goes_into_the_part_that_holds_its_entry(split):
    files = bundle.read(split)
    new, _ = propose(files, "and the hospital?", "en", "death")
    changed = [n for (n, d), (_, old) in zip(new.files, files.files, strict=True) if d != old]
    assert changed == ["faq.d/20-death.yaml"]
    assert "and the hospital?" in parse(new).by_id["death"].questions["en"]


def test_a_curated_example_goes_into_the_part_that_has_examples(split):
    files = bundle.read(split)
    new, _ = propose(files, "who built the mine", "en", OUT_OF_SCOPE_TARGET)
    assert dict(new.files)["faq.d/out-of-scope.yaml"].endswith(b'  - "who built the mine"\n')
    assert parse(new).out_of_scope[-1] == "who built the mine"


def test_the_shipped_knowledge_is_split_into_parts():
    from bot.knowledge import default_path

    files = bundle.read(default_path())
    assert len(files.files) > 5 and all(len(d) < bundle.MAX_FILE_BYTES / 4 for _, d in files.files)
