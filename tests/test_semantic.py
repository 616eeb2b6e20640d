"""The semantic signal beside the lexical one: the fusion's outcomes, the embedding cache,
and falling back to lexical matching when the encoder is off or missing (issue 10)."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bot.knowledge import load
from bot.matching import Embedder, Thresholds
from bot.matching import encoder as encoder_module
from bot.matching.embeddings import KEPT_MATRICES, EmbeddingCache
from bot.matching.encoder import UseEncoder, load_encoder
from tests.conftest import SMALL_YAML

ROOT = Path(__file__).resolve().parent.parent
WITH_EXAMPLES = (
    SMALL_YAML + 'out_of_scope:\n  - "how do coal mines work"\n  - "when was stakhanov born"\n'
)


class Counting:
    """The real encoder, counting the texts it is asked to embed."""

    def __init__(self, encoder: UseEncoder, name: str | None = None) -> None:
        self.inner = encoder
        self.name = name or encoder.name
        self.embedded: list[str] = []

    def encode(self, texts: list[str]) -> np.ndarray:
        self.embedded.extend(texts)
        return self.inner.encode(texts)


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> UseEncoder:
    return UseEncoder(tmp_path_factory.mktemp("weights"))


@pytest.fixture
def embedder(encoder, tmp_path) -> Embedder:
    return Embedder(Counting(encoder), EmbeddingCache(tmp_path / "cache" / "embeddings.sqlite3"))


def test_an_example_sharing_words_but_not_meaning_no_longer_declines(write_knowledge, embedder):
    path = write_knowledge(WITH_EXAMPLES)
    lexical = load(path).index.match("how much coal did he mine?")
    fused = load(path, embedder).index.match("how much coal did he mine?")
    assert (lexical.status, lexical.out_of_scope) == ("no_match", "how do coal mines work")
    assert (fused.status, fused.best.entry_id, fused.out_of_scope) == ("answered", "record", None)


def test_a_question_an_example_asks_is_still_declined(write_knowledge, embedder):
    path = write_knowledge(WITH_EXAMPLES + '  - "when did stakhanov die in the hospital"\n')
    match = load(path, embedder).index.match("when did stakhanov die in the hospital")
    assert (match.status, match.out_of_scope) == (
        "no_match",
        "when did stakhanov die in the hospital",
    )


def test_an_example_is_named_only_when_it_changed_the_outcome(write_knowledge, embedder):
    match = load(write_knowledge(WITH_EXAMPLES), embedder).index.match("when was he born")
    assert match.best.score < Thresholds().clarify
    assert (match.status, match.out_of_scope) == ("no_match", None)


def test_a_clear_agreement_of_both_signals_answers_below_the_answer_line(write_knowledge, embedder):
    path = write_knowledge(WITH_EXAMPLES)
    fused = load(path, embedder).index.match("how many tons in a shift")
    lexical = load(path).index.match("how many tons in a shift")
    assert fused.best.score < Thresholds().answer
    assert (fused.status, fused.best.entry_id) == ("answered", "record")
    assert (lexical.status, lexical.best.entry_id) == ("clarify", "record")


def test_an_example_reading_nearly_as_close_makes_the_matcher_less_sure(write_knowledge, embedder):
    alone = load(write_knowledge(WITH_EXAMPLES), embedder).index.match("how many tons in a shift")
    path = write_knowledge(WITH_EXAMPLES + '  - "what is the daily output of a coal hewer"\n')
    beside = load(path, embedder).index.match("how many tons in a shift")
    assert alone.best.entry_id == beside.best.entry_id == "record"
    assert beside.confidence < alone.confidence


def test_an_example_reading_as_close_as_the_best_entry_asks_instead_of_answering(
    write_knowledge, embedder
):
    path = write_knowledge(WITH_EXAMPLES + '  - "where is stakhanov buried"\n')
    match = load(path, embedder).index.match("when did stakhanov die, where was he buried")
    assert match.best.score >= Thresholds().answer
    assert (match.status, match.best.entry_id, match.out_of_scope) == ("clarify", "death", None)


def test_the_confidence_is_shown_with_the_encoder_and_not_without(write_knowledge, embedder):
    path = write_knowledge()
    assert 0.5 < load(path, embedder).index.match("when did he die").confidence < 1
    assert load(path).index.match("when did he die").confidence is None


def test_unrelated_question_is_declined_with_the_encoder(write_knowledge, embedder):
    match = load(write_knowledge(WITH_EXAMPLES), embedder).index.match("who won the 1988 olympics")
    assert match.status == "no_match"


def test_candidates_carry_both_signals(write_knowledge, embedder):
    match = load(write_knowledge(), embedder).index.match("how much coal did he mine?")
    assert match.best.lexical > 0 and 0 < match.best.semantic <= 1


def test_an_exact_phrasing_is_answered_without_embedding_the_question(write_knowledge, embedder):
    kb = load(write_knowledge(), embedder)
    before = len(embedder.encoder.embedded)
    match = kb.index.match("When did Stakhanov die?")
    assert (match.status, match.best.entry_id, match.best.semantic) == ("answered", "death", None)
    assert len(embedder.encoder.embedded) == before


def test_a_reload_embeds_only_the_phrasing_that_changed(write_knowledge, embedder):
    path = write_knowledge()
    load(path, embedder)
    first = len(embedder.encoder.embedded)
    load(path, embedder)
    assert len(embedder.encoder.embedded) == first
    write_knowledge(SMALL_YAML.replace('"102 tons"', '"102 tonnes of coal"'))
    load(path, embedder)
    assert embedder.encoder.embedded[first:] == ["102 tonnes of coal"]


def test_a_reload_after_an_edit_builds_the_matrix_a_restart_would(
    write_knowledge, encoder, tmp_path
):
    path = write_knowledge()
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    running = Embedder(encoder, EmbeddingCache(cache_file))
    load(path, running)
    write_knowledge(SMALL_YAML.replace('"102 tons"', '"102 tonnes of coal"'))
    reloaded = np.array(load(path, running).index.semantic.matrix)
    for stored in cache_file.parent.glob("*.corpora/*.npy"):
        stored.unlink()
    restarted = load(path, Embedder(encoder, EmbeddingCache(cache_file))).index.semantic.matrix
    assert np.array_equal(reloaded, restarted)


def test_a_reload_reads_no_stored_vector_of_an_unchanged_text(write_knowledge, embedder):
    path = write_knowledge()
    load(path, embedder)
    write_knowledge(SMALL_YAML.replace('"102 tons"', '"102 tonnes of coal"'))
    asked: list[str] = []
    get = embedder.cache.get
    embedder.cache.get = lambda model, texts: asked.extend(texts) or get(model, texts)
    load(path, embedder)
    assert asked == ["102 tonnes of coal"]


def test_the_cache_survives_a_restart(write_knowledge, encoder, tmp_path):
    path = write_knowledge()
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    load(path, Embedder(Counting(encoder), EmbeddingCache(cache_file)))
    restarted = Counting(encoder)
    load(path, Embedder(restarted, EmbeddingCache(cache_file)))
    assert restarted.embedded == []


def test_a_restart_maps_the_same_corpus_matrix_back(write_knowledge, encoder, tmp_path):
    path = write_knowledge()
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    fresh = load(path, Embedder(encoder, EmbeddingCache(cache_file))).index.semantic.matrix
    mapped = load(path, Embedder(encoder, EmbeddingCache(cache_file))).index.semantic.matrix
    assert isinstance(mapped, np.memmap) and np.array_equal(mapped, fresh)


def test_a_damaged_corpus_matrix_is_rebuilt(write_knowledge, encoder, tmp_path):
    path = write_knowledge()
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    fresh = load(path, Embedder(encoder, EmbeddingCache(cache_file))).index.semantic.matrix
    (stored,) = cache_file.parent.glob("*.corpora/*.npy")
    stored.write_bytes(stored.read_bytes()[:100])
    again = load(path, Embedder(encoder, EmbeddingCache(cache_file))).index.semantic.matrix
    assert np.array_equal(again, fresh) and stored.stat().st_size > 100


def test_only_the_latest_corpus_matrices_are_kept(write_knowledge, encoder, tmp_path):
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    for n in range(KEPT_MATRICES + 2):
        edited = SMALL_YAML.replace('"102 tons"]', f'"102 tons", "coal record number {n}"]')
        load(write_knowledge(edited), Embedder(encoder, EmbeddingCache(cache_file)))
    assert len(list(cache_file.parent.glob("*.corpora/*.npy"))) == KEPT_MATRICES


def test_another_model_embeds_everything_again(write_knowledge, encoder, tmp_path):
    path = write_knowledge()
    cache_file = tmp_path / "cache" / "embeddings.sqlite3"
    first = Counting(encoder)
    load(path, Embedder(first, EmbeddingCache(cache_file)))
    other = Counting(encoder, name="another-model/1.0")
    load(path, Embedder(other, EmbeddingCache(cache_file)))
    assert sorted(other.embedded) == sorted(set(first.embedded)) and other.embedded


def test_an_unwritable_cache_keeps_embeddings_in_memory(write_knowledge, encoder, tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with caplog.at_level(logging.WARNING):
        kb = load(write_knowledge(), Embedder(encoder, EmbeddingCache(blocker / "e.sqlite3")))
    assert kb.index.match("how much coal did he mine?").best.entry_id == "record"
    assert "embedding cache" in caplog.text and "in memory" in caplog.text


SENTENCES = ["Сколько угля добыл Стаханов?", "when was he born", "Коли помер Стаханов?"]


def test_encoder_weights_from_the_snapshot_embed_exactly_as_the_packaged_ones(tmp_path):
    packaged = UseEncoder().encode(SENTENCES)
    UseEncoder(tmp_path).encode(SENTENCES[:1])  # writes the snapshot
    assert any(tmp_path.glob("use-multilingual-v3-*/table.npy"))
    assert np.array_equal(UseEncoder(tmp_path).encode(SENTENCES), packaged)


def test_a_damaged_weights_snapshot_is_rebuilt(tmp_path, caplog):
    UseEncoder(tmp_path).encode(SENTENCES[:1])
    (table,) = tmp_path.glob("use-multilingual-v3-*/table.npy")
    table.write_bytes(table.read_bytes()[:1000])
    with caplog.at_level(logging.INFO):
        vectors = UseEncoder(tmp_path).encode(SENTENCES)
    assert np.array_equal(vectors, UseEncoder().encode(SENTENCES))
    assert "rebuilding it" in caplog.text and table.stat().st_size > 1000


def test_an_unwritable_cache_folder_reads_the_packaged_weights(tmp_path, caplog):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    with caplog.at_level(logging.INFO):
        vectors = UseEncoder(blocker).encode(SENTENCES)
    assert np.array_equal(vectors, UseEncoder().encode(SENTENCES))
    assert "cannot keep the encoder weights snapshot" in caplog.text


def test_the_encoder_module_starts_a_load_before_numpy_is_imported():
    code = "import sys, bot.matching.encoder; print('numpy' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT)
    assert result.stdout.strip() == b"False", result.stderr.decode()


def test_the_setting_off_means_lexical_only_with_a_log_line(caplog):
    with caplog.at_level(logging.INFO):
        assert load_encoder(enabled=False) is None
    assert "semantic matching is off" in caplog.text and "lexical only" in caplog.text


def test_a_missing_encoder_package_means_lexical_only_with_a_log_line(monkeypatch, caplog):
    monkeypatch.setattr(encoder_module, "find_spec_ok", lambda name: False)
    with caplog.at_level(logging.WARNING):
        assert load_encoder(enabled=True) is None
    assert "semantic matching unavailable" in caplog.text and "lexical only" in caplog.text


def ask_json(question: str, **env: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "ask", "--json", question],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**__import__("os").environ, **env},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_ask_json_shows_both_signals():
    answer = ask_json("what was the Stakhanovite movement hailed as an example of")
    assert answer["signals"]["lexical"] > 0 and answer["signals"]["semantic"] > 0


def test_ask_json_with_the_setting_off_has_no_semantic_signal():
    answer = ask_json(
        "what was the Stakhanovite movement hailed as an example of", SEMANTIC_MATCHING="off"
    )
    assert answer["signals"]["lexical"] > 0 and answer["signals"]["semantic"] is None
