"""What the bot replies: the outcome for a question, as JSON, plain text or Telegram HTML."""

from __future__ import annotations

import html
import unicodedata
from dataclasses import dataclass
from typing import Any

from bot import language as lang
from bot.knowledge import Citation, Entry, KnowledgeBase, Source
from bot.matching import Candidate, Match, Status, Thresholds, followups
from bot.normalise import is_option_number, without_surrogates, words
from bot.words import ABOUT_THE_BOT

TELEGRAM_LIMIT = 4096

MESSAGES: dict[str, dict[str, str]] = {
    "source": {"en": "Source", "ru": "Источник", "uk": "Джерело"},
    "translation": {"en": "Translation", "ru": "Перевод", "uk": "Переклад"},
    "locator": {"en": "Where", "ru": "Где", "uk": "Де"},
    "read_on": {"en": "read {date}", "ru": "прочитано {date}", "uk": "прочитано {date}"},
    "clarify": {
        "en": "I'm not sure which of these you mean:",
        "ru": "Не уверен, что именно вы имеете в виду:",
        "uk": "Не впевнений, що саме ви маєте на увазі:",
    },
    "no_match": {
        "en": "Sorry, my sources don't cover that. I answer only from the sources I list, about "
        "Aleksei Stakhanov and the Stakhanovite movement.",
        "ru": "К сожалению, мои источники об этом не говорят. Я отвечаю только тем, что "
        "говорят мои источники об Алексее Стаханове и стахановском движении.",
        "uk": "На жаль, мої джерела про це не кажуть. Я відповідаю лише тим, що кажуть мої "
        "джерела про Олексія Стаханова і стахановський рух.",
    },
    "further": {
        "en": "You may find more in:",
        "ru": "Больше, возможно, найдётся здесь:",
        "uk": "Більше, можливо, знайдеться тут:",
    },
    "about": {
        "en": "I'm a bot, not a person or a general chatbot: I answer questions about Aleksei "
        "Stakhanov and the Stakhanovite movement only from the public sources my curators "
        "listed, and I name them in every answer. Try: when did Stakhanov die?",
        "ru": "Я бот, а не человек и не универсальный чат-бот: я отвечаю на вопросы об Алексее "
        "Стаханове и стахановском движении только по открытым источникам, которые выбрали мои "
        "составители, и называю их в каждом ответе. Попробуйте: когда умер Стаханов?",
        "uk": "Я бот, а не людина і не універсальний чат-бот: я відповідаю на питання про "
        "Олексія Стаханова і стахановський рух лише за відкритими джерелами, які обрали мої "
        "упорядники, і називаю їх у кожній відповіді. Спробуйте: коли помер Стаханов?",
    },
    "greeting": {
        "en": "Hello! Ask me anything about Aleksei Stakhanov and the Stakhanovite movement, "
        "for example: when did Stakhanov die?",
        "ru": "Здравствуйте! Спросите меня что-нибудь об Алексее Стаханове и стахановском "
        "движении, например: когда умер Стаханов?",
        "uk": "Вітаю! Запитайте мене будь-що про Олексія Стаханова і стахановський рух, "
        "наприклад: коли помер Стаханов?",
    },
    "pick_option": {
        "en": "Type the number of an option (1-{count}) to see it.",
        "ru": "Введите номер варианта (1-{count}), чтобы его открыть.",
        "uk": "Введіть номер варіанта (1-{count}), щоб його відкрити.",
    },
    "no_options": {
        "en": "There is nothing to choose from just now. Ask me a question about Aleksei "
        "Stakhanov, for example: when did Stakhanov die?",
        "ru": "Сейчас выбирать не из чего. Задайте вопрос об Алексее Стаханове, например: "
        "когда умер Стаханов?",
        "uk": "Зараз немає з чого вибирати. Поставте питання про Олексія Стаханова, "
        "наприклад: коли помер Стаханов?",
    },
    "related": {"en": "Related", "ru": "Связанные вопросы", "uk": "Пов'язані питання"},
    "start": {
        "en": "Hello! I answer questions about Aleksei Stakhanov and the Soviet Stakhanovite "
        "movement from public sources ({sources}). Every answer names its sources. Ask me "
        "anything in English, Russian or Ukrainian, or try one of these:",
        "ru": "Здравствуйте! Я отвечаю на вопросы об Алексее Стаханове и стахановском движении "
        "по открытым источникам ({sources}). К каждому ответу прилагаю источники. "
        "Спрашивайте по-русски, по-украински или по-английски, или попробуйте:",
        "uk": "Вітаю! Я відповідаю на питання про Олексія Стаханова і стахановський рух за "
        "відкритими джерелами ({sources}). До кожної відповіді додаю джерела. "
        "Питайте українською, російською чи англійською, або спробуйте:",
    },
    "help": {
        "en": 'Just type a question, e.g. "when did Stakhanov die?". I answer from my sources '
        "and cite them; if they don't say, I tell you so.\n\n"
        "/topics - everything I can answer\n/lang - choose the answer language\n"
        "/help - this message\n\nIn groups, mention me or reply to my message. "
        "In any chat, type @{username} and a question to share an answer.",
        "ru": "Просто напишите вопрос, например «когда умер Стаханов?». Я отвечаю по своим "
        "источникам и ссылаюсь на них; если они об этом молчат, я так и скажу.\n\n"
        "/topics - всё, на что я могу ответить\n/lang - язык ответов\n/help - эта справка"
        "\n\nВ группах упомяните меня или ответьте на моё сообщение. В любом чате наберите "
        "@{username} и вопрос, чтобы поделиться ответом.",
        "uk": "Просто напишіть питання, наприклад «коли помер Стаханов?». Я відповідаю за "
        "своїми джерелами і посилаюся на них; якщо вони про це мовчать, я так і скажу.\n\n"
        "/topics - усе, на що я можу відповісти\n/lang - мова відповідей\n/help - ця довідка"
        "\n\nУ групах згадайте мене або дайте відповідь на моє повідомлення. У будь-якому чаті "
        "наберіть @{username} і питання, щоб поділитися відповіддю.",
    },
    "topics": {
        "en": "Topics ({page}/{pages}):",
        "ru": "Темы ({page}/{pages}):",
        "uk": "Теми ({page}/{pages}):",
    },
    "closest": {
        "en": "The closest topics my sources do cover:",
        "ru": "Ближайшие темы, о которых в моих источниках есть:",
        "uk": "Найближчі теми, про які в моїх джерелах є:",
    },
    "inline_no_match": {
        "en": "My sources don't cover that",
        "ru": "Мои источники об этом не говорят",
        "uk": "Мої джерела про це не кажуть",
    },
    "no_match_hint": {
        "en": "See /topics for what I can answer.",
        "ru": "Список того, на что я могу ответить: /topics.",
        "uk": "Перелік того, на що я можу відповісти: /topics.",
    },
    "thanks": {
        "en": "You're welcome! Ask me anything else about Stakhanov and the Stakhanovite movement.",
        "ru": "Пожалуйста! Спрашивайте ещё о Стаханове и стахановском движении.",
        "uk": "Будь ласка! Питайте ще про Стаханова і стахановський рух.",
    },
    "unknown_command": {
        "en": "I don't know that command. /help lists what I can do.",
        "ru": "Я не знаю такой команды. /help — что я умею.",
        "uk": "Я не знаю такої команди. /help — що я вмію.",
    },
    "slow_down": {
        "en": "You're asking faster than I can answer; I'll skip some. One question at a time, please.",
        "ru": "Вы спрашиваете быстрее, чем я успеваю отвечать; часть вопросов пропущу. По одному, пожалуйста.",
        "uk": "Ви питаєте швидше, ніж я встигаю відповідати; частину питань пропущу. По одному, будь ласка.",
    },
    "too_long": {
        "en": "That message is too long for me: please ask in under {limit} characters.",
        "ru": "Слишком длинное сообщение: пожалуйста, уложитесь в {limit} символов.",
        "uk": "Задовге повідомлення: будь ласка, вкладіться в {limit} символів.",
    },
    "text_only": {
        "en": "I can only read text: please type your question.",
        "ru": "Я понимаю только текст: напишите, пожалуйста, вопрос.",
        "uk": "Я розумію лише текст: напишіть, будь ласка, питання.",
    },
    "none_of_these": {
        "en": "None of these",
        "ru": "Ничего из этого",
        "uk": "Нічого з цього",
    },
    "none_noted": {
        "en": "Thanks, noted: your question goes to whoever keeps my sources. /topics lists everything I can answer.",
        "ru": "Спасибо, учту: ваш вопрос получит тот, кто ведёт мои источники. /topics покажет всё, на что я могу ответить.",
        "uk": "Дякую, врахую: ваше питання отримає той, хто веде мої джерела. /topics покаже все, на що я можу відповісти.",
    },
    "feedback_thanks": {
        "en": "Thanks for the feedback!",
        "ru": "Спасибо за отзыв!",
        "uk": "Дякую за відгук!",
    },
    "gone": {
        "en": "That topic is no longer in my knowledge. Try /topics.",
        "ru": "Этой темы больше нет в моих данных. Попробуйте /topics.",
        "uk": "Цієї теми більше немає в моїх даних. Спробуйте /topics.",
    },
    "choose_language": {
        "en": "Which language should I answer in?",
        "ru": "На каком языке отвечать?",
        "uk": "Якою мовою відповідати?",
    },
    "language_set": {
        "en": "I'll answer in English.",
        "ru": "Буду отвечать по-русски.",
        "uk": "Відповідатиму українською.",
    },
    "language_auto": {
        "en": "I'll answer in the language of each question.",
        "ru": "Буду отвечать на языке вопроса.",
        "uk": "Відповідатиму мовою питання.",
    },
    "auto": {"en": "Auto", "ru": "Авто", "uk": "Авто"},
    "error": {
        "en": "Sorry, something went wrong on my side. Please try again.",
        "ru": "Извините, у меня что-то сломалось. Попробуйте ещё раз.",
        "uk": "Вибачте, у мене щось зламалося. Спробуйте ще раз.",
    },
}


def terminal_safe(text: str) -> str:
    """Text for a terminal: control and format characters other than newline and tab (C1
    controls, escapes, right-to-left overrides) shown as \\uXXXX instead of acting."""
    return "".join(
        c if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf") else f"\\u{ord(c):04x}"
        for c in without_surrogates(text)
    )


def utf16_len(text: str) -> int:
    """Length as Telegram counts it: UTF-16 code units (an emoji is two)."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def fit_lines(lines: list[str], limit: int = TELEGRAM_LIMIT, more: str = "…and {n} more") -> str:
    """As many whole lines as fit in one message (UTF-16 units), then "…and N more".

    Whole lines keep every line's HTML tags balanced."""
    shown: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        tail = utf16_len(more.format(n=len(lines) - index)) + 1
        cost = utf16_len(line) + (1 if shown else 0)
        if used + cost + (tail if index < len(lines) - 1 else 0) > limit:
            shown.append(more.format(n=len(lines) - index))
            break
        shown.append(line)
        used += cost
    return "\n".join(shown)


def escape(text: str) -> str:
    """Text made safe for Telegram HTML (quotes stay readable: they need no escaping there)."""
    return html.escape(text, quote=False)


def message(key: str, language: str, **values: object) -> str:
    """A user-facing text in a language (English if missing), with values filled in."""
    texts = MESSAGES[key]
    text = texts.get(language) or texts[lang.DEFAULT]
    return text.format(**values) if values else text


@dataclass(frozen=True)
class Reply:
    """The outcome for one question, ready to be rendered for any front end."""

    question: str
    status: Status
    language: str
    match: Match
    entry: Entry | None
    suggestions: tuple[tuple[Entry, float], ...]
    further: tuple[Source, ...] = ()
    """For a decline: the listed sources most likely to answer it."""

    @property
    def score(self) -> float:
        return self.match.score

    @property
    def topic(self) -> str | None:
        """What a follow-up to this reply is read with: the question answered (with the one
        it was read with, if it was a follow-up itself); None unless it was answered."""
        if self.status != "answered":
            return None
        return followups.topic(self.question, self.match.read_with)


def language_of(kb: KnowledgeBase, question: str, fallback: str | None = None) -> str:
    """The asker's language, read from the question as meant: keys typed with the keyboard
    left on the English layout ("rjulf evth cnf[fyjd") are Russian or Ukrainian."""
    return lang.detect(kb.index.reader.on_right_layout(question), fallback)


def reply_to(
    kb: KnowledgeBase,
    question: str,
    *,
    language: str | None = None,
    fallback: str | None = None,
    thresholds: Thresholds | None = None,
    previous: str | None = None,
) -> Reply:
    """Match a question and decide what to say, in the asker's language.

    A question declined as out of scope still offers the (up to two) entries that came
    close, so "which hospital did he die in?" leads to how and when he died. `previous` is
    the topic of the conversation's last answer (`Reply.topic`): "where?" after "when was he
    born?" asks where he was born.
    """
    chosen = lang.supported(language) or language_of(kb, question, fallback)
    match = kb.index.match(question, thresholds, previous=previous)
    entry = kb.by_id[match.best.entry_id] if match.status == "answered" and match.best else None
    suggestions: tuple[tuple[Entry, float], ...] = ()
    if match.status == "clarify":
        suggestions = tuple((kb.by_id[c.entry_id], c.score) for c in match.candidates[:3])
    elif match.out_of_scope:
        floor = (thresholds or Thresholds()).clarify
        near = [c for c in match.candidates if c.score >= floor][:2]
        suggestions = tuple((kb.by_id[c.entry_id], c.score) for c in near)
    declined = match.status == "no_match" and not match.small_talk
    further = further_sources(kb, match.candidates, chosen) if declined else ()
    return Reply(question, match.status, chosen, match, entry, suggestions, further)


FURTHER_SOURCES = 2
SAME_LANGUAGE_BONUS = 1.25  # a source in the asker's language wins a near tie


def further_sources(
    kb: KnowledgeBase, candidates: tuple[Candidate, ...], language: str
) -> tuple[Source, ...]:
    """The referenced sources most likely to answer a question the bot declines.

    Each is weighed by the scores of the nearest entries that cite it, a little more when
    it is in the asker's language, then by how much of the knowledge cites it. Only sources
    the knowledge file lists can be named; archived ones are already fully used.
    """
    referenced = [s for s in kb.sources.values() if s.kind == "referenced"]
    weight = dict.fromkeys((s.id for s in referenced), 0.0)
    for candidate in candidates[:5]:
        for source_id in {c.source for c in kb.by_id[candidate.entry_id].citations}:
            if source_id in weight:
                weight[source_id] += max(candidate.score, 0.0)
    cited = {
        s.id: sum(c.source == s.id for e in kb.entries for c in e.citations) for s in referenced
    }

    def rank(source: Source) -> tuple[float, int]:
        bonus = SAME_LANGUAGE_BONUS if source.language == language else 1.0
        return (weight[source.id] * bonus, cited[source.id])

    return tuple(sorted(referenced, key=rank, reverse=True)[:FURTHER_SOURCES])


def source_names(kb: KnowledgeBase) -> str:
    """The publishers of the listed sources, once each, in the file's order."""
    return ", ".join(dict.fromkeys(s.publisher for s in kb.sources.values()))


def first_question(entry: Entry, language: str) -> str:
    """An entry's first phrasing in a language: how a suggestion is offered."""
    questions = entry.questions.get(language) or entry.questions[lang.DEFAULT]
    return questions[0]


def to_json(reply: Reply, kb: KnowledgeBase) -> dict[str, Any]:
    """The stable JSON contract of `stakhanov-bot ask --json`."""
    entry = reply.entry
    return {
        "question": reply.question,
        "status": reply.status,
        "language": reply.language,
        "entry_id": entry.id if entry else None,
        "score": reply.score,
        "signals": _signals_json(reply.match.best),
        "confidence": reply.match.confidence,
        "read_with": reply.match.read_with,
        "answer": entry.text("answer", reply.language) if entry else None,
        "sources": [_source_json(kb, c, reply.language) for c in entry.citations] if entry else [],
        "suggestions": [
            {"entry_id": e.id, "question": first_question(e, reply.language), "score": score}
            for e, score in reply.suggestions
        ],
        "further_sources": [
            {"title": s.title, "publisher": s.publisher, "url": s.url} for s in reply.further
        ],
    }


def _signals_json(best: Candidate | None) -> dict[str, float | None]:
    """The two signals behind the best entry's score: lexical 0-100, semantic a cosine
    (null when the semantic signal is off or was not needed)."""
    if best is None:
        return {"lexical": None, "semantic": None}
    return {"lexical": best.lexical, "semantic": best.semantic}


def _source_json(kb: KnowledgeBase, citation: Citation, language: str) -> dict[str, str]:
    source = kb.sources[citation.source]
    fields = {
        "title": source.title,
        "publisher": source.publisher,
        "url": source.url,
        "published": source.published or "",
    }
    if source.kind == "referenced":
        fields.update(
            kind="referenced",
            locator=citation.locator or "",
            accessed=source.accessed or "",
            licence=source.licence or "",
        )
    if citation.quote is not None:
        fields["quote"] = citation.quote
    if language in citation.translation:
        fields["translation"] = citation.translation[language]
    return fields


def source_date(source: Source, language: str) -> str:
    """When a source is dated: its publication year, else the day it was read."""
    if source.published:
        return source.year
    return message("read_on", language, date=source.accessed)


def _source_line(source: Source, language: str) -> str:
    return f'{source.publisher}, "{source.title}" ({source_date(source, language)})'


def entry_plain(kb: KnowledgeBase, entry: Entry, language: str) -> str:
    """An entry's answer and its sources as plain text: the quote of an archived source, the
    locator of a referenced one."""
    parts = [entry.text("answer", language)]
    for citation in entry.citations:
        source = kb.sources[citation.source]
        lines = [f"{message('source', language)}: {_source_line(source, language)}"]
        if citation.quote is not None:
            lines.append(f"  “{citation.quote}”")
        if citation.locator is not None:
            lines.append(f"  {message('locator', language)}: {citation.locator}")
        if language in citation.translation:
            lines.append(f"  {message('translation', language)}: {citation.translation[language]}")
        lines.append(f"  {source.url}")
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def further_plain(reply: Reply) -> list[str]:
    if not reply.further:
        return []
    return [
        message("further", reply.language),
        *(f"  - {_source_line(s, reply.language)}: {s.url}" for s in reply.further),
    ]


def plain(reply: Reply, kb: KnowledgeBase) -> str:
    """The whole reply as plain text, for the console and `ask`."""
    if reply.entry:
        return entry_plain(kb, reply.entry, reply.language)
    options = [
        f"  {n}. {first_question(e, reply.language)}"
        for n, (e, _) in enumerate(reply.suggestions, start=1)
    ]
    if reply.status == "clarify":
        return "\n".join([message("clarify", reply.language), *options])
    if reply.match.small_talk and not options:
        return message(small_talk_reply(reply), reply.language)
    closest = [message("closest", reply.language), *options] if options else []
    return "\n".join([message("no_match", reply.language), *closest, *further_plain(reply)])


_THANKS = frozenset("thanks thank thx ty cheers спасибо дякую".split())


def small_talk_reply(reply: Reply) -> str:
    """The message key for small talk: thanks get "you're welcome", questions about the bot
    what it is, an option number with nothing to choose from a hint, the rest a greeting."""
    if is_option_number(reply.question):
        return "no_options"
    found = set(words(reply.question))
    if _THANKS & found:
        return "thanks"
    return "about" if ABOUT_THE_BOT & found else "greeting"


def entry_html(kb: KnowledgeBase, entry: Entry, language: str, limit: int = TELEGRAM_LIMIT) -> str:
    """An entry's answer and sources as Telegram HTML, every text escaped, within the limit."""
    for cap in (None, 1500, 600, 200):
        rendered = _entry_html(kb, entry, language, cap)
        if utf16_len(rendered) <= limit:
            return rendered
    return escape(_clip(entry.text("answer", language), limit // 6))


def _entry_html(kb: KnowledgeBase, entry: Entry, language: str, cap: int | None) -> str:
    e = escape
    parts = [e(_clip(entry.text("answer", language), cap))]
    for citation in entry.citations:
        source = kb.sources[citation.source]
        block = f"<i>{e(message('source', language))}:</i> {source_html(source, language)}"
        if citation.quote is not None:
            block += f"\n<blockquote>{e(_clip(citation.quote, cap))}</blockquote>"
        if citation.locator is not None:
            block += f" · <i>{e(_clip(citation.locator, cap))}</i>"
        if language in citation.translation:
            translated = _clip(citation.translation[language], cap)
            block += f"\n<i>{e(message('translation', language))}:</i> {e(translated)}"
        parts.append(block)
    return "\n\n".join(parts)


def source_html(source: Source, language: str) -> str:
    """A source as Telegram HTML: publisher, linked title, year (or the date it was read)."""
    link = f'<a href="{html.escape(source.url, quote=True)}">{escape(source.title)}</a>'
    return f"{escape(source.publisher)}, {link} ({escape(source_date(source, language))})"


def decline_html(language: str, further: tuple[Source, ...], hint: str) -> str:
    """An honest decline as Telegram HTML: what the sources don't say, then `hint` (the
    closest topics or /topics), then the listed sources most likely to say more."""
    lines = [escape(message("no_match", language)), escape(message(hint, language))]
    if further:
        lines.append(escape(message("further", language)))
        lines += [f"• {source_html(s, language)}" for s in further]
    return "\n".join(lines)


def _clip(text: str, cap: int | None) -> str:
    return text if cap is None or len(text) <= cap else text[: cap - 1].rstrip() + "…"
