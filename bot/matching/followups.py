"""Follow-ups: a short question read with the question before it in the same conversation.

"where?" after "When was Stakhanov born?" asks where he was born; "а по всьому союзу?" after
"Скільки було стахановців?" asks how many there were in the whole Union. A question that names
at most FOLLOW_UP_WORDS things besides its question words, and is not answered alone, is
matched again with the previous question's words after its own (their question words left
out, so the "when" before does not outvote the "where" now); that reading counts only if it
answers, from an entry that has a word for each thing the question names (`LexicalIndex.knows_all`:
"а жена?" after his death is not the death entry's question). A question that says enough alone
is never read with the one before.

"And then?" and "before that?" move along the knowledge's `story` (the entries of his life in
order): after the answer about his studies, "а потом куда?" is Karaganda.
"""

from __future__ import annotations

import re

from bot import normalise

FOLLOW_UP_WORDS = 1
"""A follow-up names at most one thing ("and where?", "а по всьому союзу?"): allowing two took
two more traps than right answers on the follow-up set the rule was designed on."""
TOPIC_CHARS = 500
"""A topic carried from answer to answer keeps its first 500 characters: a chain of follow-ups
("where?", "and when?", ...) must not grow it without end."""
_PUNCTUATION = re.compile(r"[^\w\s'’-]+")


_NEXT = frozenset(
    "next then after afterwards later потом затем дальше далее после опосля потім далі після згодом".split()
)
_BEFORE = frozenset("before earlier prior раньше прежде до перед раніше".split())
_STEP_FILLER = frozenset(
    """and so ok okay well what whats happened happen did do he him it that this was go went
    а и і й та ну что що было було случилось сталося стало произошло он він это це этого того
    цього этим тим тем цим ним куда куди еще ещё ще""".split()
)


def story_step(question: str) -> int:
    """+1 for "and then?", "що далі?"; -1 for "and before that?", "а перед тим?"; else 0.
    Only a message of such words alone steps: "what did he do after the war?" names more."""
    found = normalise.words(question)
    if not found or not set(found) <= _NEXT | _BEFORE | _STEP_FILLER:
        return 0
    forward, back = bool(_NEXT.intersection(found)), bool(_BEFORE.intersection(found))
    return int(forward) - int(back)


def topic(question: str, read_with: str | None) -> str:
    """What a follow-up to the answer of `question` is read with: the question, after the one
    it was itself read with."""
    return (f"{read_with} {question}" if read_with else question)[:TOPIC_CHARS]


def joined(question: str, previous: str) -> str:
    """The question and then the previous one's words, as one clause without question words."""
    words = [w for w in normalise.words(previous) if normalise.named([normalise.stem(w)])]
    return f"{_PUNCTUATION.sub(' ', question)} {' '.join(words)}"
