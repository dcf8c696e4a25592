"""A run's task graph laid out for an SVG, server-side: one column per depth, no JS library.

A task's depth is the length of the longest `depends_on` path above it, so every edge
points right; inside a column tasks keep the job's definition order. Good enough for the
course's jobs (a handful of tasks) and readable up to a few dozen.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

NODE_W, NODE_H = 170, 44      # a node's box
GAP_X, GAP_Y = 70, 22         # space between columns / rows
PAD = 12


@dataclass(frozen=True)
class Node:
    key: str
    x: int
    y: int
    state: str       # one word: SUCCESS, FAILED, RUNNING … (states.effective)
    href: str | None


@dataclass(frozen=True)
class Edge:
    path: str        # an SVG path from the parent's right side to the child's left side
    src: str
    dst: str


@dataclass(frozen=True)
class Layout:
    nodes: list[Node]
    edges: list[Edge]
    width: int
    height: int


def depths(deps: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Longest distance from a root for every key; unknown parents are ignored, a cycle
    (which the spec refuses anyway) is cut where it is met."""
    out: dict[str, int] = {}
    visiting: set[str] = set()

    def depth(key: str) -> int:
        if key in out:
            return out[key]
        if key in visiting:
            return 0
        visiting.add(key)
        parents = [p for p in deps.get(key, ()) if p in deps]
        out[key] = 1 + max((depth(p) for p in parents), default=-1)
        visiting.discard(key)
        return out[key]

    for key in deps:
        depth(key)
    return out


def layout(deps: Mapping[str, Sequence[str]], node_state: Mapping[str, str],
           links: Mapping[str, str] | None = None) -> Layout:
    """Positions for `deps` (key -> parent keys, in definition order)."""
    level = depths(deps)
    columns: dict[int, list[str]] = {}
    for key in deps:
        columns.setdefault(level[key], []).append(key)
    pos: dict[str, tuple[int, int]] = {}
    for col, keys in columns.items():
        for row, key in enumerate(keys):
            pos[key] = (PAD + col * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y))
    nodes = [Node(k, *pos[k], node_state.get(k) or "PENDING", (links or {}).get(k)) for k in deps]
    edges = []
    for key, parents in deps.items():
        for parent in parents:
            if parent not in pos:
                continue
            (x1, y1), (x2, y2) = pos[parent], pos[key]
            x1, y1, y2 = x1 + NODE_W, y1 + NODE_H // 2, y2 + NODE_H // 2
            mid = (x1 + x2) // 2
            edges.append(Edge(f"M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}", parent, key))
    width = PAD * 2 + (max(columns, default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max((len(v) for v in columns.values()), default=1) * (NODE_H + GAP_Y) - GAP_Y
    return Layout(nodes, edges, width, height)
