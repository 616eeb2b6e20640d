"""The curated knowledge: typed models, strict loading, and the immutable knowledge base.

Loading either returns a complete, validated `KnowledgeBase` (with its matching index) or
raises `KnowledgeError` listing every problem found, each naming the file, the entry and,
where known, the line. The knowledge is one YAML file, or a main file and its parts
(`bot.bundle`). Nothing here touches the network or Telegram.
"""

from __future__ import annotations

import gc
import hashlib
import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from types import MappingProxyType
from typing import Annotated, Any, Literal

from pydantic import (
    VERSION as PYDANTIC_VERSION,
)
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)

from bot import bundle as bundle_files
from bot import language, normalise
from bot import sources as archived_sources
from bot import words as word_lists
from bot.bundle import MAX_FILE_BYTES, TOO_LARGE, Bundle, KnowledgeError
from bot.language import DEFAULT, has_cyrillic
from bot.matching import OUT_OF_SCOPE, Embedder, LexicalIndex, Matcher
from bot.matching import lexical as lexical_matching
from bot.matching.lexical import TokenCache
from bot.sources import (
    SOURCES_DIR,
    SourceTextError,
    quote_difference,
    quote_form,
    read_source_text,
    shorten,
)

CYRILLIC_LANGUAGES = ("ru", "uk")
DEFAULT_PATH_ENV = "KNOWLEDGE_FILE"
EMBEDDINGS_NAME = "embeddings.sqlite3"
_VALIDATING_CODE = (
    b"".join(
        Path(module.__file__ or "").read_bytes()
        for module in (
            sys.modules[__name__],
            language,
            normalise,
            word_lists,
            lexical_matching,
            archived_sources,
        )
    )
    + Path(__file__).with_name("yamlfile.py").read_bytes()
    + Path(bundle_files.__file__ or "").read_bytes()
    + PYDANTIC_VERSION.encode()
)
"""Besides the bytes, what decides whether they are valid: a remembered model is reused only
by the code and pydantic that validated it."""
SUMMARY_IDS = (
    20  # ids listed per kind in a reload summary: 3 kinds x 20 x 60 characters fit a message
)

Id = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
LanguageCode = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}$")]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", str_strip_whitespace=True)


def _require_default_language(value: Mapping[str, Any]) -> Mapping[str, Any]:
    if DEFAULT not in value:
        raise ValueError(f"needs an '{DEFAULT}' text")
    return value


class Source(_Model):
    """A source an answer may cite.

    *archived*: the seed kind; its plain text is kept in sources/ and every citation quotes it
    verbatim. *referenced*: a public page we only link to; its facts are restated in our own
    words, cited with a locator (section or paragraph) and never quoted.
    """

    id: Id
    kind: Literal["archived", "referenced"] = "archived"
    title: Text
    publisher: Text
    author: Text | None = None
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    published: Text | None = None
    language: LanguageCode | None = None
    licence: Text | None = None
    accessed: Text | None = Field(default=None, description="The date the page was read.")
    text: Text | None = Field(
        default=None,
        description="The archived plain text: a file in sources/ beside the YAML file.",
    )

    @field_validator("published", "accessed", mode="before")
    @classmethod
    def _date_to_text(cls, value: Any) -> Any:
        return (
            value.isoformat()
            if isinstance(value, date)
            else str(value)
            if isinstance(value, int)
            else value
        )

    @model_validator(mode="after")
    def _fields_of_its_kind(self) -> Source:
        if self.kind == "archived":
            missing = [n for n in ("text", "published") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"an archived source needs {' and '.join(missing)}")
        else:
            missing = [n for n in ("licence", "language", "accessed") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"a referenced source needs {', '.join(missing)}")
            if self.text is not None:
                raise ValueError("a referenced source has no archived text (remove 'text')")
        return self

    @property
    def year(self) -> str:
        """When the source is dated: its publication year, else the date it was read."""
        return self.published[:4] if self.published else self.accessed or ""


class Citation(_Model):
    """Where an answer's facts come from: a verbatim quote of an archived source, or a
    locator (section, paragraph) in a referenced one."""

    source: Id
    quote: Text | None = None
    locator: Text | None = None
    translation: dict[LanguageCode, Text] = {}

    @model_validator(mode="after")
    def _quote_or_locator(self) -> Citation:
        if self.quote is None and self.locator is None:
            raise ValueError("needs a quote (archived source) or a locator (referenced source)")
        if self.translation and self.quote is None:
            raise ValueError("a translation needs a quote")
        return self


class Entry(_Model):
    id: Id
    title: dict[LanguageCode, Text]
    questions: dict[LanguageCode, Annotated[tuple[Text, ...], Field(min_length=1)]]
    answer: dict[LanguageCode, Text]
    citations: Annotated[tuple[Citation, ...], Field(min_length=1)]
    related: tuple[Id, ...] = ()
    keywords: tuple[Text, ...] = ()

    _default_title = field_validator("title")(_require_default_language)
    _default_questions = field_validator("questions")(_require_default_language)
    _default_answer = field_validator("answer")(_require_default_language)

    def text(self, field_name: str, language: str) -> str:
        """The entry's title or answer in a language, falling back to English."""
        texts: dict[str, str] = getattr(self, field_name)
        return texts.get(language) or texts[DEFAULT]

    def phrasings(self) -> tuple[str, ...]:
        """Every text a question may be matched against: phrasings, titles, keywords."""
        out = [q for qs in self.questions.values() for q in qs]
        return (*out, *self.title.values(), *self.keywords)


class KnowledgeFile(_Model):
    """The main file; with its parts' entries and examples appended, the whole knowledge."""

    version: int = 1
    sources: Annotated[tuple[Source, ...], Field(min_length=1)]
    synonyms: dict[Text, tuple[Text, ...]] = {}
    out_of_scope: tuple[Text, ...] = ()
    entries: tuple[Entry, ...] = ()
    story: tuple[Id, ...] = ()
    """Entries in the order of the story they tell, for "and then?" (bot.matching.followups)."""


class KnowledgePart(_Model):
    """A part (`faq.d/*.yaml`): entries and out-of-scope examples on one topic."""

    out_of_scope: tuple[Text, ...] = ()
    entries: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge file with its matching index; never mutated after loading."""

    path: Path
    sources: Mapping[str, Source]
    entries: tuple[Entry, ...]
    by_id: Mapping[str, Entry]
    synonyms: Mapping[str, tuple[str, ...]]
    out_of_scope: tuple[str, ...]
    index: Matcher = field(repr=False)

    @property
    def phrasing_count(self) -> int:
        return sum(len(qs) for e in self.entries for qs in e.questions.values())

    def summary(self) -> str:
        declines = f", {len(self.out_of_scope)} out-of-scope examples" if self.out_of_scope else ""
        return (
            f"{len(self.entries)} entries, {self.phrasing_count} phrasings, "
            f"{len(self.sources)} source{'s' if len(self.sources) != 1 else ''}{declines}"
        )


def default_path() -> Path:
    """The knowledge file shipped with the package (wheel) or in the source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "knowledge" / "faq.yaml", here.parent / "knowledge" / "faq.yaml"):
        if candidate.is_file():
            return candidate
    return here.parent / "knowledge" / "faq.yaml"


def home_path(data_dir: Path) -> Path:
    """The knowledge file an upload made writable in DATA_DIR (see LiveKnowledge.upload_target)."""
    return data_dir / "knowledge" / "faq.yaml"


def shipped_embeddings() -> Path:
    """The embedding cache shipped beside the shipped knowledge file (may be absent)."""
    return default_path().parent / EMBEDDINGS_NAME


def load(
    path: str | Path, embedder: Embedder | None = None, cache: TokenCache | None = None
) -> KnowledgeBase:
    """Read, parse and fully validate a knowledge file and its parts; raise KnowledgeError on
    any problem. Given a part (`faq.d/city.yaml`), the knowledge it belongs to is loaded.

    With an embedder, the matching index has the semantic signal too; without, it is lexical.
    With a cache (the embedder's by default), what was validated before is read back.
    """
    return parse(bundle_files.read(bundle_files.main_file(Path(path))), embedder, cache)


def parse(
    files: Bundle, embedder: Embedder | None = None, cache: TokenCache | None = None
) -> KnowledgeBase:
    """Validate the files of a knowledge base that lives (or will live) at `files.path`."""
    for path, data in files.paths():
        if len(data) > MAX_FILE_BYTES:
            raise KnowledgeError([f"{path}: {TOO_LARGE}"])
    if cache is None and embedder is not None:
        cache = embedder.cache
    with _collection_paused():
        return _parse(files, embedder, cache)


@contextmanager
def _collection_paused() -> Iterator[None]:
    """A load makes tens of thousands of containers that live as long as the knowledge:
    the cyclic collector would only re-scan them (about 15 % of a load's time here)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _parse(files: Bundle, embedder: Embedder | None, cache: TokenCache | None) -> KnowledgeBase:
    remembered = _remembered(files, cache)
    model, places = (remembered, _Places(files.path)) if remembered else _validated(files)
    synonyms = MappingProxyType(dict(model.synonyms))
    lexical = LexicalIndex.build(model.entries, synonyms, model.out_of_scope, cache)
    if remembered is None:
        problems = _check_phrasings(model, lexical, places)
        if problems:
            raise KnowledgeError(problems)
        if cache is not None:
            cache.store_corpus(_model_key(files), model.model_dump(mode="json"))
    semantic = embedder.index(lexical.texts) if embedder else None
    return _build(model, files.path, synonyms, Matcher(lexical, semantic, model.story))


def _validated(files: Bundle) -> tuple[KnowledgeFile, _Places]:
    """The model of the files' YAML, merged, with its sources and references checked."""
    problems: list[str] = []
    main: KnowledgeFile | None = None
    parts: list[KnowledgePart] = []
    places = _Places(files.path)
    for index, (path, data) in enumerate(files.paths()):
        try:
            raw, lines = _parse_yaml(data, path)
        except KnowledgeError as exc:
            problems += exc.problems
            continue
        where = _Locator(path, raw, lines)
        try:
            parsed = (KnowledgePart if index else KnowledgeFile).model_validate(raw)
        except ValidationError as exc:
            problems += [where.describe(err) for err in exc.errors()]
            continue
        if isinstance(parsed, KnowledgeFile):
            main = parsed
        else:
            parts.append(parsed)
        places = places.add(where, parsed)
    if problems or main is None:
        raise KnowledgeError(problems)
    model = main.model_copy(
        update={
            "entries": main.entries + tuple(e for p in parts for e in p.entries),
            "out_of_scope": main.out_of_scope + tuple(q for p in parts for q in p.out_of_scope),
        }
    )
    if not model.entries:
        raise KnowledgeError([f"{files.path}: entries: none, in it or its parts"])
    texts, problems = _read_sources(model, files.path)
    problems += _check_references(model, texts, places)
    if problems:
        raise KnowledgeError(problems)
    return model, places


def _parse_yaml(data: bytes, path: Path) -> tuple[dict[str, Any], dict[Any, int]]:
    """The file's YAML and its entries' lines. PyYAML is imported here, not at start-up: a
    remembered file never needs it (0.02 s of every start)."""
    from bot import yamlfile

    try:
        return yamlfile.read(data, path)
    except yamlfile.YamlProblems as exc:
        raise KnowledgeError(exc.problems) from None


def _remembered(files: Bundle, cache: TokenCache | None) -> KnowledgeFile | None:
    """The model of files that passed every check before, with the same code: validated
    again from JSON, since parsing the YAML and checking the phrasings is most of a load's
    cost. None if unknown or if its sources no longer check out, so that the full path
    reports the problems with their lines."""
    stored = cache.corpus(_model_key(files)) if cache is not None else None
    if not isinstance(stored, dict):
        return None
    try:
        model = KnowledgeFile.model_validate(stored)
    except ValidationError:
        return None
    texts, problems = _read_sources(model, files.path)
    if problems or _check_references(model, texts, _Places(files.path)):
        return None
    return model


def _model_key(files: Bundle) -> bytes:
    digest = hashlib.sha256(_VALIDATING_CODE)
    digest.update(files.digest())
    return b"model:" + digest.digest()


def _build(
    model: KnowledgeFile, path: Path, synonyms: Mapping[str, tuple[str, ...]], index: Matcher
) -> KnowledgeBase:
    return KnowledgeBase(
        path=path,
        sources=MappingProxyType({s.id: s for s in model.sources}),
        entries=model.entries,
        by_id=MappingProxyType({e.id: e for e in model.entries}),
        synonyms=synonyms,
        out_of_scope=model.out_of_scope,
        index=index,
    )


@dataclass(frozen=True)
class _Locator:
    """Names the entry (id and line) a validation problem belongs to."""

    path: Path
    raw: dict[str, Any]
    lines: dict[Any, int]

    def entry(self, index: int) -> str:
        entries = self.raw.get("entries")
        item = entries[index] if isinstance(entries, list) and index < len(entries) else None
        name = item.get("id") if isinstance(item, dict) else None
        label = f"entry '{name}'" if isinstance(name, str) else f"entry #{index + 1}"
        line = self.lines.get(index)
        return f"{label} (line {line})" if line else label

    def source(self, index: int) -> str:
        sources = self.raw.get("sources")
        item = sources[index] if isinstance(sources, list) and index < len(sources) else None
        name = item.get("id") if isinstance(item, dict) else None
        return f"source '{name}'" if isinstance(name, str) else f"source #{index + 1}"

    def describe(self, err: Mapping[str, Any]) -> str:
        loc = list(err["loc"])
        prefix = f"{self.path}: "
        if len(loc) >= 2 and loc[0] == "entries" and isinstance(loc[1], int):
            prefix += f"{self.entry(loc[1])}: "
            loc = loc[2:]
        elif len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
            prefix += f"{self.source(loc[1])}: "
            loc = loc[2:]
        field_path = ".".join(str(p) for p in loc) or "file"
        return f"{prefix}{field_path}: {_message(err)}"


@dataclass(frozen=True)
class _Places:
    """Where the merged knowledge's entries and examples were written: file, entry, line."""

    main: Path
    entries: tuple[tuple[_Locator, int], ...] = ()
    examples: Mapping[str, Path] = field(default_factory=dict)

    def add(self, where: _Locator, model: KnowledgeFile | KnowledgePart) -> _Places:
        """With the entries and examples of one more file, in load order."""
        entries = self.entries + tuple((where, i) for i in range(len(model.entries)))
        examples = {q: where.path for q in model.out_of_scope} | dict(self.examples)
        return _Places(self.main, entries, examples)

    def entry(self, index: int) -> str:
        """'file: entry 'id' (line n)' for the merged entry at `index`."""
        if index >= len(self.entries):
            return f"{self.main}: entry #{index + 1}"
        where, local = self.entries[index]
        return f"{where.path}: {where.entry(local)}"

    def quote_line(self, index: int, citation: int) -> int | None:
        if index >= len(self.entries):
            return None
        where, local = self.entries[index]
        return where.lines.get((local, citation))

    def entry_file(self, model: KnowledgeFile, entry_id: str) -> Path:
        for index, entry in enumerate(model.entries):
            if entry.id == entry_id and index < len(self.entries):
                return self.entries[index][0].path
        return self.main

    def example_file(self, text: str) -> Path:
        return self.examples.get(text, self.main)


def _message(err: Mapping[str, Any]) -> str:
    if err["type"] == "missing":
        return "missing"
    if err["type"] == "extra_forbidden":
        return "unknown field"
    if err["type"] == "string_pattern_mismatch":
        return (
            f"invalid value {err.get('input')!r} "
            "(ids: up to 60 lowercase letters, digits and dashes)"
        )
    return str(err["msg"]).removeprefix("Value error, ")


def _read_sources(model: KnowledgeFile, path: Path) -> tuple[dict[str, str], list[str]]:
    texts: dict[str, str] = {}
    problems: list[str] = []
    seen: set[str] = set()
    for source in model.sources:
        if source.id in seen:
            problems.append(f"{path}: source '{source.id}': duplicate source id")
            continue
        seen.add(source.id)
        if source.text is None:
            continue
        try:
            texts[source.id] = quote_form(read_source_text(path, source.text))
        except SourceTextError as exc:
            problems.append(f"{path}: source '{source.id}': text '{source.text}' {exc}")
    return texts, problems


def _check_references(model: KnowledgeFile, texts: dict[str, str], where: _Places) -> list[str]:
    ids = [e.id for e in model.entries]
    known = set(ids)
    sources = {s.id: s for s in model.sources}
    problems: list[str] = []
    seen: set[str] = set()
    for index, entry in enumerate(model.entries):
        label = where.entry(index)
        if entry.id in seen:
            problems.append(f"{label}: duplicate id '{entry.id}'")
        seen.add(entry.id)
        for rel in entry.related:
            if rel not in known:
                problems.append(f"{label}: related: unknown entry id '{rel}'")
            elif rel == entry.id:
                problems.append(f"{label}: related: an entry cannot relate to itself")
        for n, citation in enumerate(entry.citations, 1):
            problem = _citation_problem(citation, sources.get(citation.source), texts)
            if problem:
                line = where.quote_line(index, n)
                at = f" (line {line})" if line else ""
                problems.append(f"{label}: citation {n}{at}: {problem}")
    return problems + _story_problems(model.story, known, where)


def _story_problems(story: tuple[str, ...], known: set[str], where: _Places) -> list[str]:
    problems = [f"{where.main}: story: unknown entry id '{i}'" for i in story if i not in known]
    twice = sorted({i for i in story if story.count(i) > 1})
    return problems + [f"{where.main}: story: '{i}' appears twice" for i in twice]


def _citation_problem(citation: Citation, source: Source | None, texts: dict[str, str]) -> str:
    """What is wrong with one citation of `source`, or '' when nothing is."""
    if source is None:
        return f"unknown source id '{citation.source}'"
    if source.kind == "referenced":
        if citation.quote is not None:
            return (
                f"source '{source.id}' is referenced, not archived: restate its facts in the "
                "answer and give a locator instead of a quote"
            )
        return "" if citation.locator else f"source '{source.id}' needs a locator"
    if citation.quote is None:
        return f"source '{source.id}' is archived: give a verbatim quote"
    if source.id in texts and quote_form(citation.quote) not in texts[source.id]:
        return f"quote not found verbatim in source '{source.id}': " + quote_difference(
            quote_form(citation.quote), texts[source.id]
        )
    return ""


def _check_phrasings(model: KnowledgeFile, index: LexicalIndex, where: _Places) -> list[str]:
    """Every question must keep a content word, and must not read the same as another
    entry's phrasing (then neither entry is answered from it); an out-of-scope example must
    not read the same as any entry's phrasing. Checked on the index's own tokens."""
    questions = {(e.id, q) for e in model.entries for qs in e.questions.values() for q in qs}
    owners: dict[frozenset[str], str] = {}
    examples: list[tuple[str, frozenset[str]]] = []
    problems: list[str] = []
    for entry_id, text, tokens in index.phrasing_tokens():
        if entry_id == OUT_OF_SCOPE:
            examples.append((text, frozenset(tokens)))
            continue
        owner = owners.setdefault(frozenset(tokens), entry_id)
        if tokens and owner != entry_id and (entry_id, text) in questions:
            problems.append(
                f"{where.entry_file(model, entry_id)}: entry '{entry_id}': phrasing "
                f'"{shorten(text)}" reads the same as '
                f"a phrasing of entry '{owner}', so neither is answered from it"
            )
        if not tokens and (entry_id, text) in questions:
            problems.append(
                f"{where.entry_file(model, entry_id)}: entry '{entry_id}': phrasing "
                f'"{shorten(text)}" has only stop '
                "words, so it can never match"
            )
    for text, tokens in examples:
        owner = owners.get(tokens) if tokens else None
        if owner:
            problems.append(
                f'{where.example_file(text)}: out_of_scope: "{shorten(text)}" reads the '
                f"same as a phrasing of entry '{owner}'"
            )
    return problems + _latin_phrasings(model, where)


def _latin_phrasings(model: KnowledgeFile, where: _Places) -> list[str]:
    """A Russian or Ukrainian phrasing must be in Cyrillic: its Latin words ("kto") would
    enter the vocabulary, and a known Latin word is no longer read as the Cyrillic one, so
    typed transliterations ("kto takoy stakhanov") would stop matching."""
    return [
        f"{where.entry_file(model, e.id)}: entry '{e.id}': {language} phrasing "
        f'"{shorten(q)}" has no Cyrillic letter; write it in Cyrillic (transliterated '
        "questions are read as Cyrillic anyway)"
        for e in model.entries
        for language in CYRILLIC_LANGUAGES
        for q in e.questions.get(language, ())
        if not has_cyrillic(q)
    ]


@dataclass(frozen=True)
class Changes:
    """What a reload changed, by entry id."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    @classmethod
    def between(cls, old: KnowledgeBase | None, new: KnowledgeBase) -> Changes:
        before = dict(old.by_id) if old else {}
        after = dict(new.by_id)
        return cls(
            added=tuple(i for i in after if i not in before),
            removed=tuple(i for i in before if i not in after),
            changed=tuple(i for i in after if i in before and before[i] != after[i]),
        )

    def summary(self, kb: KnowledgeBase) -> str:
        parts = [f"{kb.summary()}."]
        for label, ids in (
            ("added", self.added),
            ("removed", self.removed),
            ("changed", self.changed),
        ):
            if ids:
                shown = ", ".join(ids[:SUMMARY_IDS])
                extra = f" …and {len(ids) - SUMMARY_IDS} more" if len(ids) > SUMMARY_IDS else ""
                parts.append(f"{label.capitalize()}: {shown}{extra}.")
        if not (self.added or self.removed or self.changed):
            parts.append("No entries changed.")
        return " ".join(parts)


class LiveKnowledge:
    """The knowledge base being served, and the files it was built from; a change swaps both
    whole, or changes nothing."""

    def __init__(
        self,
        path: str | Path,
        embedder: Embedder | None = None,
        cache: TokenCache | None = None,
    ) -> None:
        self.path = bundle_files.main_file(Path(path))
        self.embedder = embedder
        self.cache = cache if cache is not None or embedder is None else embedder.cache
        self.files = bundle_files.read(self.path)
        self.kb: KnowledgeBase = parse(self.files, embedder, self.cache)

    def parse(self, files: Bundle) -> KnowledgeBase:
        """Validate new files for this knowledge, indexed the way it is served."""
        return parse(files, self.embedder, self.cache)

    def upload_target(self, home: Path) -> Path:
        """Where a changed knowledge's main file is written (its parts beside it): where it is
        served from, unless that is the copy shipped inside the package (overwritten on
        upgrade): then `home`, seeded with the shipped sources/ so citations resolve there."""
        if self.path.resolve() != default_path().resolve():
            return self.path
        home.mkdir(parents=True, exist_ok=True)
        shutil.copytree(self.path.parent / SOURCES_DIR, home / SOURCES_DIR, dirs_exist_ok=True)
        return home / self.path.name

    def reload(self) -> Changes:
        """Re-read the files; on any problem raise KnowledgeError and keep the old knowledge."""
        files = bundle_files.read(self.path)
        return self.install(self.parse(files), files)

    def install(self, new: KnowledgeBase, files: Bundle) -> Changes:
        """Serve an already validated knowledge base (built from `files`) from now on."""
        changes = Changes.between(self.kb, new)
        self.kb, self.files, self.path = new, files, files.path
        return changes
