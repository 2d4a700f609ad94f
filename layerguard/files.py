"""Reading the files a user hands the CLI, with bounded memory and time.

Every file the command line names (`Pulumi.yaml`, `Pulumi.<stack>.yaml`, `--config-file`,
`--existing`, `--policy-pack-config`, `verify --state`) is read here. A file that is not a regular
file (a FIFO, a directory, `/dev/zero`, a symlink to one), one larger than its cap, one that is not
UTF-8, or a document that is too deep, too large once its YAML aliases are expanded, carries a
tag, a duplicate key or a number JSON cannot hold is refused with a `FileProblem` naming the file
and the problem: the caller turns it into its own exit-2 error, never a traceback.

Why each bound:
  * the file type is checked on the open descriptor, and the open is non-blocking: opening a FIFO
    for reading blocks until a writer comes, so the type is known before anything waits on it;
  * at most `limit` + 1 bytes are ever read (`/dev/zero` is refused by type, a huge file by size);
  * YAML aliases share one node in PyYAML's composer, so a 460-byte "billion laughs" document is
    small until something walks it (the engine encodes config values as JSON): the expanded size
    of the composed graph is counted, with memoisation, before anything is constructed;
  * nesting is capped on the composed graph (PyYAML's composer and the JSON decoder recurse, and so
    do the protobuf and JSON encoders the values reach later);
  * duplicate mapping keys are refused as the Pulumi CLI's YAML reader (gopkg.in/yaml.v3) refuses
    them ("mapping key ... already defined"), rather than silently keeping the last.
"""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from pathlib import Path
from typing import Any

CONFIG_LIMIT = 1 << 20          # 1 MiB: project and stack files, policy pack config
DOCUMENT_LIMIT = 64 << 20       # 64 MiB: existing resources, exported stack states (JSON)
YAML_LIMIT = 2 << 20            # 2 MiB: PyYAML's pure-Python reader takes ~1.5 s per MiB
MAX_DEPTH = 64
MAX_NODES = 1_000_000           # YAML: scalars + collections once aliases are expanded


class FileProblem(Exception):
    """A file that cannot be used; the message names the file and the problem."""


def read_text(path: Path | str, limit: int = CONFIG_LIMIT) -> str:
    """The file's text (UTF-8), refusing anything but a regular file of at most `limit` bytes."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise FileProblem(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = ("a directory" if stat.S_ISDIR(info.st_mode) else "a FIFO" if stat.S_ISFIFO(info.st_mode)
                    else "a device" if stat.S_ISCHR(info.st_mode) or stat.S_ISBLK(info.st_mode)
                    else "a socket" if stat.S_ISSOCK(info.st_mode) else "not a regular file")
            raise FileProblem(f"{path}: is {kind}, not a regular file")
        if info.st_size > limit:
            raise FileProblem(f"{path}: is {info.st_size} bytes, more than the {limit}-byte limit")
        chunks, size = [], 0
        while size <= limit:
            try:
                chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            except OSError as exc:
                if exc.errno == errno.EAGAIN:
                    raise FileProblem(f"{path}: cannot be read without waiting") from None
                raise FileProblem(f"{path}: cannot read: {exc.strerror or exc}") from None
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise FileProblem(f"{path}: grew past the {limit}-byte limit while being read")
    finally:
        os.close(fd)
    data = b"".join(chunks)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise FileProblem(f"{path}: is not UTF-8 text (byte {exc.start}, line {line})") from None


def _check_json_shape(value: Any, path: Path) -> None:
    """Depth of a decoded JSON value, walked without recursion (its size is the file's)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels")
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is out of range")
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def load_json(path: Path | str, limit: int = CONFIG_LIMIT) -> Any:
    path = Path(path)
    return _parse_json(read_text(path, limit), path)


def _parse_json(text: str, path: Path) -> Any:
    try:
        value = json.loads(text, parse_float=_finite, parse_constant=_no_constant)
    except RecursionError:
        raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:  # JSONDecodeError, out-of-range numbers, int digit limit
        raise FileProblem(f"{path}: is not valid JSON: {str(exc).splitlines()[0][:200]}") from None
    _check_json_shape(value, path)
    return value


def _yaml_loader():
    import yaml

    class BoundedLoader(yaml.SafeLoader):
        """SafeLoader (no Python tags) that refuses documents too deep, too large once aliases
        are expanded, or with duplicate keys."""

        def construct_mapping(self, node, deep=False):
            if isinstance(node, yaml.MappingNode):
                seen = set()
                for key_node, _value in node.value:
                    if isinstance(key_node, yaml.ScalarNode):
                        key = (key_node.tag, key_node.value)
                        if key in seen:
                            raise yaml.constructor.ConstructorError(
                                "while constructing a mapping", node.start_mark,
                                f"found duplicate key {key_node.value[:80]!r}", key_node.start_mark)
                        seen.add(key)
            return super().construct_mapping(node, deep)

    BoundedLoader.add_constructor("tag:yaml.org,2002:map", BoundedLoader.construct_yaml_map)
    return yaml, BoundedLoader


def _check_yaml_graph(root, path: Path) -> None:
    """Expanded size and depth of a composed YAML node graph (aliases share nodes), memoised per
    node so that the walk itself stays linear in the document's text."""
    import yaml
    sizes: dict[int, int] = {}
    depths: dict[int, int] = {}
    # Iterative post-order walk; a node on the current path again would be a cycle (a recursive
    # alias, which PyYAML's composer cannot build, but the check costs nothing).
    stack: list[tuple[Any, bool]] = [(root, False)]
    on_path: set[int] = set()
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            children = _children(node, yaml)
            sizes[key] = min(MAX_NODES + 1, 1 + sum(sizes[id(c)] for c in children))
            depths[key] = 1 + max((depths[id(c)] for c in children), default=0)
            if sizes[key] > MAX_NODES:
                raise FileProblem(f"{path}: expands to more than {MAX_NODES} values (YAML aliases)")
            if depths[key] > MAX_DEPTH:
                raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels")
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise FileProblem(f"{path}: a YAML alias refers to itself")
        on_path.add(key)
        stack.append((node, True))
        if len(on_path) > MAX_DEPTH:
            raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels")
        stack.extend((c, False) for c in _children(node, yaml) if id(c) not in sizes)


def _children(node, yaml) -> list[Any]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [part for pair in node.value for part in pair]
    return []


def load_document(path: Path | str) -> Any:
    """A JSON or YAML document of up to DOCUMENT_LIMIT bytes: JSON when it parses as JSON (the C
    decoder, fast at any size), else YAML, which must then fit YAML_LIMIT."""
    path = Path(path)
    text = read_text(path, DOCUMENT_LIMIT)
    if text.lstrip()[:1] in ("{", "["):
        try:
            return _parse_json(text, path)
        except FileProblem:
            if len(text) > YAML_LIMIT:
                raise
    if len(text) > YAML_LIMIT:
        raise FileProblem(f"{path}: is {len(text)} characters of YAML, more than the {YAML_LIMIT}-character "
                          "limit for YAML (write larger documents as JSON)")
    return _parse_yaml(text, path)


def load_yaml(path: Path | str, limit: int = CONFIG_LIMIT) -> Any:
    """A YAML (or JSON) document, bounded as the module says."""
    path = Path(path)
    return _parse_yaml(read_text(path, limit), path)


def _parse_yaml(text: str, path: Path) -> Any:
    yaml, loader_cls = _yaml_loader()
    try:
        loader = loader_cls(text)  # the reader refuses control characters here
    except yaml.YAMLError as exc:
        raise FileProblem(f"{path}: not valid YAML: {getattr(exc, 'reason', None) or exc}") from None
    depth = [0]
    compose_node = loader.compose_node

    def bounded_compose(parent, index):
        depth[0] += 1
        try:
            if depth[0] > MAX_DEPTH:
                raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels")
            return compose_node(parent, index)
        finally:
            depth[0] -= 1

    # PyYAML's composer recurses once per level: stop it past MAX_DEPTH, before a RecursionError.
    loader.compose_node = bounded_compose
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_yaml_graph(node, path)
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise FileProblem(f"{path}: not valid YAML{where}: {problem}") from None
    except RecursionError:
        raise FileProblem(f"{path}: nested deeper than {MAX_DEPTH} levels") from None
    except (ValueError, OverflowError) as exc:  # a scalar the constructor cannot convert (int digits)
        raise FileProblem(f"{path}: not valid YAML: {str(exc).splitlines()[0][:200]}") from None
    finally:
        loader.dispose()
