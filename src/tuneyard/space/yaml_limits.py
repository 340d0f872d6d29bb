"""YAML read with limits: a space file cannot hang or exhaust the machine, nor hide a key.

A "billion laughs" file is small but its aliases expand to billions of values once anything
walks the data (the fingerprint, `show-space --json`); PyYAML composes it as a graph that
shares nodes, so every alias use is counted here at the size it expands to, and the read
stops at a bound. Duplicate mapping keys, which PyYAML takes silently (the last one wins),
are refused with both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

MAX_BYTES = 1_000_000  # a space file is a few kilobytes; a megabyte is not one
MAX_NODES = 100_000  # values, keys and containers, every alias counted at its expanded size
MAX_DEPTH = 64  # nesting (PyYAML composes recursively: deeper ends in a RecursionError)
MERGE_TAG = "tag:yaml.org,2002:merge"


class YamlLimitError(yaml.YAMLError):
    """A bound broken or a key repeated; `line` is 1-based (0 when unknown)."""

    def __init__(self, line: int, problem: str):
        super().__init__(problem)
        self.line, self.problem = line, problem


class LimitedLoader(yaml.SafeLoader):
    """SafeLoader that counts nodes as it composes and refuses duplicate keys."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._sizes: dict[int, int] = {}  # id(node) -> its size with aliases expanded
        self._total = 0
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        """Count the node (an alias at the size of what it refers to) before and after."""
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            target = self.anchors.get(event.anchor)
            if target is not None:
                size = self._sizes.get(id(target))
                if size is None:  # the anchor is still open: the alias is inside what it names
                    raise YamlLimitError(
                        event.start_mark.line + 1,
                        f"alias *{event.anchor} refers "
                        "to the list or mapping that contains it; remove the cycle",
                    )
                self._add(size, event.start_mark)
            return super().compose_node(parent, index)
        self._depth += 1
        if self._depth > MAX_DEPTH:
            raise YamlLimitError(
                self.peek_event().start_mark.line + 1,
                f"nested more than {MAX_DEPTH} levels deep; a space file needs a few",
            )
        node = super().compose_node(parent, index)
        self._depth -= 1
        self._sizes[id(node)] = 1 + sum(self._sizes[id(child)] for child in _children(node))
        self._add(1, node.start_mark)
        return node

    def _add(self, size: int, mark: Any) -> None:
        self._total += size
        if self._total > MAX_NODES:
            raise YamlLimitError(
                mark.line + 1,
                f"more than {MAX_NODES:,} values, each alias (*name) counted at the size it "
                "expands to; a space file needs far fewer (an alias bomb?)",
            )

    def construct_mapping(self, node: Any, deep: bool = False) -> dict:
        """Refuse a key written twice in one mapping (merge keys `<<` may still be overridden)."""
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == MERGE_TAG:
                continue
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            try:
                first = seen.get(key)
            except TypeError:  # unhashable: SafeConstructor refuses it in its own words
                continue
            if first is None:
                seen[key] = line
            else:
                where = f"lines {first} and {line}" if first != line else f"both on line {line}"
                raise YamlLimitError(line, f"key '{key_node.value}' appears twice ({where}); keep one")
        return super().construct_mapping(node, deep)


def _children(node: Any) -> list:
    if isinstance(node, yaml.SequenceNode):
        return node.value
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_yaml(text: str) -> tuple[Any, Any]:
    """(root node, data) of one YAML document, within the bounds; YAMLError when not."""
    if len(text) > MAX_BYTES:
        raise YamlLimitError(
            0, f"{len(text):,} characters, more than {MAX_BYTES:,}; a space file is a few kilobytes"
        )
    loader = LimitedLoader(text)
    try:
        root = loader.get_single_node()
        return root, (loader.construct_document(root) if root is not None else None)
    finally:
        loader.dispose()


def read_text(path: Path) -> str:
    """The file's text, read no further than the bound; OSError or UnicodeDecodeError."""
    with open(path, "rb") as handle:
        raw = handle.read(MAX_BYTES + 1)
    if len(raw) > MAX_BYTES:
        raise YamlLimitError(0, f"larger than {MAX_BYTES:,} bytes; a space file is a few kilobytes")
    return raw.decode("utf-8")
