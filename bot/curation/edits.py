"""Small edits to a knowledge file's text: one more phrasing, one more out-of-scope example.

The file is edited as text, at the place the YAML parser reports, so comments, order and
layout stay as the admin wrote them; the result is parsed again and must equal the old data
plus the one new item, or the edit is refused.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import yaml

from bot.bundle import Bundle


class EditError(Exception):
    """The file could not be edited safely; the message says why."""


def add_phrasing(data: bytes, entry_id: str, language: str, text: str) -> bytes:
    """The file with `text` added to the phrasings of `entry_id` in `language`."""
    root = _compose(data)
    entry = next(
        (e for e in _items(_value(root, "entries")) if _scalar(_value(e, "id")) == entry_id), None
    )
    if entry is None:
        raise EditError(f"no entry {entry_id!r} in the knowledge file")
    questions = _value(entry, "questions")
    if questions is None:
        raise EditError(f"entry {entry_id!r} has no questions")
    phrasings = _value(questions, language)
    if phrasings is None:
        new = _append_key(data, questions, language, text)
    else:
        new = _append_item(data, phrasings, text)

    def expected(raw: dict[str, Any]) -> None:
        for item in raw["entries"]:
            if item["id"] == entry_id:
                item["questions"].setdefault(language, []).append(text)

    return _verified(data, new, expected)


def add_example(data: bytes, text: str) -> bytes:
    """The file with `text` added to its out-of-scope examples."""
    root = _compose(data)
    examples = _value(root, "out_of_scope")
    if examples is None:
        end = data if data.endswith(b"\n") else data + b"\n"
        new = end + b"out_of_scope:\n  - " + _quoted(text) + b"\n"
    else:
        new = _append_item(data, examples, text)

    def expected(raw: dict[str, Any]) -> None:
        raw.setdefault("out_of_scope", []).append(text)

    return _verified(data, new, expected)


def _compose(data: bytes) -> yaml.Node:
    try:
        root = yaml.compose(data.decode("utf-8"), Loader=yaml.SafeLoader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise EditError(f"the knowledge file cannot be parsed: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise EditError("the knowledge file is not a mapping")
    return root


def _value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if _scalar(k) == key), None)


def _items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _scalar(node: yaml.Node | None) -> str | None:
    return node.value if isinstance(node, yaml.ScalarNode) else None


def _quoted(text: str) -> bytes:
    """A double-quoted YAML scalar (JSON's string syntax is valid YAML)."""
    return json.dumps(text, ensure_ascii=False).encode()


def _offset(data: bytes, mark: yaml.Mark) -> int:
    """The byte offset of a parser mark (which counts characters)."""
    return len(data.decode("utf-8")[: mark.index].encode())


def _append_item(data: bytes, sequence: yaml.Node, text: str) -> bytes:
    if not isinstance(sequence, yaml.SequenceNode) or not sequence.value:
        raise EditError("expected a non-empty list to add to")
    if sequence.flow_style:
        closing = _offset(data, sequence.end_mark) - 1
        return data[:closing] + b", " + _quoted(text) + data[closing:]
    last = sequence.value[-1]
    line_start = data.rfind(b"\n", 0, _offset(data, last.start_mark)) + 1
    dash = data.index(b"-", line_start)
    indent = data[line_start:dash]
    end = data.find(b"\n", _offset(data, last.end_mark))
    end = len(data) if end < 0 else end
    return data[:end] + b"\n" + indent + b"- " + _quoted(text) + data[end:]


def _append_key(data: bytes, mapping: yaml.Node, key: str, text: str) -> bytes:
    if not isinstance(mapping, yaml.MappingNode) or not mapping.value or mapping.flow_style:
        raise EditError("expected a block mapping of languages to add to")
    last_key, last_value = mapping.value[-1]
    line_start = data.rfind(b"\n", 0, _offset(data, last_key.start_mark)) + 1
    indent = data[line_start : _offset(data, last_key.start_mark)]
    end = _offset(data, last_value.end_mark)
    end = data.rfind(b"\n", 0, end) if data[end - 1 : end] == b"\n" else end
    line = b"\n" + indent + key.encode() + b":\n" + indent + b"  - " + _quoted(text)
    return data[:end] + line + data[end:]


def _verified(old: bytes, new: bytes, expected: Any) -> bytes:
    want = copy.deepcopy(yaml.safe_load(old))
    expected(want)
    try:
        got = yaml.safe_load(new)
    except yaml.YAMLError as exc:
        raise EditError(f"the edit would break the file: {exc}") from None
    if got != want:
        raise EditError("the edit would change more than the one item; edit the file by hand")
    return new


OUT_OF_SCOPE_TARGET = "out-of-scope"


def propose(files: Bundle, question: str, language: str, target: str) -> tuple[Bundle, str]:
    """The knowledge with `question` added as a phrasing of entry `target` (in the file that
    holds it), or as an out-of-scope example when `target` is OUT_OF_SCOPE_TARGET (in the
    first file that has examples, else the main file); and a sentence saying so."""
    if target == OUT_OF_SCOPE_TARGET:
        name = next((n for n, d in files.files if _has_key(d, "out_of_scope")), files.path.name)
        new = add_example(dict(files.files)[name], question)
        return files.with_file(name, new), f"“{question}” added to the out-of-scope examples"
    for name, data in files.files:
        try:
            new = add_phrasing(data, target, language, question)
        except EditError:
            continue
        description = f"“{question}” added as a {language} phrasing of {target}"
        return files.with_file(name, new), description
    raise EditError(f"no entry {target!r} in the knowledge files")


def _has_key(data: bytes, key: str) -> bool:
    return _value(_compose(data), key) is not None
