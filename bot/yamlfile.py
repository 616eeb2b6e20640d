"""The knowledge file's YAML, read safely: UTF-8 only, no alias bombs or duplicate keys,
and the line of each entry and quote kept, so validation problems can name them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
MAX_NODES = 200_000  # far above the shipped file's node count; an alias bomb expands past it


class YamlProblems(Exception):
    """What is wrong with the file, one line each, naming the file and line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read(data: bytes, path: Path) -> tuple[dict[str, Any], dict[Any, int]]:
    """The top-level mapping and its entries' line numbers; YamlProblems names the lines."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise YamlProblems([f"{path}: line {line}: not valid UTF-8"]) from None
    loader = _SAFE_LOADER(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise YamlProblems([f"{path}: file is empty"])
        problems = _check_nodes(node, path)
        if problems:
            raise YamlProblems(problems)
        raw = loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        at = f"line {mark.line + 1}: " if mark else ""
        raise YamlProblems([f"{path}: {at}invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise YamlProblems([f"{path}: invalid YAML: {exc}"]) from None
    except RecursionError:
        raise YamlProblems([f"{path}: YAML is nested too deeply"]) from None
    finally:
        loader.dispose()
    if not isinstance(raw, dict):
        raise YamlProblems([f"{path}: the top level must be a mapping with sources and entries"])
    return raw, _entry_lines(node)


def _check_nodes(root: yaml.Node, path: Path) -> list[str]:
    """Refuse alias bombs and duplicate keys before anything is constructed."""
    sizes: dict[int, int] = {}
    problems: list[str] = []
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if id(node) in sizes:
            continue
        children = _children(node)
        if not expanded:
            stack.append((node, True))
            stack.extend((c, False) for c in children if id(c) not in sizes)
            if isinstance(node, yaml.MappingNode):
                problems += _duplicate_keys(node, path)
            continue
        sizes[id(node)] = 1 + sum(sizes.get(id(c), 1) for c in children)
        if sizes[id(node)] > MAX_NODES:
            return [f"{path}: too many nodes once aliases are expanded (an alias bomb?)"]
    return problems


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _duplicate_keys(node: yaml.MappingNode, path: Path) -> list[str]:
    seen: set[str] = set()
    problems = []
    for key, _ in node.value:
        if isinstance(key, yaml.ScalarNode):
            if key.value in seen:
                line = key.start_mark.line + 1
                problems.append(f"{path}: line {line}: duplicate key '{key.value}'")
            seen.add(key.value)
    return problems


def _entry_lines(root: yaml.Node) -> dict[Any, int]:
    """Line numbers: of each entry (by index) and of each citation's quote (by entry index
    and citation number)."""
    lines: dict[Any, int] = {}
    for i, item in enumerate(_node_items(_node_value(root, "entries"))):
        lines[i] = item.start_mark.line + 1
        for n, citation in enumerate(_node_items(_node_value(item, "citations")), 1):
            quote = _node_value(citation, "quote")
            if quote is not None:
                lines[(i, n)] = quote.start_mark.line + 1
    return lines


def _node_value(node: yaml.Node | None, key: str) -> yaml.Node | None:
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if getattr(k, "value", None) == key), None)


def _node_items(node: yaml.Node | None) -> list[yaml.Node]:
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []
