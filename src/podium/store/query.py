"""Conductor search queries -> parameterised SQL, shared by the SQLite and PostgreSQL stores.

Conductor's ``query`` parameter uses an Elasticsearch-flavoured grammar::

    query      := or_expr
    or_expr    := and_expr ("OR" and_expr)*
    and_expr   := primary ("AND" primary)*
    primary    := "(" or_expr ")" | condition
    condition  := FIELD ( ("=" | "!=" | ">" | "<" | ">=" | "<=") value
                        | "IN" "(" value ("," value)* ")"
                        | "BETWEEN" value "AND" value
                        | "STARTS_WITH" value
                        | "IS" ["NOT"] "NULL" )
    value      := bare word | 'single' or "double" quoted string (\\' or '' for the quote)

Keywords are case-insensitive; field names are case-sensitive. User text only ever reaches
the database as a bound parameter: columns come from the trusted ``fields`` mapping. Where the
caller names the key of the rows' search attributes (``attributes``), ``attr.<name>`` is a field
too: the execution's search attribute of that name (text), looked up in its index.
``freeText`` is handled separately by :func:`free_text_terms` plus :func:`fts5_match` or
:func:`tsquery`, whose results are also meant to be bound as parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias, cast

from podium.errors import BadRequest
from podium.model.definitions import SEARCH_ATTRIBUTE_NAME

MAX_DEPTH = 32  # parenthesis nesting; keeps hostile input away from Python's recursion limit
MAX_CONDITIONS = 500  # SQLite refuses expression trees deeper than 1000: a 400, not a database error
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Field:
    column: str  # SQL column expression, trusted (written by us, never by the user)
    kind: Literal["text", "int", "time"] = "text"  # int/time: values must be integers (time = epoch ms)
    attr: str | None = None  # a search attribute's name: the condition is on its indexed value
    #: For a field with several values per row, kept in another table: trusted SQL with one `{}`,
    #: where the condition on `column` goes, selecting the rows with a value that meets it
    #: (`podium.store.audit.TARGET_MATCH`); IS NULL selects the rows with no value.
    within: str | None = None


ATTR_PREFIX = "attr."


# ---- AST --------------------------------------------------------------------------------------
# Values are kept as the text the user wrote (quotes removed); the field kind decides their type.


CompareOp: TypeAlias = Literal["=", "!=", ">", "<", ">=", "<="]


@dataclass(frozen=True)
class Compare:
    field: str
    op: CompareOp
    value: str


@dataclass(frozen=True)
class InList:
    field: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Between:
    field: str
    low: str
    high: str


@dataclass(frozen=True)
class StartsWith:
    field: str
    prefix: str


@dataclass(frozen=True)
class IsNull:
    field: str
    negated: bool = False  # True for IS NOT NULL


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


Node: TypeAlias = Compare | InList | Between | StartsWith | IsNull | And | Or

# ---- tokenizer --------------------------------------------------------------------------------

_TOKEN_RE = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
    | (?P<op>>=|<=|!=|=|>|<)
    | (?P<punct>[(),])
    | (?P<word>[A-Za-z0-9_\-.:@/]+)
    """,
    re.VERBOSE | re.DOTALL,
)
_FIELD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*")
_INT_RE = re.compile(r"[+-]?[0-9]+")
_RESERVED = {"AND", "OR", "NULL"}  # bare words that can never be a value


@dataclass(frozen=True)
class _Token:
    kind: str  # string | op | punct | word | end
    text: str  # as written
    pos: int  # 1-based character position
    value: str = ""  # unquoted value for strings, else the text


def _syntax(pos: int, message: str) -> BadRequest:
    return BadRequest(f"Invalid query at position {pos}: {message}")


def _unquote(raw: str) -> str:
    quote = raw[0]
    pattern = r"\\([\\'\"])|" + re.escape(quote * 2)
    return re.sub(pattern, lambda m: m.group(1) or quote, raw[1:-1])


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            what = "unterminated string" if text[pos] in "'\"" else f"unexpected character {text[pos]!r}"
            raise _syntax(pos + 1, what)
        kind, raw = m.lastgroup or "", m.group()
        if kind != "ws":
            value = _unquote(raw) if kind == "string" else raw
            tokens.append(_Token(kind, raw, pos + 1, value))
        pos = m.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


# ---- parser -----------------------------------------------------------------------------------


def _describe(tok: _Token) -> str:
    if tok.kind == "end":
        return "end of query"
    text = tok.text if len(tok.text) <= 40 else tok.text[:37] + "..."
    return text if tok.kind == "string" else f"'{text}'"


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.i = 0
        self.depth = 0
        self.conditions = 0

    def peek(self) -> _Token:
        return self.tokens[self.i]

    def advance(self) -> _Token:
        tok = self.tokens[self.i]
        self.i = min(self.i + 1, len(self.tokens) - 1)
        return tok

    def error(self, expected: str) -> BadRequest:
        tok = self.peek()
        return _syntax(tok.pos, f"expected {expected}, found {_describe(tok)}")

    def at(self, *texts: str) -> bool:
        """Is the next token one of these keywords (any case) or punctuation marks?"""
        tok = self.peek()
        return tok.kind in ("word", "punct") and tok.text.upper() in texts

    def accept(self, text: str) -> _Token | None:
        return self.advance() if self.at(text) else None

    def expect(self, text: str, context: str) -> None:
        if not self.accept(text):
            raise self.error(f"{text if text.isalpha() else repr(text)} {context}")

    def parse(self) -> Node:
        node = self.or_expr()
        if self.at(")"):
            raise _syntax(self.peek().pos, "unbalanced ')'")
        if self.peek().kind != "end":
            raise self.error("AND, OR or end of query")
        return node

    def or_expr(self) -> Node:
        children = [self.and_expr()]
        while self.accept("OR"):
            children.append(self.and_expr())
        return children[0] if len(children) == 1 else Or(tuple(children))

    def and_expr(self) -> Node:
        children = [self.primary()]
        while self.accept("AND"):
            children.append(self.primary())
        return children[0] if len(children) == 1 else And(tuple(children))

    def primary(self) -> Node:
        opening = self.accept("(")
        if opening is None:
            return self.condition()
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _syntax(opening.pos, "parentheses nested too deeply")
        node = self.or_expr()
        self.expect(")", f"to close '(' at position {opening.pos}")
        self.depth -= 1
        return node

    def condition(self) -> Node:
        tok = self.peek()
        self.conditions += 1
        if self.conditions > MAX_CONDITIONS:
            raise _syntax(tok.pos, f"too many conditions (at most {MAX_CONDITIONS})")
        if tok.kind != "word" or tok.text.upper() in _RESERVED or not _FIELD_RE.fullmatch(tok.text):
            raise self.error("a field name")
        name = self.advance().text
        if self.peek().kind == "op":
            op = cast("CompareOp", self.advance().text)
            return Compare(name, op, self.value(f"after '{op}'"))
        if self.accept("IN"):
            return InList(name, self.in_values())
        if self.accept("BETWEEN"):
            low = self.value("after BETWEEN")
            self.expect("AND", "after the BETWEEN lower bound")
            return Between(name, low, self.value("after BETWEEN ... AND"))
        if self.accept("STARTS_WITH"):
            return StartsWith(name, self.value("after STARTS_WITH"))
        if self.accept("IS"):
            negated = self.accept("NOT") is not None
            self.expect("NULL", "after IS NOT" if negated else "or NOT NULL after IS")
            return IsNull(name, negated)
        raise self.error(f"an operator after '{name}'")

    def in_values(self) -> tuple[str, ...]:
        opening = self.accept("(")
        if opening is None:
            raise self.error("'(' after IN")
        if self.at(")"):
            raise _syntax(opening.pos, "IN list must not be empty")
        values = [self.value("in IN list")]
        while self.accept(","):
            values.append(self.value("after ',' in IN list"))
        self.expect(")", f"to close IN list opened at position {opening.pos}")
        return tuple(values)

    def value(self, where: str) -> str:
        tok = self.peek()
        if tok.kind == "word" and tok.text.upper() == "NULL":
            raise _syntax(tok.pos, "use IS NULL / IS NOT NULL to test for null")
        if tok.kind == "string" or (tok.kind == "word" and tok.text.upper() not in _RESERVED):
            return self.advance().value
        raise self.error(f"a value {where}")


def parse_query(text: str | None) -> Node | None:
    """Parse a Conductor search query; ``None`` for an empty or blank one."""
    if text is None or not text.strip():
        return None
    return _Parser(text).parse()


# ---- compiler ---------------------------------------------------------------------------------

_SQL_OPS = {"=": "=", "!=": "<>", ">": ">", "<": "<", ">=": ">=", "<=": "<="}


class _Compiler:
    def __init__(self, fields: Mapping[str, Field], placeholder: Callable[[int], str], first: int,
                 attributes: str | None) -> None:
        self.fields = fields
        self.placeholder = placeholder
        self.first = first
        self.attributes = attributes
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return self.placeholder(self.first + len(self.params) - 1)

    def field(self, name: str) -> Field:
        field = self.fields.get(name)
        if field is None and self.attributes and name.startswith(ATTR_PREFIX):
            attr = name[len(ATTR_PREFIX):]
            if SEARCH_ATTRIBUTE_NAME.fullmatch(attr):
                return Field("a.value", attr=attr)
        if field is None:
            raise BadRequest(f"Unknown search field: {name}")
        return field

    def owning(self, attr: str, condition: Callable[[], str], *, having: bool = True) -> str:
        """Rows that have (or, with `having` False, lack) the attribute `attr` meeting `condition`."""
        name = self.bind(attr)
        where = condition()
        return (f"{self.attributes} {'IN' if having else 'NOT IN'} (SELECT a.workflow_id FROM search_attrs a "
                f"WHERE a.name = {name}{' AND ' + where if where else ''})")

    def typed(self, name: str, field: Field, raw: str) -> Any:
        if field.kind == "text":
            return raw
        number = int(raw) if _INT_RE.fullmatch(raw.strip()) else None
        if number is None or not _INT64[0] <= number <= _INT64[1]:
            what = "epoch milliseconds" if field.kind == "time" else "an integer"
            raise BadRequest(f"Search field {name} expects {what}, got {raw!r}")
        return number

    def emit(self, node: Node) -> str:
        match node:
            case And(children) | Or(children):
                glue = " AND " if isinstance(node, And) else " OR "
                return "(" + glue.join(self.emit(child) for child in children) + ")"
            case IsNull(name, negated):
                field = self.field(name)
                if field.attr is not None:
                    return self.owning(field.attr, lambda: "", having=negated)
                if field.within is not None:  # IS NULL: no value at all
                    return field.within.format("1 = 1") if negated else f"NOT ({field.within.format('1 = 1')})"
                return f"{field.column} IS {'NOT ' if negated else ''}NULL"
            case _:
                field = self.field(node.field)
                if field.attr is not None:
                    return self.owning(field.attr, lambda: self.condition(node, field))
                if field.within is not None:
                    return field.within.format(self.condition(node, field))
                return self.condition(node, field)

    def condition(self, node: Compare | InList | Between | StartsWith, field: Field) -> str:
        column = field.column

        def arg(raw: str) -> str:
            return self.bind(self.typed(node.field, field, raw))

        match node:
            case Compare(_, op, value):
                return f"{column} {_SQL_OPS[op]} {arg(value)}"
            case InList(_, values):
                return f"{column} IN ({', '.join(arg(v) for v in values)})"
            case Between(_, low, high):
                return f"{column} BETWEEN {arg(low)} AND {arg(high)}"
            case StartsWith(_, prefix):
                if field.kind != "text":
                    raise BadRequest(f"STARTS_WITH needs a text field, {node.field} is {field.kind}")
                pattern = re.sub(r"([\\%_])", r"\\\1", prefix) + "%"
                return f"{column} LIKE {self.bind(pattern)} ESCAPE '\\'"
        raise TypeError(f"not a query node: {node!r}")  # pragma: no cover


def compile_query(
    node: Node | None,
    fields: Mapping[str, Field],
    placeholder: Callable[[int], str],
    *,
    first_index: int = 1,
    attributes: str | None = None,
) -> tuple[str, list[Any]]:
    """Compile an AST to ``(sql_condition, params)``; ``("", [])`` for no condition.

    ``placeholder(n)`` renders the n-th (1-based) parameter: ``lambda n: "?"`` for SQLite,
    ``lambda n: f"${n}"`` for PostgreSQL. ``first_index`` numbers the first parameter, for
    conditions appended after parameters the caller already bound. ``attributes`` is the column
    holding the rows' workflow id, when ``attr.<name>`` fields may be searched.
    """
    if first_index < 1:
        raise ValueError("first_index must be >= 1")
    if node is None:
        return "", []
    compiler = _Compiler(fields, placeholder, first_index, attributes)
    return compiler.emit(node), compiler.params


# ---- sort -------------------------------------------------------------------------------------


def parse_sort(text: str | None, fields: Mapping[str, Field]) -> list[tuple[str, bool]]:
    """Conductor sort ("startTime:DESC|workflowType") -> ``[(column, ascending), ...]``."""
    result: list[tuple[str, bool]] = []
    for part in re.split(r"[|,]", text or ""):
        name, sep, direction = (s.strip() for s in part.partition(":"))
        if not name and not sep:
            continue  # tolerate blank text and stray separators
        field = fields.get(name)
        if field is None:
            raise BadRequest(f"Unknown sort field: {name}")
        if sep and direction.upper() not in ("ASC", "DESC"):
            raise BadRequest(f"Invalid sort direction for {name}: {direction!r} (expected ASC or DESC)")
        result.append((field.column, direction.upper() != "DESC"))
    return result


# ---- free text --------------------------------------------------------------------------------

_PHRASE_RE = re.compile(r'"([^"]*)(?:"|$)|(\S+)')
_UNSAFE_RE = re.compile(r"[^\w\s\-.@/]+")  # everything else is FTS syntax (or noise)
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]+")


def free_text_terms(text: str | None) -> list[str]:
    """Conductor freeText -> lower-cased search terms; ``[]`` means match everything.

    Quoted phrases stay one term; a word ending in ``*`` is a prefix term and keeps the
    ``*`` as its last character (the only ``*`` a returned term can contain).
    """
    terms: list[str] = []
    for match in _PHRASE_RE.finditer(text or ""):
        phrase, word = match.group(1), match.group(2)
        raw = phrase if phrase is not None else word
        prefix = word is not None and word.endswith("*")
        cleaned = " ".join(_UNSAFE_RE.sub(" ", raw).split()).lower()
        if re.search(r"[^\W_]", cleaned):  # needs at least one letter or digit
            terms.append(cleaned + ("*" if prefix else ""))
    return terms


def _split_prefix(term: str) -> tuple[str, bool]:
    body = term.rstrip("*")
    return " ".join(_CONTROL_RE.sub(" ", body).split()), body != term


def fts5_match(terms: list[str]) -> str:
    """SQLite FTS5 MATCH text ANDing ``terms``: ``["order", "42*"]`` -> ``'"order" "42"*'``.

    Every term is a double-quoted FTS5 string, so no operator in it is interpreted.
    Returns "" when there is nothing to match: the caller must then omit the MATCH clause.
    """
    parts = []
    for term in terms:
        body, prefix = _split_prefix(term)
        if body:
            parts.append('"' + body.replace('"', '""') + '"' + ("*" if prefix else ""))
    return " ".join(parts)


def tsquery(terms: list[str]) -> str:
    """PostgreSQL ``to_tsquery('simple', ...)`` text ANDing ``terms``: ``'order' & '42':*``.

    Each term is a quoted tsquery lexeme (quote doubled, backslash escaped), so ``& | ! ( ) :``
    in user text are literal. Returns "" when there is nothing to match.
    """
    parts = []
    for term in terms:
        body, prefix = _split_prefix(term)
        if body:
            quoted = "'" + body.replace("\\", "\\\\").replace("'", "''") + "'"
            parts.append(quoted + (":*" if prefix else ""))
    return " & ".join(parts)
