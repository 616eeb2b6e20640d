"""Matching finds the right entry for real phrasings and declines what the sources don't cover."""

from __future__ import annotations

import builtins
from pathlib import Path

import pytest

from bot.matching import Thresholds, followups
from bot.matching.lexical import _clauses
from bot.normalise import Normaliser

PARAPHRASES = [
    ("how much coal did stakhanov dig in a single shift", "record-1935"),
    ("how mutch coal did stakanov mine", "record-1935"),
    ("102 tons?", "record-1935"),
    ("how many times over his quota was it", "quota"),
    ("when did he die", "death"),
    ("how did stakhanov die", "death"),
    ("was his record faked", "inflated-claims"),
    ("what does stakhanovite mean", "stakhanovite-meaning"),
    ("what was kadiivka renamed to", "city-renamed"),
    ("where is the city of stakhanov", "city-location"),
    ("are there any mines working there now", "mines-today"),
    ("who is semystiaha", "historian-semystiaha"),
    ("what date is the commemoration", "commemoration-date"),
    ("where will the commemoration be held", "commemoration-venue"),
    ("what happened to stakhanovites under stalin", "repression"),
    ("did other miners hate the stakhanovites", "other-workers"),
    ("who reported this story", "article-source"),
    ("когда умер стаханов", "death"),
    ("сколько угля добыл стаханов", "record-1935"),
    ("коли перейменували кадіївку", "city-renamed"),
    ("хто такий семистяга", "historian-semystiaha"),
]

OUT_OF_SCOPE = [
    "the price of coal today",
    "who won the 1988 olympics",
    "what's the weather like",
    "population of Ukraine",
    "who founded the Komsomol",
    "tell me a joke",
    "",
    "   ",
    "?!?",
    "🙂🙂🙂",
]


def _outcome(kb, question: str) -> tuple[str, str | None]:
    """A question's status and best entry, as one pair to compare."""
    match = kb.index.match(question)
    return match.status, match.best.entry_id if match.best else None


@pytest.mark.parametrize(("question", "entry_id"), PARAPHRASES)
def test_paraphrases_and_typos_find_the_entry(kb, question, entry_id):
    match = kb.index.match(question)
    assert match.status == "answered", match.candidates[:3]
    assert match.best.entry_id == entry_id, match.candidates[:3]


@pytest.mark.parametrize("question", OUT_OF_SCOPE)
def test_out_of_scope_questions_are_not_answered(kb, question):
    assert kb.index.match(question).status != "answered"


@pytest.mark.parametrize("question", [*OUT_OF_SCOPE[1:3], *OUT_OF_SCOPE[5:]])
def test_clearly_unrelated_questions_are_declined(kb, question):
    assert kb.index.match(question).status == "no_match"


def test_scores_stay_between_0_and_100(kb):
    for question in ["stakhanov", "stakhanov stakhanov stakhanov", "102 tons of coal", "x" * 5000]:
        for candidate in kb.index.match(question).candidates:
            assert 0 <= candidate.score <= 100


def test_matching_is_deterministic(kb):
    first = kb.index.match("what did other workers think")
    assert all(kb.index.match("what did other workers think") == first for _ in range(5))


def test_candidates_are_ranked_best_first(kb):
    scores = [c.score for c in kb.index.match("stakhanov record").candidates]
    assert scores == sorted(scores, reverse=True) and len(set(c for c in scores)) >= 1


def test_uncertain_question_offers_up_to_three_suggestions(kb):
    match = kb.index.match("stakhanov 1935", Thresholds(answer=100, clarify=10))
    assert match.status == "clarify"
    assert match.best.entry_id == "record-1935"


def test_thresholds_decide_the_outcome(kb):
    score = kb.index.match("stakhanov 1935").score
    assert (
        kb.index.match("stakhanov 1935", Thresholds(answer=score, clarify=0, margin=0)).status
        == "answered"
    )
    assert (
        kb.index.match("stakhanov 1935", Thresholds(answer=100, clarify=score)).status == "clarify"
    )
    assert (
        kb.index.match("stakhanov 1935", Thresholds(answer=100, clarify=100)).status == "no_match"
    )


def test_close_runner_up_within_the_margin_asks_to_clarify(kb):
    match = kb.index.match("stakhanov 1935")
    gap = match.candidates[0].score - match.candidates[1].score
    assert kb.index.match("stakhanov 1935", Thresholds(margin=gap + 1)).status == "clarify"


def test_bad_thresholds_are_refused():
    with pytest.raises(ValueError):
        Thresholds(answer=40, clarify=60)


def test_matching_never_touches_the_disk(kb, monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("matching opened a file")

    monkeypatch.setattr(builtins, "open", forbidden)
    monkeypatch.setattr(Path, "read_text", forbidden)
    monkeypatch.setattr(Path, "read_bytes", forbidden)
    assert kb.index.match("how did he die").best.entry_id == "death"


def test_normalisation_folds_case_width_punctuation_and_spelling():
    normaliser = Normaliser({"stakhanov": ["stahanov", "стаханов"], "tons": ["tonnes"]})
    assert normaliser.tokens("STAHANOV!!") == normaliser.tokens("stakhanov")
    assert normaliser.tokens("Ｓｔａｋｈａｎｏｖ") == normaliser.tokens("stakhanov")
    assert normaliser.tokens("102 tonnes") == normaliser.tokens("102 tons")
    assert normaliser.tokens("Стаханова") == normaliser.tokens("stakhanov")


def test_normalisation_drops_stop_words_and_control_characters():
    normaliser = Normaliser()
    assert normaliser.tokens("what is the \x1b[31mrecord\x00") == ("what", "record")
    assert normaliser.tokens("the of and") == ()


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("aleksei stakhanov miner who -cyclist -football", "aleksei stakhanov miner who"),
        ("стахановський рух 1935 суть -фільм -серіал", "стахановський рух 1935 суть"),
        ("soooo 14 TIMES the norm?????whyyy", "so 14 times the norm? why"),
        ("ктооо такие стахановцы???", "кто такие стахановцы"),
    ],
)
def test_search_exclusions_are_dropped_and_drawn_out_vowels_read_once(typed, meant):
    normaliser = Normaliser()
    assert normaliser.tokens(typed) == normaliser.tokens(meant)


@pytest.mark.parametrize(
    "text", ["СССР 1935-1936", "record - how many tonnes", "кадіївка -> стаханов", "-where"]
)
def test_dashes_doubled_letters_and_ranges_keep_their_words(text):
    assert Normaliser().tokens(text) == Normaliser().tokens(text.replace("-", " "))


@pytest.mark.parametrize(
    ("emphatic", "plain"),
    [
        ("when exactly", "when"),
        ("когда именно", "когда"),
        ("коли саме", "коли"),
        ("де точно", "де"),
    ],
)
def test_exactly_is_emphasis_in_every_language(emphatic, plain):
    normaliser = Normaliser()
    assert normaliser.tokens(emphatic) == normaliser.tokens(plain)


@pytest.mark.parametrize(
    ("framed", "plain"),
    [
        ("Describe the Stakhanovite movement", "the Stakhanovite movement"),
        ("Охарактеризуйте стахановское движение", "стахановское движение"),
        ("Назвіть усі назви міста", "усі назви міста"),
        ("Fact check: he was born in Orel. True or false?", "he was born in Orel"),
        ("Is it correct that the city was renamed?", "Is it that the city was renamed?"),
        ("Проверяю факт: верно, что он родился в Орле?", "что он родился в Орле?"),
        ("Перевіряю факт: чи вірно, що місто перейменували?", "чи що місто перейменували?"),
        ("wait so when did the guy die n how", "when did he die how"),
        ("Разве он не ставил ещё рекорд?", "он не ставил ещё рекорд?"),
        ("Хіба він не рубав вугілля кайлом?", "він не рубав вугілля кайлом?"),
        ("Вікторина: де працював Стаханов?", "де працював Стаханов?"),
        ("Кто в курсе, простыми словами: кто такие стахановцы?", "Кто, кто такие стахановцы?"),
        (
            "Хто в курсі, поясніть простими словами: хто такі стахановці?",
            "Хто, хто такі стахановці?",
        ),
        ("what's the deal with the record?", "what's the record?"),
        ("Surely roughly how many tonnes? Answer in a paragraph.", "how many tonnes? Answer in a."),
        ("Сколько примерно тонн?", "Сколько тонн?"),
        ("Скільки приблизно тонн?", "Скільки тонн?"),
        (
            "Готовлюсь к экзамену: вкратце, Стаханов ведь родился в Орле?",
            "Стаханов родился в Орле?",
        ),
        ("Готуюся до іспиту: стисло, де народився Стаханов?", "де народився Стаханов?"),
        (
            "Слышал, там упоминали стахановцев. Их репрессировали?",
            "там стахановцев. Их репрессировали?",
        ),
        (
            "Слухав подкаст, там згадали стахановців. Їх репресували?",
            "подкаст, там стахановців. Їх репресували?",
        ),
        ("що означає вираз «ікона праці» щодо Стаханова?", "що означає «ікона праці» Стаханова?"),
        (
            "Regarding the phrase 'icon of labor', what does it mean?",
            "the 'icon of labor', what does it mean?",
        ),
        ("Кажется, на портрете он вроде с винтовкой?", "на портрете он с винтовкой?"),
        ("Хочу дізнатися, як називалося місто, мабуть?", "як називалося місто?"),
        (
            "Раскройте, будьте добры: кто такие стахановцы? Вопрос на завтра",
            "кто такие стахановцы?",
        ),
        (
            "Якби я був шахтарем, питання: хто такі стахановці? Дякую",
            "я був шахтарем, хто такі стахановці?",
        ),
        ("Мы с друзьями поспорили: кто такие стахановцы?", "Мы с: кто такие стахановцы?"),
        ("Dear assistant, kindly tell me the precise date he died", "tell me the date he died"),
        ("Уважаемый бот, буду благодарен: точная дата смерти?", "бот, буду: дата смерти?"),
        ("Шановний, буду вдячний: точна дата смерті?", "буду: дата смерті?"),
        (
            "Subject: awards — trivia answer sheet says two Orders of Lenin?",
            "awards — says two Orders of Lenin?",
        ),
        ("Тема: награды — в ответах к квизу: перечисли его ордена", "награды — к: его ордена"),
        ("Тема: нагороди — можу помилятися, перелічи всі ордени", "нагороди — можу, ордени"),
        ("never understood who Semystiaha is", "never who Semystiaha is"),
        ("Меня интересовало, не понимаю: кто такой Семистяга?", "Меня, не: кто такой Семистяга?"),
        (
            "Сын спрашивает, кто такой Стаханов. Что ему ответить?",
            "Сын, кто такой Стаханов. Что ему?",
        ),
        ("Донька питає, хто такий Стаханов. Що їй сказати?", "Донька, хто такий Стаханов. Що їй?"),
        ("I've always wondered where he was born", "I've where he was born"),
        ("всегда интересовало, где он родился", "где он родился"),
        ("завжди цікавило, де він народився", "де він народився"),
        ("he was born in 1906, right?", "he was born in 1906?"),
        ("Good afternoon, where was he born?", "where was he born?"),
        ("Шановні, добрий день! Де він народився?", "Де він народився?"),
        ("Добрый день, где он родился?", "где он родился?"),
        ("r there any mines still working rn bc idk", "any mines still working"),
        ("кто такой стаханов ваще", "кто такой стаханов"),
        ("від чого він помер тіпа", "від чого він помер"),
        ("када он родился, скока ему было", "когда он родился, сколько ему было"),
        (
            "Брат утверждает, что 10 норм, а я помню 14. Кто прав?",
            "Брат, что 10 норм, а я 14. Кто?",
        ),
        ("Кум стверджує 10 норм, а я пам'ятаю 14. Хто правий?", "Кум 10 норм, а я 14. Хто?"),
        ("my grandad insists he was never a party member", "he was never a party member"),
        ("tl;dr who was Stakhanov", "who was Stakhanov"),
        ("Fill in the blank for my slide: Stakhanov was a ___", "Stakhanov was a ___"),
        ("Заполни пропуск для слайда: Стаханов был ___", "Стаханов был ___"),
        ("quick summary of all the names the city has had", "all the names the city has had"),
        ("ELI5 the movement, in plain words, simply", "the movement, in words"),
        ("In your expert opinion, why was he a hero?", "In, why was he a hero?"),
        ("what does 'Stakhanovite' refer to?", "what does 'Stakhanovite' mean?"),
        ("Как эксперт, на ваш взгляд: сколько длилась смена?", "сколько длилась смена?"),
        ("объясни для чайника простыми словами, зачем власти", "объясни для, зачем власти"),
        (
            "На вашу думку, поясніть простою мовою: чим закінчився рух?",
            "На, поясніть: чим закінчився рух?",
        ),
    ],
)
def test_instructions_fact_checks_fillers_hedges_and_hearsay_are_not_content(framed, plain):
    normaliser = Normaliser()
    assert normaliser.tokens(framed) == normaliser.tokens(plain)


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("Fact check: the city was renamed Stakhanov in 1978. True or false?", "city-renamed"),
        ("fact check: Stakhanov was on the cover of Time", "time-cover"),
    ],
)
def test_a_fact_check_is_answered_by_the_fact_it_checks(kb, question, entry):
    match = kb.index.match(question)
    assert match.status == "answered" and match.candidates[0].entry_id == entry


def test_a_number_with_a_slash_is_one_word():
    normaliser = Normaliser()
    assert normaliser.tokens("mine 2/43") != normaliser.tokens("mine 2 43")
    assert normaliser.tokens("2+2") == normaliser.tokens("2 2")


def test_sums_are_not_read_as_a_mine_number(kb):
    assert kb.index.match("whats 2+2").status != "answered"


def test_synonym_variant_does_not_capture_words_sharing_its_stem():
    normaliser = Normaliser({"stakhanov": [], "stakhanovite movement": ["stakhanovism"]})
    assert normaliser.tokens("stakhanovism") == normaliser.tokens("stakhanovite movement")
    assert normaliser.tokens("stakhanov") == ("stakhanov",)


def test_contracted_question_words_keep_their_meaning():
    normaliser = Normaliser()
    assert normaliser.tokens("when's the party") == normaliser.tokens("when is the party")
    assert normaliser.tokens("where's it from") == normaliser.tokens("where is it from")
    assert normaliser.tokens("how come he died") == normaliser.tokens("why did he die")


def test_ordinal_numbers_read_as_words(kb):
    normaliser = Normaliser()
    assert normaliser.tokens("his 2nd record") == normaliser.tokens("his second record")
    assert _outcome(kb, "2nd record how many tons?") == ("answered", "second-record")


@pytest.mark.parametrize(
    ("question", "entry"),
    [("стаханов г.р.?", "birth-date"), ("death yr + place pls", "death")],
)
def test_abbreviations_read_as_their_words(kb, question, entry):
    assert _outcome(kb, question) == ("answered", entry)


def test_who_else_asks_about_other_people():
    normaliser = Normaliser()
    assert normaliser.tokens("who else got the award") != normaliser.tokens("who got the award")
    assert normaliser.tokens("кто ещё получил награду") == normaliser.tokens(
        "кто еще получил награду"
    )


@pytest.mark.parametrize(
    "question", ["кто ещё получил звезду Героя Соцтруда", "who else was on the cover of Time"]
)
def test_who_else_had_his_honour_is_not_answered_with_his_own(kb, question):
    assert _outcome(kb, question)[0] != "answered"


def test_english_contractions_keep_only_the_pronoun():
    normaliser = Normaliser()
    assert normaliser.tokens("we'd like to visit") == normaliser.tokens("we like to visit")
    assert normaliser.tokens("he’ll say they've gone, I'm sure") == normaliser.tokens(
        "he say they gone, I sure"
    )
    assert normaliser.tokens("пам'ять") == normaliser.tokens("память")


def test_authorities_are_not_authors():
    normaliser = Normaliser()
    assert normaliser.tokens("the authorities") != normaliser.tokens("the author")
    assert normaliser.tokens("the authority") == normaliser.tokens("the authorities")


def test_chat_context_words_neither_attract_nor_count_against():
    normaliser = Normaliser()
    assert normaliser.tokens("my teacher mentioned stakhanov in class") == ("stakhanov",)
    assert normaliser.tokens("дедушка рассказывал про Стаханова") == normaliser.tokens(
        "рассказывал про Стаханова"
    )


@pytest.mark.parametrize("question", ["who are you", "help", "what can you do", "кто ты", "хто ти"])
def test_questions_about_the_bot_get_the_greeting(kb, question):
    match = kb.index.match(question)
    assert (match.status, match.small_talk) == ("no_match", True)


def test_transliterated_words_are_read_through_the_synonyms(kb):
    assert kb.index.lexical.normaliser.tokens("угля") == ("coal",)
    assert _outcome(kb, "skolko uglya dobyl stahanov") == ("answered", "record-1935")


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("kto takoy stakhanov", "who-was-stakhanov"),
        ("kogda umer stahanov", "death"),
        ("chym zaimavsia stakhanov pislia rekordu", "later-career"),
        ("de narodyvsia stakhanov", "birthplace"),
        ("kto takoi stakhanov voobshche", "who-was-stakhanov"),
        ("v kakom godu stakhanov ushel na pensiyu", "retirement"),
        ("kadievku kogda pereimenovali v stakhanov", "city-renamed"),
        ("na kakoi shakhte on postavil rekord", "record-mine"),
        ("kak seichas nazyvaetsya gorod stakhanov", "city-name-now"),
    ],
)
def test_russian_and_ukrainian_transliterations_are_answered(kb, question, entry):
    assert _outcome(kb, question) == ("answered", entry)


@pytest.mark.parametrize(
    ("typed", "cyrillic"),
    [
        ("na kakoi shakhte on postavil rekord", "на какой шахте он поставил рекорд"),
        ("v kakoy oblasti nahoditsya gorod", "в какой области находится город"),
        ("chy buv vin chlenom partii", "чи був він членом партіі"),
        ("Who is Aleksei Stakhanov?", "Who is Aleksei Stakhanov?"),
        ("tell me about the record", "tell me about the record"),
    ],
)
def test_russian_or_ukrainian_typed_in_latin_letters_is_read_in_cyrillic(kb, typed, cyrillic):
    assert kb.index.reader.in_cyrillic(typed) == cyrillic


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("rjulf evth cnf[fyjd?", "когда умер стаханов?"),
        ("коли помер Cnf[fyjd", "коли помер стаханов"),
        ("UJL HJ;LTYBZ cnf[fyjdf", "год рождения стаханова"),
        ("ult hjlbkcz, rfrfz ,skf yjhvf", "где родился, какая была норма"),
        ("de narodyvsia stakhanov", "de narodyvsia stakhanov"),
        ("Why was the record significant?", "Why was the record significant?"),
    ],
)
def test_keys_typed_on_the_english_layout_are_read_on_the_cyrillic_one(kb, typed, meant):
    assert kb.index.reader.on_right_layout(typed) == meant


def test_a_question_typed_on_the_wrong_layout_is_answered(kb):
    assert _outcome(kb, "rjulf evth cnf[fyjd") == ("answered", "death")


def test_latin_look_alike_letters_in_a_cyrillic_word_read_as_cyrillic():
    normaliser = Normaliser()
    assert normaliser.tokens("Cтахaнов рiк") == normaliser.tokens("Стаханов рік")
    assert normaliser.tokens("Stakhanovа") == normaliser.tokens("Stakhanova")


@pytest.mark.parametrize(
    ("listed", "plain"),
    [
        ("5 quick facts about the movement", "about the movement"),
        ("назови пять фактов о стахановском движении", "назови о стахановском движении"),
        ("3 пункти про його партійність", "про його партійність"),
        ("три тезиса историка", "историка"),
    ],
)
def test_the_size_of_a_list_asked_for_is_not_content(listed, plain):
    normaliser = Normaliser()
    assert normaliser.tokens(listed) == normaliser.tokens(plain)


def test_a_number_of_tonnes_is_still_content():
    normaliser = Normaliser()
    assert "102" in normaliser.tokens("102 tons in 5 hours")


@pytest.mark.parametrize(
    ("question", "meant"),
    [
        (
            "ні, не про його книжки, а про нагороди — що він отримав?",
            " , а про нагороди — що він отримав?",
        ),
        (
            "not the 102 tons — did anybody beat it soon after?",
            " — did anybody beat it soon after?",
        ),
        ("where is the city, not the man?", "where is the city, ?"),
        ("Не в Кадиевке ли он умер?", "Не в Кадиевке ли он умер?"),
        ("why not the city?", "why not the city?"),
    ],
)
def test_a_topic_set_aside_is_not_read(kb, question, meant):
    assert kb.index.reader.prepared(question) == meant


def test_a_question_setting_a_topic_aside_is_answered_about_the_other(kb):
    question = "ні, не про його книжки, а про нагороди — що він отримав?"
    assert _outcome(kb, question) == ("answered", "awards")


@pytest.mark.parametrize(
    "question", ["когда Стаханов отошёл в мир иной", "коли він відійшов у вічність"]
)
def test_a_euphemism_for_his_death_is_answered_by_the_death_entry(kb, question):
    assert _outcome(kb, question) == ("answered", "death")


def test_a_misspelt_cyrillic_name_finds_its_synonym(kb):
    assert _outcome(kb, "ким був стахонов") == ("answered", "who-was-stakhanov")


def test_a_short_word_is_not_read_as_a_different_word(kb):
    assert kb.index.match("how much was stakhanov paid").status != "answered"
    assert kb.index.match("what was his qouta").best.entry_id == "quota"


def test_context_sentences_around_a_question_do_not_drown_it(kb):
    question = (
        "i'm a retired miner from Donbas, 30 years underground. my grandfather always "
        "talked about him. how much coal did stakhanov cut in that one shift?"
    )
    assert _outcome(kb, question) == ("answered", "record-1935")


@pytest.mark.parametrize(
    "question",
    [
        "Добрый вечер) А с чего Стаханов начинал на шахте?",
        "Доброго ранку) З чого Стаханов починав на шахті?",
    ],
)
def test_a_smiley_bracket_ends_a_greeting_like_a_full_stop(kb, question):
    assert _outcome(kb, question) == ("answered", "early-career")


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        (
            "what mine did he run in Karaganda — no wait, when did he retire and from which job?",
            "retirement",
        ),
        ("в каком году он вступил в партию... хотя нет, в каком году он умер?", "death"),
        ("коли він вступив до партії... ні, стоп, де він народився, в якому селі?", "birthplace"),
    ],
)
def test_a_self_correction_asks_what_follows_it(kb, question, entry):
    assert _outcome(kb, question) == ("answered", entry)


def test_a_correction_that_says_too_little_alone_keeps_the_question(kb):
    question = (
        "my grandad was a miner in Luhansk for thirty years and he told me lots of stories. "
        "when was stakhanov born? i mean, exactly"
    )
    assert _outcome(kb, question) == ("answered", "birth-date")


def test_his_name_and_patronymic_in_address_are_not_a_question_about_who_he_was(kb):
    assert _outcome(kb, "Алексей Григорьевич, где вы родились?") == ("answered", "birthplace")


@pytest.mark.parametrize(
    ("question", "entry"),
    [("где ро дился ста ханов", "birthplace"), ("what awards did stak hanov get", "awards")],
)
def test_a_word_split_by_dictation_is_joined_again(kb, question, entry):
    assert _outcome(kb, question) == ("answered", entry)


@pytest.mark.parametrize("question", ["what day is the event", "що б я хотів знати"])
def test_known_words_side_by_side_are_not_joined(kb, question):
    assert kb.index.reader.rejoined(question) == question


@pytest.mark.parametrize("question", ["where is it?", "and where exactly?", "а сколько?"])
def test_a_question_of_interrogatives_alone_matches_no_phrasing_exactly(kb, question):
    assert kb.index.lexical.score(question).exact == -1


def test_where_the_information_comes_from_is_still_the_source(kb):
    assert _outcome(kb, "Where does this info come from?") == ("answered", "article-source")


@pytest.mark.parametrize(
    ("question", "entry"),
    [
        ("when did stakhanov die, and where is that from?", "death"),
        ("в каком году был рекорд? и откуда эти данные", "record-1935"),
        ("де народився стаханов? звідки ця інформація", "birthplace"),
    ],
)
def test_a_request_for_the_source_after_a_question_leaves_the_question(kb, question, entry):
    assert _outcome(kb, question) == ("answered", entry)


@pytest.mark.parametrize(
    ("letter", "question"),
    [
        ("Where was he born? Best regards, Anna", "Where was he born?"),
        ("When did he die? Thanks in advance. Sincerely, R. Patel", "When did he die?"),
        ("Где он родился? С уважением, Николай Петрович", "Где он родился?"),
        ("Коли він помер? Заздалегідь дякую. З повагою, Петро Мельник", "Коли він помер?"),
        ("best pizza near me", "best pizza near me"),
    ],
)
def test_a_letters_closing_and_signature_are_not_the_question(kb, letter, question):
    assert kb.index.reader.prepared(letter) == question


@pytest.mark.parametrize(
    "question",
    [
        "You know a lot about Stakhanov. Where is that information from?",
        "Ти багато знаєш про Стаханова. Звідки ця інформація?",
    ],
)
def test_a_statement_then_where_is_that_from_asks_for_the_source(kb, question):
    assert kb.index.reader.prepared(question) == question


def test_multiple_choice_letters_do_not_split_a_question():
    assert _clauses("Stakhanov was a a) miner b) poet (c) pilot") == []


def test_costs_are_not_hundreds(kb):
    assert kb.index.match("сколько стоит тонна угля").status != "answered"
    assert kb.index.match("сто две тонны").best.entry_id == "record-1935"


def test_misspelt_question_words_keep_their_meaning():
    normaliser = Normaliser()
    assert normaliser.tokens("wat is a stakhanovite") == normaliser.tokens("what is a stakhanovite")


def test_a_question_like_an_out_of_scope_example_is_declined(kb):
    match = kb.index.match("what is komsomolskaya pravda")
    assert match.status == "no_match"
    assert match.out_of_scope == "what is komsomolskaya pravda"


def test_out_of_scope_examples_never_appear_as_candidates(kb):
    candidates, _ = kb.index.search("what is komsomolskaya pravda")
    assert all(c.entry_id in kb.by_id for c in candidates)
    assert all(c.entry_id in kb.by_id for c in kb.index.match("when was stakhanov born").candidates)


def test_out_of_scope_examples_do_not_take_in_scope_questions(kb):
    assert _outcome(kb, "how much coal did stakhanov mine") == ("answered", "record-1935")


def test_a_detail_the_source_lacks_is_declined_though_its_topic_is_known(kb):
    detail = kb.index.match("how long was he kept in the psychiatric hospital")
    assert detail.status == "no_match" and detail.out_of_scope
    topic = kb.index.match("how did stakhanov die")
    assert (topic.status, topic.best.entry_id) == ("answered", "death")


@pytest.mark.parametrize(
    ("previous", "question", "entry_id"),
    [
        ("When was Stakhanov born?", "where?", "birthplace"),
        ("Which city was named after Stakhanov?", "and where is it?", "city-location"),
        ("когда умер Стаханов", "а сколько лет ему было?", "death"),
    ],
)
def test_a_short_follow_up_is_read_with_the_question_before_it(kb, previous, question, entry_id):
    match = kb.index.match(question, previous=previous)
    assert (match.status, match.best.entry_id, match.read_with) == ("answered", entry_id, previous)


def test_a_follow_up_no_entry_answers_is_still_declined(kb):
    assert kb.index.match("and his wife?", previous="When did Stakhanov die?").status == "no_match"


def test_a_follow_up_asking_what_the_previous_entry_has_no_word_for_is_not_answered_by_it(kb):
    previous = "Стаханов правда спился и умер в психушке?"
    match = kb.index.match("а жена с ним была?", previous=previous)
    assert match.status != "answered" and match.read_with is None


def test_a_question_that_names_enough_is_not_read_with_the_one_before(kb):
    previous = "How much coal did Stakhanov produce in one shift?"
    match = kb.index.match("How much coal does Ukraine produce these days?", previous=previous)
    assert match.status != "answered" and match.read_with is None


def test_a_question_answered_alone_is_not_read_with_the_one_before(kb):
    match = kb.index.match("when did he die?", previous="When was Stakhanov born?")
    assert (match.best.entry_id, match.read_with) == ("death", None)


@pytest.mark.parametrize(
    ("previous", "question", "entry_id"),
    [
        ("Where did Stakhanov study?", "and after that?", "karaganda"),
        ("где учился Стаханов", "а потом куда?", "karaganda"),
        ("Стаханов працював у міністерстві?", "а перед тим?", "karaganda"),
        ("What did Stakhanov do in Karaganda?", "what next?", "coal-ministry"),
    ],
)
def test_and_then_moves_along_the_story(kb, previous, question, entry_id):
    match = kb.index.match(question, previous=previous)
    assert (match.status, match.best.entry_id) == ("answered", entry_id)


@pytest.mark.parametrize(
    "previous", ["When did Stakhanov die?", "Which city was named after Stakhanov?", None]
)
def test_and_then_past_the_story_or_outside_it_is_not_a_step(kb, previous):
    assert kb.index.match("and then?", previous=previous).status == "no_match"


@pytest.mark.parametrize(
    ("question", "step"),
    [
        ("and then?", 1),
        ("а що було далі?", 1),
        ("and before that?", -1),
        ("а что было до этого?", -1),
        ("and what did he do after the war?", 0),
        ("before and after?", 0),
    ],
)
def test_only_a_message_of_step_words_steps_along_the_story(question, step):
    assert followups.story_step(question) == step
