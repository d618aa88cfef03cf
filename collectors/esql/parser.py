"""Parse ES|QL text into the syntax tree of :mod:`collectors.esql.ast`.

``parse(text)`` is the one entry point. The grammar (``grammar.lark``) runs on lark's LALR
parser, fed by the modal lexer in :mod:`collectors.esql.lexer`; the compiled parser is built
once and cached. Every syntax problem becomes :class:`collectors.result.QueryError` with the
1-based line and column and a message worded like Elasticsearch's (ANTLR's
``mismatched input 'x' expecting {...}``, ``extraneous input ...``, ``token recognition
error at: '...'``, and the checks Elasticsearch's ``ExpressionBuilder``/``LogicalPlanBuilder``
make while building the plan: LIKE escapes, time-span units, parameter styles, DISSECT/GROK
patterns). Sources followed: Elasticsearch ``x-pack/plugin/esql/src/main/antlr`` and the
ES|QL reference docs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Iterator

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken
from lark.lexer import Lexer

from collectors.esql import ast
from collectors.esql.lexer import display, tokenize
from collectors.private import private_dir, user_cache_root
from collectors.result import QueryError

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# Time-span units as Elasticsearch spells them (EsqlDataTypeConverter.parseTemporalAmount),
# plus "m" for minute as the huntbench issue asks.
TIME_UNITS: dict[str, str] = {}
for _unit, _spellings in {
    "millisecond": ("millisecond", "milliseconds", "ms"),
    "second": ("second", "seconds", "sec", "s"),
    "minute": ("minute", "minutes", "min", "m"),
    "hour": ("hour", "hours", "h"),
    "day": ("day", "days", "d"),
    "week": ("week", "weeks", "w"),
    "month": ("month", "months", "mo"),
    "quarter": ("quarter", "quarters", "q"),
    "year": ("year", "years", "yr", "y"),
}.items():
    for _s in _spellings:
        TIME_UNITS[_s] = _unit

# What FROM ... METADATA accepts (Elasticsearch's MetadataAttribute).
METADATA_FIELDS = frozenset(
    ["_index", "_id", "_version", "_score", "_source", "_ignored", "_index_mode", "_tsid"]
)

# Elasticsearch's ExpressionBuilder.MAX_EXPRESSION_DEPTH: deeper expressions are refused (a
# flat chain of ~300 ORs nests that deep). It also keeps later stages' recursion bounded.
MAX_EXPRESSION_DEPTH = 300

_INT_MAX = 2**31 - 1
_LONG_MAX = 2**63 - 1
_ULONG_MAX = 2**64 - 1

# How tokens are shown in "expecting ..." lists, in Elasticsearch's token order.
_DISPLAY: dict[str, str] = {
    "DISSECT": "'dissect'", "DROP": "'drop'", "EVAL": "'eval'", "FROM": "'from'",
    "GROK": "'grok'", "KEEP": "'keep'", "LIMIT": "'limit'", "MV_EXPAND": "'mv_expand'",
    "RENAME": "'rename'", "ROW": "'row'", "SORT": "'sort'", "STATS": "'stats'",
    "WHERE": "'where'", "PIPE": "'|'", "QUOTED_STRING": "QUOTED_STRING",
    "INTEGER_LITERAL": "INTEGER_LITERAL", "DECIMAL_LITERAL": "DECIMAL_LITERAL",
    "BY": "'by'", "AND": "'and'", "ASC": "'asc'", "ASSIGN": "'='", "CAST_OP": "'::'",
    "COLON": "':'", "COMMA": "','", "DESC": "'desc'", "DOT": "'.'", "FALSE": "'false'",
    "FIRST": "'first'", "IN": "'in'", "IS": "'is'", "LAST": "'last'", "LIKE": "'like'",
    "NOT": "'not'", "NULL": "'null'", "NULLS": "'nulls'", "OR": "'or'", "PARAM": "'?'",
    "RLIKE": "'rlike'", "TRUE": "'true'", "EQ": "'=='", "NEQ": "'!='", "LT": "'<'",
    "LTE": "'<='", "GT": "'>'", "GTE": "'>='", "PLUS": "'+'", "MINUS": "'-'",
    "ASTERISK": "'*'", "SLASH": "'/'", "PERCENT": "'%'",
    "NAMED_OR_POSITIONAL_PARAM": "NAMED_OR_POSITIONAL_PARAM",
    "OPENING_BRACKET": "'['", "CLOSING_BRACKET": "']'", "LP": "'('", "RP": "')'",
    "UNQUOTED_IDENTIFIER": "UNQUOTED_IDENTIFIER", "QUOTED_IDENTIFIER": "QUOTED_IDENTIFIER",
    "METADATA": "'metadata'", "UNQUOTED_SOURCE": "UNQUOTED_SOURCE",
    "ID_PATTERN": "ID_PATTERN", "AS": "'as'", "$END": "<EOF>",
}
_ORDER = {name: i for i, name in enumerate(_DISPLAY)}


class _FedLexer(Lexer):
    """Placeholder: tokens are fed to lark's interactive parser by :func:`parse`."""

    def __init__(self, lexer_conf: Any) -> None:  # noqa: D107 - lark's interface
        pass

    def lex(self, data: Any) -> Iterator[Token]:  # type: ignore[override]  # pragma: no cover - never called
        raise NotImplementedError


@lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(
        _GRAMMAR.read_text(encoding="utf-8"),
        parser="lalr",
        lexer=_FedLexer,
        propagate_positions=True,
        maybe_placeholders=False,
        cache=_tables_file() or False,
    )


def _tables_file() -> str | None:
    """Where lark keeps the grammar's LALR tables between runs, or None (no cache).

    Building them takes about 0.2 s, paid by every process before its first query; loaded
    from the cache they take 0.02 s. lark checks the file against a hash of the grammar and
    its own version (a stale file is rebuilt) and loads it with pickle, so it lives only in
    a private folder of ours, never in the shared temp folder lark would pick by itself."""
    try:
        return str(private_dir(user_cache_root() / "esql") / "grammar-tables")
    except OSError:
        return None


def parse(text: str) -> ast.Query:
    """Parse one ES|QL query. Raises QueryError (with line and column) on any problem."""
    if not isinstance(text, str):
        raise QueryError("query must be text")
    try:
        tree = _syntax_tree(text)
        return _Builder(text).query(tree)
    except QueryError:
        raise
    except RecursionError:
        raise QueryError(
            "ESQL statement is too large, causing stack overflow when generating the parsing tree",
            1,
            1,
        ) from None


def _syntax_tree(text: str) -> Tree:
    tokens = tokenize(text)
    fed: list[Token] = []
    ip = _lark().parse_interactive(text)
    for tok in tokens:
        try:
            ip.feed_token(tok)
        except UnexpectedToken:
            raise _syntax_error(text, fed, tok, tokens) from None
        fed.append(tok)
    try:
        return ip.feed_eof(fed[-1] if fed else None)
    except UnexpectedInput:
        raise _syntax_error(text, fed, None, iter(())) from None


def _eof_position(text: str) -> tuple[int, int]:
    line = text.count("\n") + 1
    column = len(text) - (text.rfind("\n") + 1) + 1
    return line, column


def _syntax_error(
    text: str, fed: list[Token], bad: Token | None, rest: Iterator[Token]
) -> QueryError:
    """An ANTLR-worded error for the token lark could not take after ``fed``."""
    ip = _lark().parse_interactive(text)
    for tok in fed:
        ip.feed_token(tok)
    expected = sorted(ip.accepts(), key=lambda t: _ORDER.get(t, len(_ORDER)))
    shown = [_DISPLAY.get(t, t) for t in expected if t in _DISPLAY]
    wanted = shown[0] if len(shown) == 1 else "{" + ", ".join(shown) + "}"
    if bad is None:
        line, column = _eof_position(text)
        return QueryError(f"mismatched input '<EOF>' expecting {wanted}", line, column)
    word = "mismatched"
    try:
        following = next(rest, None)
    except QueryError:
        following = None
    if following is not None and following.type in expected:
        word = "extraneous"
    return QueryError(f"{word} input '{display(str(bad))}' expecting {wanted}", bad.line, bad.column)


# ---------------------------------------------------------------- tree -> AST


def _unquote_identifier(tok: Any) -> str:
    """An identifier token's name (``tok`` is a lark child the grammar makes a Token)."""
    if tok.type == "QUOTED_IDENTIFIER":
        return str(tok)[1:-1].replace("``", "`")
    return str(tok)


def _unquote_string(raw: str) -> str:
    """String literal text -> value (Elasticsearch's ``unquoteString``)."""
    if raw.startswith('"""') and len(raw) >= 6:
        return raw[3:-3]
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    escapes = {"t": "\t", "n": "\n", "r": "\r", '"': '"', "\\": "\\"}
    while i < len(body):
        c = body[i]
        if c == "\\" and i + 1 < len(body):
            out.append(escapes.get(body[i + 1], body[i + 1]))
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _integer_type(value: int) -> str:
    if -_INT_MAX - 1 <= value <= _INT_MAX:
        return "integer"
    if -_LONG_MAX - 1 <= value <= _LONG_MAX:
        return "long"
    if 0 <= value <= _ULONG_MAX:
        return "unsigned_long"
    return "double"


def _integer_literal(value: int) -> tuple[Any, str]:
    kind = _integer_type(value)
    return (float(value), kind) if kind == "double" else (value, kind)


def check_like_pattern(pattern: str) -> str | None:
    """Elasticsearch's WildcardPattern check: ``\\`` may only escape ``*``, ``?`` or ``\\``.
    Returns the error text, or None when the pattern is valid."""
    i = 0
    while i < len(pattern):
        if pattern[i] == "\\":
            if i + 1 >= len(pattern) or pattern[i + 1] not in "*?\\":
                return "Invalid sequence - escape character is not followed by special wildcard char"
            i += 2
        else:
            i += 1
    return None


def _token_text(tree: Tree, limit: int = 80) -> str:
    """The tokens of ``tree`` run together, as ANTLR's getText() shows a rule (shortened)."""
    out: list[str] = []
    size = 0
    stack: list[Tree | Token] = [tree]
    while stack and size <= limit:
        node = stack.pop()
        if isinstance(node, Token):
            out.append(str(node))
            size += len(node)
        else:
            stack.extend(reversed(node.children))
    text = "".join(out)
    return text if size <= limit else text[:limit] + "..."


class _Builder:
    """Turns lark's parse tree into :mod:`ast` nodes, checking what ES checks while building."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.anonymous_params = 0
        self.depth = 0  # expression nesting, bounded like Elasticsearch's ExpressionBuilder
        self.param_styles: set[str] = set()

    # ---- helpers

    def pos(self, node: Tree | Token) -> ast.Pos:
        if isinstance(node, Token):
            return (node.line, node.column)  # type: ignore[return-value]  # our lexer always sets them
        return (node.meta.line, node.meta.column)

    def source(self, node: Tree | Token) -> str:
        if isinstance(node, Token):
            return self.text[node.start_pos : node.end_pos]
        return self.text[node.meta.start_pos : node.meta.end_pos]

    def error(self, message: str, node: Tree | Token) -> QueryError:
        """A positioned error; user text in it is shown on one line, as the CLI prints it."""
        line, column = self.pos(node)
        return QueryError(display(message), line, column)

    def stamp(self, expr: ast.Expr, node: Tree | Token) -> ast.Expr:
        expr.pos = self.pos(node)
        expr.text = self.source(node)
        return expr

    # ---- query and commands

    def query(self, tree: Tree) -> ast.Query:
        commands = [
            self.command(child) for child in tree.children if isinstance(child, Tree)
        ]
        return ast.Query(commands=commands, text=self.text)

    def command(self, tree: Tree) -> ast.Command:
        handler: Callable[[Tree], ast.Command] = getattr(self, "cmd_" + tree.data)
        cmd = handler(tree)
        cmd.pos = self.pos(tree.children[0])
        return cmd

    def cmd_from_command(self, tree: Tree) -> ast.Command:
        indices: list[str] = []
        metadata: list[str] = []
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "index_pattern":
                tok = child.children[0]
                value = _unquote_string(str(tok)) if tok.type == "QUOTED_STRING" else str(tok)
                indices.append(value)
            elif isinstance(child, Tree) and child.data == "metadata":
                for tok in child.children:
                    if tok.type != "UNQUOTED_SOURCE":
                        continue
                    name = str(tok)
                    if name not in METADATA_FIELDS:
                        raise self.error(f"unsupported metadata field [{name}]", tok)
                    if name in metadata:
                        raise self.error(f"metadata field [{name}] already declared", tok)
                    metadata.append(name)
        return ast.From(indices=indices, metadata=metadata)

    def cmd_row_command(self, tree: Tree) -> ast.Command:
        return ast.Row(fields=self.fields(tree.children[1]))

    def cmd_eval_command(self, tree: Tree) -> ast.Command:
        return ast.Eval(fields=self.fields(tree.children[1]))

    def cmd_where_command(self, tree: Tree) -> ast.Command:
        return ast.Where(condition=self.expr(tree.children[1]))

    def cmd_keep_command(self, tree: Tree) -> ast.Command:
        return ast.Keep(patterns=self.name_patterns(tree.children[1]),
                        positions=self.name_positions(tree.children[1]))

    def cmd_drop_command(self, tree: Tree) -> ast.Command:
        patterns = self.name_patterns(tree.children[1])
        for node, pattern in zip(
            (p for p in tree.children[1].children if isinstance(p, Tree)), patterns
        ):
            if pattern == "*":
                raise self.error("Removing all fields is not allowed [*]", node)
        return ast.Drop(patterns=patterns, positions=self.name_positions(tree.children[1]))

    def cmd_rename_command(self, tree: Tree) -> ast.Command:
        pairs: list[tuple[str, str]] = []
        positions: list[ast.Pos] = []
        for clause in tree.children:
            if not isinstance(clause, Tree):
                continue
            first, second = (c for c in clause.children if isinstance(c, Tree))
            a, b = self.name_pattern(first), self.name_pattern(second)
            pairs.append((a, b) if clause.data == "rename_as" else (b, a))
            positions.append(self.pos(first if clause.data == "rename_as" else second))
        return ast.Rename(pairs=pairs, positions=positions)

    def cmd_stats_command(self, tree: Tree) -> ast.Command:
        aggregates: list[ast.Aggregate] = []
        by: list[tuple[str, ast.Expr]] = []
        for child in tree.children:
            if isinstance(child, Tree) and child.data == "agg_fields":
                for agg in child.children:
                    if not isinstance(agg, Tree):
                        continue
                    name, expr = self.field(agg.children[0])
                    filt = self.expr(agg.children[2]) if len(agg.children) > 1 else None
                    aggregates.append(ast.Aggregate(name=name, expr=expr, filter=filt))
            elif isinstance(child, Tree) and child.data == "fields":
                by = self.fields(child)
        by_names = {name for name, _ in by}
        for agg in aggregates:
            if isinstance(agg.expr, ast.Field) and agg.expr.name in by_names and agg.name == agg.expr.name:
                raise QueryError(
                    f"Cannot specify grouping expression [{agg.expr.name}] as an aggregate",
                    *agg.expr.pos,
                )
        if not aggregates and not by:
            raise self.error(
                "At least one aggregation or grouping expression required in ["
                + self.source(tree)
                + "]",
                tree,
            )
        return ast.Stats(aggregates=aggregates, by=by)

    def cmd_sort_command(self, tree: Tree) -> ast.Command:
        keys: list[ast.SortKey] = []
        for order in tree.children:
            if not isinstance(order, Tree):
                continue
            expr = self.expr(order.children[0])
            words = [str(t).lower() for t in order.children[1:]]
            ascending = "desc" not in words
            nulls_first: bool | None = None
            if "nulls" in words:
                nulls_first = words[-1] == "first"
            keys.append(ast.SortKey(expr=expr, ascending=ascending, nulls_first=nulls_first))
        return ast.Sort(keys=keys)

    def cmd_limit_command(self, tree: Tree) -> ast.Command:
        tok = tree.children[1]
        value = int(str(tok))
        if value > _INT_MAX:
            raise self.error(
                f"Invalid value for LIMIT [{tok}], expecting a non negative integer", tok
            )
        by = self.fields(tree.children[3]) if len(tree.children) > 3 else []
        return ast.Limit(count=value, by=[expr for _, expr in by])

    def cmd_mv_expand_command(self, tree: Tree) -> ast.Command:
        return ast.MvExpand(field=self.qualified_name(tree.children[1]),
                            field_pos=self.pos(tree.children[1]))

    def cmd_dissect_command(self, tree: Tree) -> ast.Command:
        from collectors.esql.dissect import DissectError, compile_dissect

        source = self.expr(tree.children[1])
        string_node = tree.children[2]
        pattern = _unquote_string(str(string_node.children[0]))
        separator: str | None = None
        if len(tree.children) > 3:
            for option in tree.children[3].children:
                if not isinstance(option, Tree):
                    continue
                name = _unquote_identifier(option.children[0].children[0])
                value = self.expr(option.children[2])
                if name.lower() != "append_separator":
                    raise self.error(f"Invalid option for dissect: [{name}]", option)
                if not (isinstance(value, ast.Literal) and value.type == "keyword"):
                    raise self.error(
                        "Invalid value for dissect append_separator: expected a string, "
                        f"but was [{value.text}]",
                        option,
                    )
                separator = value.value
        try:
            compile_dissect(pattern, separator)
        except DissectError as exc:
            if str(exc).startswith("Reference keys"):
                raise self.error(str(exc), tree) from None
            raise self.error(f"Invalid pattern for dissect: [{pattern}]", tree) from None
        return ast.Dissect(source=source, pattern=pattern, append_separator=separator)

    def cmd_grok_command(self, tree: Tree) -> ast.Command:
        from collectors.esql.grok import GrokError, compile_grok

        source = self.expr(tree.children[1])
        string_node = tree.children[2]
        pattern = _unquote_string(str(string_node.children[0]))
        try:
            compile_grok(pattern)
        except GrokError as exc:
            raise self.error(f"Invalid pattern [{pattern}] for grok: {exc}", tree) from None
        return ast.Grok(source=source, pattern=pattern)

    # ---- shared pieces

    def fields(self, tree: Tree) -> list[tuple[str, ast.Expr]]:
        return [self.field(f) for f in tree.children if isinstance(f, Tree)]

    def field(self, tree: Tree) -> tuple[str, ast.Expr]:
        """``name = expr`` or an unnamed expression, named as Elasticsearch names it: a bare
        field by its name, anything else by its source text as written."""
        if tree.data == "named_field":
            return self.qualified_name(tree.children[0]), self.expr(tree.children[2])
        expr = self.expr(tree.children[0])
        text = self.source(tree)
        if isinstance(expr, ast.Field) and text == expr.text:
            return expr.name, expr
        return text, expr

    def name_patterns(self, tree: Tree) -> list[str]:
        return [self.name_pattern(p) for p in tree.children if isinstance(p, Tree)]

    def name_positions(self, tree: Tree) -> list[ast.Pos]:
        """Where each name of a ``name_patterns`` list starts (parallel to name_patterns)."""
        return [self.pos(p) for p in tree.children if isinstance(p, Tree)]

    def name_pattern(self, tree: Tree) -> str:
        parts = []
        for tok in tree.children:
            if tok.type != "ID_PATTERN":
                continue
            raw = str(tok)
            # backquoted segments inside a pattern lose their quotes
            out, i = [], 0
            while i < len(raw):
                if raw[i] == "`":
                    j = i + 1
                    while j < len(raw):
                        if raw[j] == "`" and raw[j + 1 : j + 2] == "`":
                            out.append("`")
                            j += 2
                        elif raw[j] == "`":
                            break
                        else:
                            out.append(raw[j])
                            j += 1
                    i = j + 1
                else:
                    out.append(raw[i])
                    i += 1
            parts.append("".join(out))
        return ".".join(parts)

    def qualified_name(self, tree: Tree) -> str:
        return ".".join(
            _unquote_identifier(ident.children[0])
            for ident in tree.children
            if isinstance(ident, Tree)
        )

    # ---- expressions

    def expr(self, node: Tree | Token) -> ast.Expr:
        if isinstance(node, Token):  # cannot happen with this grammar; be explicit
            raise self.error(f"unexpected token '{display(str(node))}'", node)
        handler: Callable[[Tree], ast.Expr] = getattr(self, "ex_" + node.data)
        self.depth += 1
        if self.depth > MAX_EXPRESSION_DEPTH:
            raise self.error(
                "ESQL statement exceeded the maximum expression depth allowed "
                f"({MAX_EXPRESSION_DEPTH}): [{_token_text(node)}]",
                node,
            )
        try:
            result = handler(node)
        finally:
            self.depth -= 1
        if not result.text:
            self.stamp(result, node)
        return result

    def ex_logical_or(self, t: Tree) -> ast.Expr:
        return ast.BinaryOp("or", self.expr(t.children[0]), self.expr(t.children[2]))

    def ex_logical_and(self, t: Tree) -> ast.Expr:
        return ast.BinaryOp("and", self.expr(t.children[0]), self.expr(t.children[2]))

    def ex_logical_not(self, t: Tree) -> ast.Expr:
        return ast.UnaryOp("not", self.expr(t.children[1]))

    def _negated(self, t: Tree) -> bool:
        return any(isinstance(c, Token) and c.type == "NOT" for c in t.children)

    def _like(self, t: Tree, kind: str) -> ast.Expr:
        operand = self.expr(t.children[0])
        patterns: list[ast.Expr] = []
        for child in t.children[1:]:
            if isinstance(child, Tree) and child.data in ("qualified_name", "function_expression"):
                patterns.append(self.expr(child))  # must fold to a constant: the compiler checks
            elif isinstance(child, Tree) and child.data == "string":
                lit = self.string(child)
                if kind == "like":
                    problem = check_like_pattern(lit.value)
                    if problem:
                        raise self.error(f"Invalid pattern for LIKE [{lit.value}]: [{problem}]", t)
                patterns.append(lit)
        return ast.Like(operand, patterns, kind, negated=self._negated(t))

    def ex_like(self, t: Tree) -> ast.Expr:
        return self._like(t, "like")

    def ex_rlike(self, t: Tree) -> ast.Expr:
        return self._like(t, "rlike")

    def ex_in_list(self, t: Tree) -> ast.Expr:
        operand = self.expr(t.children[0])
        items = [self.expr(c) for c in t.children[1:] if isinstance(c, Tree)]
        return ast.In(operand, items, negated=self._negated(t))

    def ex_is_null(self, t: Tree) -> ast.Expr:
        return ast.IsNull(self.expr(t.children[0]), negated=self._negated(t))

    def ex_comparison(self, t: Tree) -> ast.Expr:
        op = str(t.children[1].children[0])
        return ast.BinaryOp(op, self.expr(t.children[0]), self.expr(t.children[2]))

    def ex_arithmetic(self, t: Tree) -> ast.Expr:
        return ast.BinaryOp(str(t.children[1]), self.expr(t.children[0]), self.expr(t.children[2]))

    def ex_arithmetic_unary(self, t: Tree) -> ast.Expr:
        sign = str(t.children[0])
        operand = self.expr(t.children[1])
        if sign == "+":
            return operand
        # Elasticsearch reads a signed number as one literal: -2147483648 is an integer.
        if isinstance(operand, ast.Literal) and operand.type in (
            "integer", "long", "unsigned_long", "double",
        ) and not isinstance(operand.value, list):
            if isinstance(operand.value, int):
                value, kind = _integer_literal(-operand.value)
            else:
                value, kind = -operand.value, "double"
            return ast.Literal(value, kind)
        if isinstance(operand, ast.TimeSpan):
            return ast.TimeSpan(-operand.amount, operand.unit)
        return ast.UnaryOp("-", operand)

    def ex_parenthesized(self, t: Tree) -> ast.Expr:
        return self.expr(t.children[1])

    def ex_inline_cast(self, t: Tree) -> ast.Expr:
        type_name = _unquote_identifier(t.children[2].children[0]).lower()
        return ast.Cast(self.expr(t.children[0]), type_name)

    def ex_function_expression(self, t: Tree) -> ast.Expr:
        head = t.children[0]  # an identifier, or the FIRST / LAST keyword
        name = _unquote_identifier(head if isinstance(head, Token) else head.children[0]).lower()
        star = any(isinstance(c, Token) and c.type == "ASTERISK" for c in t.children)
        args = [self.expr(c) for c in t.children[1:] if isinstance(c, Tree)]
        return ast.FunctionCall(name, args, star=star)

    def ex_qualified_name(self, t: Tree) -> ast.Expr:
        return ast.Field(self.qualified_name(t))

    def ex_null_literal(self, t: Tree) -> ast.Expr:
        return ast.Literal(None, "null")

    def ex_integer_literal(self, t: Tree) -> ast.Expr:
        value, kind = _integer_literal(int(str(t.children[0])))
        return ast.Literal(value, kind)

    def ex_decimal_literal(self, t: Tree) -> ast.Expr:
        return ast.Literal(float(str(t.children[0])), "double")

    def ex_boolean_literal(self, t: Tree) -> ast.Expr:
        return ast.Literal(str(t.children[0]).lower() == "true", "boolean")

    def ex_qualified_integer(self, t: Tree) -> ast.Expr:
        amount = int(str(t.children[0]))
        qualifier = str(t.children[1])
        unit = TIME_UNITS.get(qualifier.lower())
        if unit is None:
            raise self.error(f"Unexpected temporal unit: '{qualifier}'", t.children[1])
        return ast.TimeSpan(amount, unit)

    def ex_string_literal(self, t: Tree) -> ast.Expr:
        return self.string(t.children[0])

    def string(self, t: Tree) -> ast.Literal:
        tok = t.children[0]
        lit = ast.Literal(_unquote_string(str(tok)), "keyword")
        self.stamp(lit, tok)
        return lit

    def ex_parameter(self, t: Tree) -> ast.Expr:
        raw = str(t.children[0])[1:]
        if not raw:
            self.anonymous_params += 1
            key: int | str = self.anonymous_params
            style = "anonymous"
        elif raw.isdigit():
            key, style = int(raw), "positional"
            if key < 1:
                raise self.error(f"No parameter is defined for position {key}", t)
        else:
            key, style = raw, "named"
        self.param_styles.add(style)
        if len(self.param_styles) > 1:
            raise self.error(
                "Inconsistent parameter declaration, use one of positional, named or anonymous "
                "params but not a combination of " + " and ".join(sorted(self.param_styles)),
                t,
            )
        return ast.Param(key)

    def ex_array_literal(self, t: Tree) -> ast.Expr:
        values: list[Any] = []
        kinds: set[str] = set()
        for child in t.children:
            if isinstance(child, Token):
                if child.type in ("TRUE", "FALSE"):
                    values.append(str(child).lower() == "true")
                    kinds.add("boolean")
                continue
            if child.data == "string":
                values.append(_unquote_string(str(child.children[0])))
                kinds.add("keyword")
            else:  # numeric_value
                raw = "".join(str(tok) for tok in child.children)
                if any(tok.type == "DECIMAL_LITERAL" for tok in child.children):
                    values.append(float(raw))
                    kinds.add("double")
                else:
                    value, kind = _integer_literal(int(raw))
                    values.append(value)
                    kinds.add(kind)
        for kind in ("keyword", "boolean", "double", "unsigned_long", "long", "integer"):
            if kind in kinds:
                break
        if kind == "double":
            values = [float(v) for v in values]
        return ast.Literal(values, kind)
