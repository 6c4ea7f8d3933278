"""X-Ray filter expressions: tokens → an AST of frozen dataclasses (`parse`).

The subset of reference/xray.md §3.1 (docs/xray-console-filters.md): boolean keywords (`ok`,
`error`, `throttle`, `fault`, `partial`, `inferred`, `root`, optionally `= true|false`), number
keywords (`responsetime`, `duration`, `http.status` with `= != < <= > >=`), string keywords
(`http.url`, `http.method`, `http.useragent`, `http.clientip`, `user`, `name`, `type`, `message`,
`availabilityzone`, `instance.id`, `resource.arn` with `= != CONTAINS BEGINSWITH ENDSWITH`),
`annotation.KEY` (bare, or compared), `service(id){filter}`, `edge(id, id){filter}`,
`group.name = "x"`, `group.arn = "x"`, `!`, `AND`, `OR` and parentheses. A service id is a
quoted name or `id(name: "x", type: "T", account.id: "123")`. Evaluation is in `matching.py`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

BOOLEAN_KEYWORDS = frozenset({"ok", "error", "throttle", "fault", "partial", "inferred", "root"})
NUMBER_KEYWORDS = frozenset({"responsetime", "duration", "http.status"})
STRING_KEYWORDS = frozenset(
    {
        "http.url",
        "http.method",
        "http.useragent",
        "http.clientip",
        "user",
        "name",
        "type",
        "message",
        "availabilityzone",
        "instance.id",
        "resource.arn",
    }
)
ANNOTATION_KEY = re.compile(r"^[A-Za-z0-9_]{1,500}$")


class FilterError(ValueError):
    """The expression does not parse; the message says where."""


class Op(StrEnum):
    EQ = "="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    CONTAINS = "CONTAINS"
    BEGINSWITH = "BEGINSWITH"
    ENDSWITH = "ENDSWITH"


NUMBER_OPS = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})
STRING_OPS = frozenset({Op.EQ, Op.NE, Op.CONTAINS, Op.BEGINSWITH, Op.ENDSWITH})

Value = str | float | bool


@dataclass(frozen=True, slots=True)
class And:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Or:
    left: Expr
    right: Expr


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class Flag:
    """A boolean keyword, `fault` or `fault = false`."""

    keyword: str
    expected: bool = True


@dataclass(frozen=True, slots=True)
class Compare:
    """`<keyword> <op> <value>` for number and string keywords."""

    keyword: str
    op: Op
    value: Value


@dataclass(frozen=True, slots=True)
class Annotation:
    """`annotation.key` alone (set), or compared with a value."""

    key: str
    op: Op | None = None
    value: Value | None = None


@dataclass(frozen=True, slots=True)
class ServiceId:
    name: str | None = None
    type: str | None = None
    account_id: str | None = None


@dataclass(frozen=True, slots=True)
class Service:
    id: ServiceId
    filter: Expr | None = None


@dataclass(frozen=True, slots=True)
class Edge:
    source: ServiceId
    target: ServiceId
    filter: Expr | None = None


@dataclass(frozen=True, slots=True)
class Group:
    """`group.name = "x"` or `group.arn = "x"`: the group's own filter expression applies."""

    by: str  # "name" or "arn"
    value: str


Expr = And | Or | Not | Flag | Compare | Annotation | Service | Edge | Group

TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<number>-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)
  | (?P<op>!=|<=|>=|=|<|>)
  | (?P<punct>[(){},:!])
  | (?P<word>[A-Za-z_][A-Za-z0-9_.\-]*(?:\[[^\]]*\])?)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # string, number, op, punct, word, end
    text: str
    at: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    at = 0
    while at < len(text):
        match = TOKEN.match(text, at)
        if match is None:
            raise FilterError(f"unexpected character {text[at]!r} at position {at}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), at))
        at = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


MAX_DEPTH = 100  # AND/OR/NOT levels: matching and printing walk the tree recursively


def parse(text: str) -> Expr:
    """The AST of a filter expression, or FilterError."""
    if not text.strip():
        raise FilterError("the filter expression is empty")
    try:
        expr = _Parser(tokenize(text)).parse()
    except RecursionError as error:  # thousands of "(" or "!": hostile, not a filter
        raise FilterError("the filter expression is nested too deeply") from error
    if _depth(expr) > MAX_DEPTH:
        raise FilterError("the filter expression is nested too deeply")
    return expr


def _depth(expr: Expr) -> int:
    """The tree's height, walked without recursion (a long AND chain is a deep tree)."""
    deepest, stack = 0, [(expr, 1)]
    while stack:
        node, level = stack.pop()
        deepest = max(deepest, level)
        if isinstance(node, And | Or):
            stack += [(node.left, level + 1), (node.right, level + 1)]
        elif isinstance(node, Not):
            stack.append((node.operand, level + 1))
    return deepest


class _Parser:
    """Recursive descent: `expr := term (OR term)*`, `term := factor (AND factor)*`."""

    def __init__(self, tokens: list[Token]) -> None:
        self._tokens = tokens
        self._at = 0

    def parse(self) -> Expr:
        expr = self._expr()
        if self._peek().kind != "end":
            raise self._error("unexpected")
        return expr

    def _peek(self) -> Token:
        return self._tokens[self._at]

    def _next(self) -> Token:
        token = self._tokens[self._at]
        self._at += 1
        return token

    def _error(self, what: str) -> FilterError:
        token = self._peek()
        shown = repr(token.text) if token.kind != "end" else "end of expression"
        return FilterError(f"{what} {shown} at position {token.at}")

    def _word_is(self, word: str) -> bool:
        token = self._peek()
        return token.kind == "word" and token.text.upper() == word

    def _expect(self, kind: str, text: str | None = None) -> Token:
        token = self._peek()
        if token.kind != kind or (text is not None and token.text != text):
            raise self._error(f"expected {text or kind}, found")
        return self._next()

    def _expr(self) -> Expr:
        left = self._term()
        while self._word_is("OR"):
            self._next()
            left = Or(left, self._term())
        return left

    def _term(self) -> Expr:
        left = self._factor()
        while self._word_is("AND"):
            self._next()
            left = And(left, self._factor())
        return left

    def _factor(self) -> Expr:
        token = self._peek()
        if token.kind == "punct" and token.text == "!":
            self._next()
            return Not(self._factor())
        if token.kind == "punct" and token.text == "(":
            self._next()
            inner = self._expr()
            self._expect("punct", ")")
            return inner
        if token.kind != "word":
            raise self._error("expected a keyword, found")
        return self._predicate(self._next().text)

    def _predicate(self, word: str) -> Expr:
        lowered = word.lower()
        if lowered == "service":
            return self._service()
        if lowered == "edge":
            return self._edge()
        if lowered.startswith("annotation.") or lowered.startswith("annotation["):
            return self._annotation(word)
        if lowered in ("group.name", "group.arn"):
            self._expect("op", "=")
            return Group(lowered.split(".", 1)[1], self._string())
        if lowered in BOOLEAN_KEYWORDS:
            return self._flag(lowered)
        if lowered in NUMBER_KEYWORDS:
            op = self._op(NUMBER_OPS, lowered)
            return Compare(lowered, op, self._number())
        if lowered in STRING_KEYWORDS:
            op = self._op(STRING_OPS, lowered)
            return Compare(lowered, op, self._string())
        self._at -= 1
        raise self._error("unknown keyword")

    def _flag(self, keyword: str) -> Flag:
        token = self._peek()
        if token.kind != "op":
            return Flag(keyword)
        if token.text not in ("=", "!="):
            raise self._error(f"{keyword} takes = or !=, not")
        self._next()
        value = self._boolean()
        return Flag(keyword, value if token.text == "=" else not value)

    def _op(self, allowed: frozenset[Op], keyword: str) -> Op:
        token = self._peek()
        text = token.text.upper() if token.kind == "word" else token.text
        if token.kind not in ("op", "word") or text not in {op.value for op in allowed}:
            raise self._error(f"{keyword} takes one of {', '.join(sorted(allowed))}, not")
        self._next()
        return Op(text)

    def _string(self) -> str:
        token = self._expect("string")
        return re.sub(r"\\(.)", r"\1", token.text[1:-1])

    def _number(self) -> float:
        return float(self._expect("number").text)

    def _boolean(self) -> bool:
        if self._word_is("TRUE") or self._word_is("FALSE"):
            return self._next().text.upper() == "TRUE"
        raise self._error("expected true or false, found")

    def _value(self) -> Value:
        token = self._peek()
        if token.kind == "string":
            return self._string()
        if token.kind == "number":
            return self._number()
        return self._boolean()

    def _annotation(self, word: str) -> Annotation:
        key = word[len("annotation") :]
        key = key[2:-2] if key.startswith('["') else key.lstrip(".")
        if not ANNOTATION_KEY.match(key):
            self._at -= 1
            raise self._error("bad annotation key in")
        token = self._peek()
        if token.kind == "op" or (token.kind == "word" and token.text.upper() in STRING_OPS):
            op = self._op(NUMBER_OPS | STRING_OPS, word)
            return Annotation(key, op, self._value())
        return Annotation(key)

    def _service(self) -> Service:
        self._expect("punct", "(")
        ident = ServiceId() if self._peek().text == ")" else self._service_id()
        self._expect("punct", ")")
        return Service(ident, self._block())

    def _edge(self) -> Edge:
        self._expect("punct", "(")
        source = self._service_id()
        self._expect("punct", ",")
        target = self._service_id()
        self._expect("punct", ")")
        return Edge(source, target, self._block())

    def _block(self) -> Expr | None:
        if self._peek().text != "{":
            return None
        self._next()
        inner = self._expr()
        self._expect("punct", "}")
        return inner

    def _service_id(self) -> ServiceId:
        if self._peek().kind == "string":
            return ServiceId(name=self._string())
        if not (self._peek().kind == "word" and self._peek().text.lower() == "id"):
            raise self._error("expected a service name or id(...), found")
        self._next()
        self._expect("punct", "(")
        fields: dict[str, str] = {}
        while True:
            field = self._expect("word").text.lower()
            if field not in ("name", "type", "account.id") or field in fields:
                self._at -= 1
                raise self._error("unexpected id field")
            self._expect("punct", ":")
            fields[field] = self._string()
            if self._peek().text != ",":
                break
            self._next()
        self._expect("punct", ")")
        return ServiceId(fields.get("name"), fields.get("type"), fields.get("account.id"))
