"""The loader serves a complete, validated knowledge base or refuses with actionable errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from bot import knowledge, normalise, words
from bot.knowledge import MAX_FILE_BYTES, Changes, KnowledgeError, LiveKnowledge, load
from bot.matching import lexical
from bot.matching.embeddings import EmbeddingCache
from bot.normalise import Normaliser
from bot.sources import quote_form
from tests.conftest import SMALL_YAML, problems_of

ROOT = Path(__file__).resolve().parent.parent


def test_small_file_loads_with_typed_entries(write_knowledge):
    kb = load(write_knowledge())
    assert [e.id for e in kb.entries] == ["record", "death"]
    assert kb.by_id["death"].related == ()
    assert kb.sources["src"].year == "2010"
    assert kb.summary() == "2 entries, 4 phrasings, 1 source"


def test_loaded_knowledge_is_immutable(write_knowledge):
    kb = load(write_knowledge())
    with pytest.raises(ValidationError):
        kb.entries[0].answer = {"en": "changed"}  # type: ignore[misc]
    with pytest.raises(TypeError):
        kb.by_id["new"] = kb.entries[0]  # type: ignore[index]


def test_invalid_yaml_is_refused_with_its_line(write_knowledge):
    path = write_knowledge(SMALL_YAML + "  - id: [unclosed\n")
    (problem,) = problems_of(path)
    assert str(path) in problem and "invalid YAML" in problem and "line" in problem


def test_invalid_utf8_is_refused_with_its_line(write_knowledge, tmp_path):
    path = write_knowledge()
    path.write_bytes(b"version: 1\nsources: \xff\xfe\n")
    (problem,) = problems_of(path)
    assert "line 2: not valid UTF-8" in problem


def test_wrong_type_names_the_entry_field_and_line(write_knowledge):
    path = write_knowledge(SMALL_YAML.replace("related: [death]", "related: 42"))
    (problem,) = problems_of(path)
    assert "entry 'record' (line 12): related" in problem


def test_missing_field_names_the_entry(write_knowledge):
    text = SMALL_YAML.replace(
        '    answer: {en: "He died in 1977 in a psychiatric hospital."}\n', ""
    )
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'death'" in problem and "answer: missing" in problem


def test_missing_english_text_is_refused(write_knowledge):
    text = SMALL_YAML.replace('title: {en: "His death"}', 'title: {ru: "Смерть"}')
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'death'" in problem and "title" in problem and "'en'" in problem


def test_unknown_field_is_refused(write_knowledge):
    text = SMALL_YAML.replace("    related: [death]\n", "    related: [death]\n    colour: red\n")
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'record'" in problem and "colour: unknown field" in problem


def test_duplicate_ids_are_refused(write_knowledge):
    text = SMALL_YAML.replace("- id: death", "- id: record").replace("[death]", "[]")
    problems = problems_of(write_knowledge(text))
    assert any("duplicate id 'record'" in p for p in problems)


def test_unknown_source_id_is_refused(write_knowledge):
    text = SMALL_YAML.replace(
        '      - source: src\n        quote: "Stakhanov died',
        '      - source: nope\n        quote: "Stakhanov died',
    )
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'death'" in problem and "unknown source id 'nope'" in problem


def test_unknown_related_id_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(SMALL_YAML.replace("[death]", "[birth]")))
    assert "entry 'record'" in problem and "unknown entry id 'birth'" in problem


def test_a_story_naming_an_unknown_entry_is_refused(write_knowledge):
    text = SMALL_YAML.replace("entries:\n", "story: [record, birth]\nentries:\n", 1)
    (problem,) = problems_of(write_knowledge(text))
    assert "story" in problem and "unknown entry id 'birth'" in problem


def test_a_story_telling_an_entry_twice_is_refused(write_knowledge):
    text = SMALL_YAML.replace("entries:\n", "story: [record, death, record]\nentries:\n", 1)
    (problem,) = problems_of(write_knowledge(text))
    assert "story: 'record' appears twice" in problem


def test_quote_not_in_source_is_refused(write_knowledge):
    text = SMALL_YAML.replace("died an alcoholic in a psychiatric", "died peacefully in a")
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'death'" in problem and "quote not found verbatim in source 'src'" in problem


def test_quote_check_forgives_only_whitespace_quotes_and_dashes():
    assert quote_form("shift — which\n was  “14”") == quote_form('shift -- which was "14"')
    assert quote_form("shift which") != quote_form("shift -- which")


def test_typographic_quote_matches_source(write_knowledge):
    text = SMALL_YAML.replace("during one shift -- which", "during one shift — which")
    assert load(write_knowledge(text)).by_id["record"]


def test_missing_source_text_is_refused(write_knowledge):
    text = SMALL_YAML.replace('text: "sources/source.txt"', 'text: "sources/missing.txt"')
    (problem,) = problems_of(write_knowledge(text))
    assert "source 'src'" in problem and "missing.txt" in problem


def test_file_over_the_size_limit_is_refused(write_knowledge):
    path = write_knowledge(SMALL_YAML + "#" * MAX_FILE_BYTES)
    (problem,) = problems_of(path)
    assert "larger than 2 MiB" in problem


def test_alias_bomb_is_refused_quickly(write_knowledge):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 9)]
    (problem,) = problems_of(write_knowledge("\n".join(lines) + "\n"))
    assert "alias bomb" in problem


def test_duplicate_keys_are_refused(write_knowledge):
    text = SMALL_YAML.replace("version: 1\n", "version: 1\nversion: 2\n")
    (problem,) = problems_of(write_knowledge(text))
    assert "line 2: duplicate key 'version'" in problem


def test_python_tags_are_refused(write_knowledge):
    text = "version: !!python/object/apply:os.system ['echo pwned']\n"
    (problem,) = problems_of(write_knowledge(text))
    assert "invalid YAML" in problem


def test_deep_nesting_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge("a: " + "[" * 5000 + "]" * 5000 + "\n"))
    assert "nested too deeply" in problem or "invalid YAML" in problem


def test_empty_file_is_refused(write_knowledge):
    (problem,) = problems_of(write_knowledge(""))
    assert "empty" in problem


def test_missing_file_is_refused(tmp_path):
    (problem,) = problems_of(tmp_path / "nope.yaml")
    assert "file not found" in problem


def test_every_problem_is_reported_at_once(write_knowledge):
    text = SMALL_YAML.replace("[death]", "[birth]").replace("an alcoholic", "a hero")
    assert len(problems_of(write_knowledge(text))) == 2


def test_reload_swaps_in_the_new_knowledge(write_knowledge):
    path = write_knowledge()
    live = LiveKnowledge(path)
    path.write_text(SMALL_YAML.replace("mined 102 tons", "extracted 102 tons"), encoding="utf-8")
    changes = live.reload()
    assert changes.changed == ("record",) and not changes.added and not changes.removed
    assert "extracted" in live.kb.by_id["record"].answer["en"]


def test_failed_reload_keeps_serving_the_old_knowledge(write_knowledge):
    path = write_knowledge()
    live = LiveKnowledge(path)
    before = live.kb
    path.write_text("entries: [", encoding="utf-8")
    with pytest.raises(KnowledgeError):
        live.reload()
    assert live.kb is before


def test_changes_name_added_and_removed_entries(write_knowledge):
    old = load(write_knowledge())
    new = load(
        write_knowledge(
            SMALL_YAML.replace("- id: death", "- id: dying").replace("[death]", "[dying]")
        )
    )
    changes = Changes.between(old, new)
    assert changes.added == ("dying",) and changes.removed == ("death",)
    assert "Added: dying." in changes.summary(new) and "Removed: death." in changes.summary(new)


def test_an_out_of_scope_example_that_reads_like_a_phrasing_is_refused(write_knowledge):
    text = SMALL_YAML.replace("entries:\n", 'out_of_scope: ["when did stakhanov die"]\nentries:\n')
    (problem,) = problems_of(write_knowledge(text))
    assert "out_of_scope" in problem and "'death'" in problem


def test_a_phrasing_that_reads_like_another_entrys_is_refused(write_knowledge):
    text = SMALL_YAML.replace('"102 tons"]', '"102 tons", "when did stakhanov die"]')
    (problem,) = problems_of(write_knowledge(text))
    assert "entry 'record'" in problem and "entry 'death'" in problem


def test_a_phrasing_of_only_stop_words_is_refused(write_knowledge):
    text = SMALL_YAML.replace('"How did he die?"]', '"How did he die?", "was it true though"]')
    (problem,) = problems_of(write_knowledge(text))
    assert "'death'" in problem and "only stop words" in problem


def test_a_russian_phrasing_in_latin_letters_is_refused(write_knowledge):
    text = SMALL_YAML.replace(
        '"How did he die?"]', '"How did he die?"]\n      ru: ["kogda umer stakhanov"]'
    )
    (problem,) = problems_of(write_knowledge(text))
    assert "'death'" in problem and "kogda umer stakhanov" in problem and "Cyrillic" in problem


def test_a_russian_phrasing_with_a_latin_name_is_accepted(write_knowledge):
    text = SMALL_YAML.replace(
        '"How did he die?"]', '"How did he die?"]\n      ru: ["RFE/RL о смерти"]'
    )
    assert load(write_knowledge(text)).by_id["death"].questions["ru"] == ("RFE/RL о смерти",)


def test_a_bad_quote_is_reported_at_its_own_line_with_the_part_that_differs(write_knowledge):
    bad = SMALL_YAML.replace(
        "Stakhanov died an alcoholic in a psychiatric hospital in 1977.",
        "Stakhanov died an alcoholic in a psychiatric hospital in 1978.",
    )
    path = write_knowledge(bad)
    quote_line = next(
        n for n, line in enumerate(path.read_text().splitlines(), 1) if "in 1978." in line
    )
    with pytest.raises(KnowledgeError) as caught:
        load(path)
    (problem,) = caught.value.problems
    assert f"(line {quote_line})" in problem
    assert '"8."' in problem and '"7."' in problem


def test_a_file_validated_before_is_read_back_without_parsing_its_yaml(
    write_knowledge, tmp_path, monkeypatch
):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    path = write_knowledge()
    first = load(path, cache=cache)

    def no_yaml(*_):
        raise AssertionError("the YAML was parsed again")

    monkeypatch.setattr(knowledge, "_parse_yaml", no_yaml)
    again = load(path, cache=cache)
    assert again.entries == first.entries and again.sources == first.sources


def test_a_file_validated_before_loads_without_importing_pyyaml(write_knowledge, tmp_path):
    path = write_knowledge()
    load(path, cache=EmbeddingCache(tmp_path / "cache.sqlite3"))
    code = (
        "import sys; from pathlib import Path; from bot.knowledge import load; "
        "from bot.matching.embeddings import EmbeddingCache; "
        f"load(Path({str(path)!r}), cache=EmbeddingCache(Path({str(tmp_path / 'cache.sqlite3')!r}))); "
        "print('yaml' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert result.stdout.strip() == b"False", result.stderr.decode()


def test_a_remembered_file_whose_source_changed_is_refused_with_the_quotes_line(
    write_knowledge, tmp_path
):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    path = write_knowledge()
    load(path, cache=cache)
    text = (tmp_path / "sources" / "source.txt").read_text()
    (tmp_path / "sources" / "source.txt").write_text(text.replace("in 1977", "in 1978"))
    with pytest.raises(KnowledgeError) as caught:
        load(path, cache=cache)
    (problem,) = caught.value.problems
    assert "quote not found verbatim" in problem and "(line " in problem


def test_a_file_that_fails_a_check_is_not_remembered(write_knowledge, tmp_path):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    clash = SMALL_YAML.replace("entries:\n", 'out_of_scope: ["when did stakhanov die"]\nentries:\n')
    path = write_knowledge(clash)
    for _ in range(2):
        with pytest.raises(KnowledgeError):
            load(path, cache=cache)


def test_other_validating_code_does_not_reuse_a_remembered_file(
    write_knowledge, tmp_path, monkeypatch
):
    cache = EmbeddingCache(tmp_path / "cache.sqlite3")
    path = write_knowledge()
    load(path, cache=cache)
    monkeypatch.setattr(knowledge, "_VALIDATING_CODE", b"a newer rule")
    parsed: list[Path] = []
    real = knowledge._parse_yaml
    monkeypatch.setattr(knowledge, "_parse_yaml", lambda data, p: parsed.append(p) or real(data, p))
    load(path, cache=cache)
    assert parsed == [path]


@pytest.mark.parametrize("module", [normalise, words])
def test_a_change_to_the_word_lists_or_the_normaliser_invalidates_both_caches(module):
    source = Path(module.__file__).read_bytes()
    assert source in knowledge._VALIDATING_CODE
    assert source in lexical._CODE


def test_a_reload_normalises_only_the_texts_that_changed(write_knowledge, tmp_path, monkeypatch):
    path = write_knowledge()
    cache = EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite3")
    load(path, cache=cache)
    write_knowledge(SMALL_YAML.replace('"102 tons"', '"102 tonnes of coal"'))
    normalised: list[str] = []
    tokens = Normaliser.tokens
    monkeypatch.setattr(
        Normaliser, "tokens", lambda self, t: normalised.append(t) or tokens(self, t)
    )
    edited = load(path, cache=cache)
    assert normalised == ["102 tonnes of coal"]
    assert edited.index.match("102 tonnes of coal").best.entry_id == "record"
