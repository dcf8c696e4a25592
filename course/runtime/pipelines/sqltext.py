"""Databricks pipeline SQL as open-source Spark Declarative Pipelines' parser takes it.

SDP parses `CREATE MATERIALIZED VIEW`, `CREATE STREAMING TABLE`, `CREATE TEMPORARY VIEW`,
`CREATE FLOW … AS INSERT INTO` and `STREAM(x)`, and nothing of Databricks' own: so each
statement is rewritten here, outside strings and comments:

* `CREATE OR REFRESH …` is `CREATE …`; the older `[STREAMING] LIVE TABLE` and `LIVE.x`
  spellings mean `MATERIALIZED VIEW` / `STREAMING TABLE` and `x`;
* `CONSTRAINT c EXPECT (cond) [ON VIOLATION DROP ROW | FAIL UPDATE]` is taken out of the
  column list and kept as an expectation (`expectations.py` enforces and counts it);
* `read_files('path', format => 'csv', …)` (also after `STREAM`) becomes a temporary view
  the driver defines on Spark's file source; `${key}` is the pipeline's `configuration`;
* Unity Catalog three-part names go through `course.runtime.unity`.

What SDP cannot do is refused in one sentence (`Unsupported`): `APPLY CHANGES INTO` /
`AUTO CDC`, `cloud_files()`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from course.runtime.pipelines.expectations import Expectation
from course.runtime.unity import rewrite_names, split_statements

# one token: a string, a comment, a back-quoted name, a word, whitespace, or one character
_TOKEN = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|--[^\n]*|/\*.*?\*/|`(?:``|[^`])*`|\w+|\s+|.""",
                    re.S)
_CONFIG_REF = re.compile(r"\$\{([^}]+)\}")
_HEAD = re.compile(r"^\s*CREATE\s+(?:OR\s+REFRESH\s+)?(?:(PRIVATE|TEMPORARY)\s+)?"
                   r"(MATERIALIZED\s+VIEW|STREAMING\s+LIVE\s+TABLE|STREAMING\s+TABLE|LIVE\s+TABLE|LIVE\s+VIEW|VIEW)\s+"
                   r"(?:IF\s+NOT\s+EXISTS\s+)?((?:`(?:``|[^`])*`|[\w.]+))", re.I | re.S)
_CONSTRAINT = re.compile(r"CONSTRAINT\s+(`(?:``|[^`])*`|\w+)\s+EXPECT\s*\(", re.I)
_VIOLATION = re.compile(r"\s*ON\s+VIOLATION\s+(DROP\s+ROW|FAIL\s+UPDATE)", re.I)
_UNSUPPORTED = [
    (re.compile(r"^\s*(APPLY\s+CHANGES|CREATE\s+FLOW\s+\S+\s+AS\s+AUTO\s+CDC|AUTO\s+CDC)\b", re.I),
     "APPLY CHANGES INTO / AUTO CDC (change data capture into a streaming table) is not in open-source "
     "Spark Declarative Pipelines' SQL: run this pipeline on Databricks"),
    (re.compile(r"\bcloud_files\s*\(", re.I),
     "cloud_files() is Auto Loader's old SQL function, which only Databricks has: "
     "write STREAM read_files('path', format => '…') instead"),
]


class Unsupported(ValueError):
    """Pipeline SQL that open-source Spark cannot run, in one sentence."""


@dataclass
class FileSource:
    """A `read_files(…)` call, served as a temporary view named `view`."""
    view: str
    path: str
    options: dict[str, str]


@dataclass
class Statement:
    sql: str                          # what SDP gets
    dataset: str | None = None        # the dataset a CREATE defines
    kind: str | None = None           # "materialized_view", "streaming_table", "view"
    query: str | None = None          # its AS … query, as rewritten (for counting expectations)
    head: str | None = None           # everything before that query (CREATE … AS)
    expectations: list[Expectation] = field(default_factory=list)


def _find_paren(text: str, start: int) -> int:
    """Index of the `)` closing the `(` just before `start`, skipping strings and comments."""
    depth, pos = 1, start
    for token in _TOKEN.finditer(text, start):
        t = token.group()
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
            if depth == 0:
                return token.start()
        pos = token.end()
    raise Unsupported(f"unbalanced parentheses in: {text[:80]!r}")


def _words(text: str, fn) -> str:
    """`text` with `fn` applied to its code (not to strings or comments), token by token."""
    return "".join(t if t.startswith(("'", '"', "--", "/*")) else fn(t) for t in _TOKEN.findall(text))


def _strip_live(text: str) -> str:
    """`LIVE.x` (the older spelling of a dataset of the same pipeline) is `x`."""
    tokens, out, i = _TOKEN.findall(text), [], 0
    while i < len(tokens):
        if tokens[i].upper() == "LIVE" and i + 1 < len(tokens) and tokens[i + 1] == "." \
                and (i == 0 or tokens[i - 1] != "."):
            i += 2
            continue
        out.append(tokens[i])
        i += 1
    return "".join(out)


def _take_constraints(body: str) -> tuple[str, list[Expectation]]:
    """The column list without its CONSTRAINT … EXPECT clauses, and those as expectations."""
    found, out, pos = [], [], 0
    for m in _CONSTRAINT.finditer(body):
        if m.start() < pos:
            continue
        end = _find_paren(body, m.end())
        cond = body[m.end():end].strip()
        after = end + 1
        action = "warn"
        v = _VIOLATION.match(body, after)
        if v:
            action = "drop" if v.group(1).upper().startswith("DROP") else "fail"
            after = v.end()
        out.append(body[pos:m.start()])
        found.append(Expectation(m.group(1).strip("`"), cond, action))
        pos = after
    out.append(body[pos:])
    rest = re.sub(r",\s*(,|$)", r"\1", "".join(out).strip(), flags=re.S).strip().strip(",").strip()
    return rest, found


class Rewriter:
    """Rewrites one pipeline's SQL files; collects the read_files() sources they use."""

    def __init__(self, configuration: dict[str, str]):
        self.configuration = configuration
        self.sources: list[FileSource] = []

    def _config(self, text: str) -> str:
        return _CONFIG_REF.sub(lambda m: self.configuration.get(m.group(1), m.group(0)), text)

    def _read_files(self, text: str) -> str:
        """Each read_files(…) call becomes the name of a temporary view over the same files."""
        out, pos = [], 0
        for m in re.finditer(r"(?i)\bread_files\s*\(", text):
            if m.start() < pos:
                continue
            end = _find_paren(text, m.end())
            args = [a.strip() for a in split_args(text[m.end():end])]
            if not args or not args[0].startswith(("'", '"')):
                raise Unsupported("read_files() needs the path as its first argument, a string")
            options = {}
            for arg in args[1:]:
                if "=>" not in arg:
                    raise Unsupported(f"read_files() option {arg!r}: write it as name => value")
                k, v = (s.strip() for s in arg.split("=>", 1))
                options[k.strip("`")] = v.strip("'\"")
            source = FileSource(f"__day7_read_files_{len(self.sources) + 1}", args[0][1:-1], options)
            self.sources.append(source)
            out += [text[pos:m.start()], source.view]
            pos = end + 1
        out.append(text[pos:])
        return "".join(out)

    def statement(self, sql: str) -> Statement:
        for pattern, why in _UNSUPPORTED:
            if pattern.search(_words(sql, lambda t: t)):
                raise Unsupported(why)
        sql = rewrite_names(self._read_files(_strip_live(self._config(sql))))
        sql = re.sub(r"(?i)\bSTREAM\s+(__day7_read_files_\d+)", r"STREAM(\1)", sql)
        sql = _without_leading_comments(sql)
        head = _HEAD.match(sql)
        if not head:
            return Statement(sql)
        what, name = re.sub(r"\s+", " ", head.group(2).upper()), head.group(3)
        kind = ("streaming_table" if "STREAMING" in what else
                "view" if what.endswith("VIEW") and "MATERIALIZED" not in what else "materialized_view")
        rest = sql[head.end():]
        expectations: list[Expectation] = []
        lead = re.match(r"\s*\(", rest)
        if lead:  # a column list and/or constraints
            end = _find_paren(rest, lead.end())
            body, expectations = _take_constraints(rest[lead.end():end])
            rest = (f" ({body})" if body else "") + rest[end + 1:]
        at = _first_as(rest)
        query = rest[at + 2:].strip() if at is not None else None
        verb = {"streaming_table": "STREAMING TABLE", "view": "TEMPORARY VIEW"}.get(kind, "MATERIALIZED VIEW")
        new = f"CREATE {verb} {name}{rest}"
        head_text = f"CREATE {verb} {name}{rest[:at + 2]} " if at is not None else new
        return Statement(new, dataset=name.strip("`"), kind=kind, query=query, head=head_text,
                         expectations=expectations)

    def file(self, text: str) -> list[Statement]:
        return [self.statement(s.strip()) for s in split_statements(text)]


def _without_leading_comments(sql: str) -> str:
    tokens = _TOKEN.findall(sql)
    while tokens and (tokens[0].isspace() or tokens[0].startswith(("--", "/*"))):
        tokens.pop(0)
    return "".join(tokens)


def _first_as(text: str) -> int | None:
    """Where the top-level `AS` keyword starts (not in strings, comments or parentheses)."""
    depth = 0
    for token in _TOKEN.finditer(text):
        t = token.group()
        depth += (t == "(") - (t == ")")
        if depth == 0 and t.upper() == "AS":
            return token.start()
    return None


def split_args(text: str) -> list[str]:
    """Top-level comma-separated arguments."""
    args, current, depth = [], [], 0
    for t in _TOKEN.findall(text):
        if t == "(":
            depth += 1
        elif t == ")":
            depth -= 1
        if t == "," and depth == 0:
            args.append("".join(current))
            current = []
        else:
            current.append(t)
    args.append("".join(current))
    return [a for a in args if a.strip()]


def batch_query(query: str) -> str:
    """`query` read as a batch: `STREAM(x)` / `STREAM x` are `x` (for counting expectations)."""
    query = re.sub(r"(?i)\bSTREAM\s*\(\s*([^()]+?)\s*\)", r"\1", query)
    return re.sub(r"(?i)\bSTREAM\s+(?=[\w`])", "", query)
