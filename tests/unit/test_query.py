"""Tests for podium.store.query: Conductor search grammar -> parameterised SQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from podium.errors import BadRequest
from podium.store.query import (
    And,
    Between,
    Compare,
    Field,
    InList,
    IsNull,
    Or,
    StartsWith,
    compile_query,
    free_text_terms,
    fts5_match,
    parse_query,
    parse_sort,
    tsquery,
)

FIELDS = {
    "workflowId": Field("workflow_id"),
    "workflowType": Field("workflow_type"),
    "status": Field("status"),
    "startTime": Field("start_time", "time"),
    "correlationId": Field("correlation_id"),
    "priority": Field("priority", "int"),
}

TABLE_FIELDS = {name: field for name, field in FIELDS.items() if name != "priority"}  # the wf table's

SQLITE = lambda n: "?"  # noqa: E731
POSTGRES = lambda n: f"${n}"  # noqa: E731

ROWS = [
    ("w1", "order", "RUNNING", 1000, "order-1"),
    ("w2", "order", "COMPLETED", 2000, "order-2"),
    ("w3", "payment", "FAILED", 3000, "pay_1"),
    ("w4", "payment", "TIMED_OUT", 4000, None),
    ("w5", "refund", "RUNNING", 5000, "order%5"),
    ("w6", "it's", "PAUSED", 6000, "x' OR 1=1 --"),
]


def compile_text(text: str | None, placeholder=SQLITE, **kwargs) -> tuple[str, list]:
    return compile_query(parse_query(text), FIELDS, placeholder, **kwargs)


def bad(text: str) -> str:
    """Compile ``text`` expecting BadRequest; return its message."""
    with pytest.raises(BadRequest) as info:
        compile_text(text)
    return info.value.message


@pytest.fixture
def db() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute(
        "CREATE TABLE wf (workflow_id TEXT PRIMARY KEY, workflow_type TEXT, status TEXT,"
        " start_time INTEGER, correlation_id TEXT)"
    )
    conn.executemany("INSERT INTO wf VALUES (?, ?, ?, ?, ?)", ROWS)
    yield conn
    conn.close()


def matching(db: sqlite3.Connection, text: str) -> list[str]:
    sql, params = compile_query(parse_query(text), TABLE_FIELDS, SQLITE)
    where = f" WHERE {sql}" if sql else ""
    return [r[0] for r in db.execute(f"SELECT workflow_id FROM wf{where} ORDER BY workflow_id", params)]


# ---- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", [None, "", "   ", "\t\n"])
def test_empty_query_is_no_condition(text: str | None) -> None:
    assert parse_query(text) is None
    assert compile_query(None, FIELDS, SQLITE) == ("", [])
    assert compile_text(text) == ("", [])


def test_and_binds_tighter_than_or() -> None:
    a, b, c = (Compare(f, "=", v) for f, v in [("status", "A"), ("status", "B"), ("workflowType", "C")])
    assert parse_query("status = A OR status = B AND workflowType = C") == Or((a, And((b, c))))
    assert parse_query("status = A AND status = B OR workflowType = C") == Or((And((a, b)), c))


def test_parentheses_override_precedence_and_nest() -> None:
    a, b, c = (Compare(f, "=", v) for f, v in [("status", "A"), ("status", "B"), ("workflowType", "C")])
    assert parse_query("(status = A OR status = B) AND workflowType = C") == And((Or((a, b)), c))
    assert parse_query("((status = A))") == a
    assert parse_query("(status=A OR (status=B AND (workflowType=C)))") == Or((a, And((b, c))))


def test_chains_are_flat() -> None:
    node = parse_query("status = A AND status = B AND status = C")
    assert isinstance(node, And) and len(node.children) == 3


def test_keywords_are_case_insensitive() -> None:
    assert parse_query("workflowType in (a, b) and status is not null or startTime between 1 And 2") == Or(
        (
            And((InList("workflowType", ("a", "b")), IsNull("status", negated=True))),
            Between("startTime", "1", "2"),
        )
    )
    assert parse_query("correlationId starts_with x") == StartsWith("correlationId", "x")


@pytest.mark.parametrize("op", ["=", "!=", ">", "<", ">=", "<="])
def test_comparison_operators_with_and_without_spaces(op: str) -> None:
    expected = Compare("status", op, "RUNNING")  # type: ignore[arg-type]
    assert parse_query(f"status {op} RUNNING") == expected
    assert parse_query(f"status{op}RUNNING") == expected


def test_other_conditions_parse() -> None:
    assert parse_query("workflowType IN (a,b , 'c d')") == InList("workflowType", ("a", "b", "c d"))
    assert parse_query("workflowType IN (a)") == InList("workflowType", ("a",))
    assert parse_query("startTime BETWEEN 1 AND 2") == Between("startTime", "1", "2")
    assert parse_query("correlationId STARTS_WITH 'order-'") == StartsWith("correlationId", "order-")
    assert parse_query("correlationId IS NULL") == IsNull("correlationId")
    assert parse_query("correlationId IS NOT NULL") == IsNull("correlationId", negated=True)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("status = 'a b'", "a b"),
        ('status = "a b"', "a b"),
        (r"status = 'it\'s'", "it's"),
        (r'status = "say \"hi\""', 'say "hi"'),
        ("status = 'it''s'", "it's"),
        ('status = "a""b"', 'a"b'),
        ("status = 'a\"b'", 'a"b'),
        (r"status = 'back\\slash'", "back\\slash"),
        (r"status = 'C:\temp'", r"C:\temp"),
        ("status = ''", ""),
        ("status = 'AND'", "AND"),
        ("status = '(x) = y'", "(x) = y"),
        ("status = order-42.a:b@c/d_e", "order-42.a:b@c/d_e"),
        ("status = 'ünïcode ✓'", "ünïcode ✓"),
    ],
)
def test_values_quoting_and_escapes(text: str, value: str) -> None:
    assert parse_query(text) == Compare("status", "=", value)
    assert compile_text(text) == ("status = ?", [value])


# ---- compiling --------------------------------------------------------------------------------


def test_compile_example() -> None:
    assert compile_text("status = RUNNING AND startTime > 1690000000000") == (
        "(status = ? AND start_time > ?)",
        ["RUNNING", 1690000000000],
    )


@pytest.mark.parametrize(
    ("text", "sql", "params"),
    [
        ("status = X", "status = ?", ["X"]),
        ("status != X", "status <> ?", ["X"]),
        ("startTime > 5", "start_time > ?", [5]),
        ("startTime < 5", "start_time < ?", [5]),
        ("startTime >= 5", "start_time >= ?", [5]),
        ("startTime <= 5", "start_time <= ?", [5]),
        ("workflowType IN (a, b, c)", "workflow_type IN (?, ?, ?)", ["a", "b", "c"]),
        ("startTime BETWEEN 1 AND 2", "start_time BETWEEN ? AND ?", [1, 2]),
        ("correlationId STARTS_WITH order-", "correlation_id LIKE ? ESCAPE '\\'", ["order-%"]),
        ("correlationId IS NULL", "correlation_id IS NULL", []),
        ("correlationId IS NOT NULL", "correlation_id IS NOT NULL", []),
        ("status = A OR status = B", "(status = ? OR status = ?)", ["A", "B"]),
    ],
)
def test_compile_every_operator(text: str, sql: str, params: list) -> None:
    assert compile_text(text) == (sql, params)


def test_compile_nested_example() -> None:
    text = (
        "workflowType IN (a,b) AND (status = FAILED OR status = TIMED_OUT) AND correlationId STARTS_WITH o-"
    )
    assert compile_text(text) == (
        "(workflow_type IN (?, ?) AND (status = ? OR status = ?) AND correlation_id LIKE ? ESCAPE '\\')",
        ["a", "b", "FAILED", "TIMED_OUT", "o-%"],
    )


def test_starts_with_escapes_like_wildcards() -> None:
    assert compile_text(r"correlationId STARTS_WITH 'a%b_c\\d'")[1] == ["a\\%b\\_c\\\\d%"]


def test_postgres_placeholders_number_parameters() -> None:
    text = "workflowType IN (a,b) AND startTime BETWEEN 1 AND 2 AND correlationId IS NULL OR status = X"
    sql, params = compile_text(text, POSTGRES)
    assert sql == (
        "((workflow_type IN ($1, $2) AND start_time BETWEEN $3 AND $4 AND correlation_id IS NULL)"
        " OR status = $5)"
    )
    assert params == ["a", "b", 1, 2, "X"]


@pytest.mark.parametrize(("placeholder", "expected"), [(POSTGRES, "$3 $4"), (SQLITE, "? ?")])
def test_first_index_offsets_parameters(placeholder, expected: str) -> None:
    sql, params = compile_text("startTime BETWEEN 1 AND 2", placeholder, first_index=3)
    assert sql == f"start_time BETWEEN {expected.split()[0]} AND {expected.split()[1]}"
    assert params == [1, 2]


def test_first_index_must_be_positive() -> None:
    with pytest.raises(ValueError):
        compile_text("status = X", first_index=0)


def test_placeholder_gets_one_based_indexes() -> None:
    seen: list[int] = []
    compile_query(parse_query("status IN (a, b, c)"), FIELDS, lambda n: seen.append(n) or "?")
    assert seen == [1, 2, 3]


def test_numbers_versus_text() -> None:
    assert compile_text("correlationId = 42")[1] == ["42"]
    assert compile_text("correlationId = 007")[1] == ["007"]
    assert compile_text("correlationId = 1.50")[1] == ["1.50"]
    assert compile_text("startTime = 007")[1] == [7]
    assert compile_text("startTime > -5")[1] == [-5]
    assert compile_text("priority IN (1, '2', '+3', -4)")[1] == [1, 2, 3, -4]
    assert compile_text("priority = '42'")[1] == [42]  # quoted digits are still an integer


@pytest.mark.parametrize(
    "text",
    [
        "startTime > yesterday",
        "startTime > 1.5",
        "startTime > 1e3",
        "startTime > ''",
        "startTime BETWEEN 1 AND x",
        "priority IN (1, two)",
        "priority = 99999999999999999999",
        "startTime > '١٢٣'",  # non-ASCII digits
    ],
)
def test_int_and_time_fields_reject_non_integers(text: str) -> None:
    message = bad(text)
    assert "expects" in message and ("startTime" in message or "priority" in message)


def test_time_error_message_names_epoch_ms() -> None:
    assert bad("startTime > soon") == "Search field startTime expects epoch milliseconds, got 'soon'"
    assert bad("priority = x") == "Search field priority expects an integer, got 'x'"


def test_starts_with_needs_text_field() -> None:
    assert "STARTS_WITH" in bad("startTime STARTS_WITH 1")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("nope = 1", "nope"),
        ("Status = RUNNING", "Status"),  # field names are case-sensitive
        ("status = A OR input.x = 1", "input.x"),
        ("bogus IS NULL", "bogus"),
        ("(status = A AND (zzz IN (1)))", "zzz"),
    ],
)
def test_unknown_field_is_rejected(text: str, name: str) -> None:
    assert bad(text) == f"Unknown search field: {name}"


# ---- syntax errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("(status = A", "position 12: expected ')' to close '(' at position 1, found end of query"),
        ("((status = A) OR status = B", "position 28: expected ')' to close '(' at position 1"),
        ("status = A)", "position 11: unbalanced ')'"),
        ("status =", "position 9: expected a value after '=', found end of query"),
        ("status = AND x = 1", "position 10: expected a value after '=', found 'AND'"),
        ("status = A AND", "position 15: expected a field name, found end of query"),
        ("status = A OR OR status = B", "position 15: expected a field name, found 'OR'"),
        ("status = RUNNING foo", "position 18: expected AND, OR or end of query, found 'foo'"),
        ("status = A 'b'", "position 12: expected AND, OR or end of query, found 'b'"),
        ("status IN ()", "position 11: IN list must not be empty"),
        ("status IN ( )", "IN list must not be empty"),
        ("status IN (a,)", "position 14: expected a value after ',' in IN list, found ')'"),
        ("status IN (a b)", "position 14: expected ')' to close IN list opened at position 11, found 'b'"),
        ("status IN a", "position 11: expected '(' after IN, found 'a'"),
        ("status IN (a", "expected ')' to close IN list opened at position 11, found end of query"),
        ("startTime BETWEEN 1", "position 20: expected AND after the BETWEEN lower bound"),
        ("startTime BETWEEN 1 OR 2", "expected AND after the BETWEEN lower bound, found 'OR'"),
        ("startTime BETWEEN 1 AND", "expected a value after BETWEEN ... AND, found end of query"),
        ("status IS", "position 10: expected NULL or NOT NULL after IS, found end of query"),
        ("status IS NOT", "expected NULL after IS NOT, found end of query"),
        ("status IS EMPTY", "expected NULL or NOT NULL after IS, found 'EMPTY'"),
        ("status = NULL", "position 10: use IS NULL / IS NOT NULL"),
        ("status", "position 7: expected an operator after 'status', found end of query"),
        ("status RUNNING", "expected an operator after 'status', found 'RUNNING'"),
        ("status == RUNNING", "position 9: expected a value after '=', found '='"),
        ("= RUNNING", "position 1: expected a field name, found '='"),
        ("'status' = RUNNING", "position 1: expected a field name, found 'status'"),
        ("()", "position 2: expected a field name, found ')'"),
        ("status = 'abc", "position 10: unterminated string"),
        ('status = "abc\\"', "position 10: unterminated string"),
        ("status = a & b", "position 12: unexpected character '&'"),
        ("status STARTS_WITH", "expected a value after STARTS_WITH, found end of query"),
    ],
)
def test_syntax_errors_name_position_and_token(text: str, message: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_query(text)
    assert info.value.message.startswith("Invalid query at position ")
    assert message in info.value.message


def test_long_tokens_are_truncated_in_messages() -> None:
    with pytest.raises(BadRequest) as info:
        parse_query("status = a " + "x" * 500)
    assert len(info.value.message) < 120


def test_deep_nesting_is_a_bad_request_not_a_crash() -> None:
    depth = 5000
    with pytest.raises(BadRequest, match="nested too deeply"):
        parse_query("(" * depth + "status = A" + ")" * depth)
    assert parse_query("(" * 30 + "status = A" + ")" * 30) == Compare("status", "=", "A")


# ---- injection --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "param"),
    [
        ("status = 'x'' OR 1=1 --'", "x' OR 1=1 --"),
        ("status = \"x' OR '1'='1\"", "x' OR '1'='1"),
        ("status = 'RUNNING; DROP TABLE wf'", "RUNNING; DROP TABLE wf"),
        ("status = '1) OR (1=1'", "1) OR (1=1"),
        (r"status = '\'; DELETE FROM wf; --'", "'; DELETE FROM wf; --"),
    ],
)
def test_injection_in_values_becomes_a_parameter(db: sqlite3.Connection, text: str, param: str) -> None:
    sql, params = compile_text(text)
    assert (sql, params) == ("status = ?", [param])
    assert matching(db, text) == []
    assert db.execute("SELECT count(*) FROM wf").fetchone()[0] == len(ROWS)


def test_injection_payload_matches_only_literally(db: sqlite3.Connection) -> None:
    assert matching(db, "correlationId = 'x'' OR 1=1 --'") == ["w6"]
    assert matching(db, r"workflowType = 'it\'s'") == ["w6"]


@pytest.mark.parametrize(
    "text",
    [
        "status = RUNNING; DROP TABLE x",
        "status = RUNNING --",
        "status = RUNNING /* x */",
        "status = 'x' OR 1=1 --'",
        "status = 'x' OR 1=1",
        "1=1",
        "status = x OR 1 = 1",
        "status) OR (1=1",
        "status = `x`",
        "status = x UNION SELECT * FROM wf",
        "workflow_id = x",  # a column name, not a search field
        "status = A AND sqlite_master = 1",
        "status = A; SELECT 1",
        "status = A\x00",
    ],
)
def test_injection_in_structure_is_a_bad_request(db: sqlite3.Connection, text: str) -> None:
    with pytest.raises(BadRequest):
        compile_text(text)
    assert db.execute("SELECT count(*) FROM wf").fetchone()[0] == len(ROWS)


def test_user_text_never_appears_in_sql() -> None:
    text = "status = 'DROP TABLE' OR workflowType IN (\"x'y\", z--) OR correlationId STARTS_WITH ';'"
    sql, _ = compile_text(text)
    assert "DROP" not in sql and "x'y" not in sql and "z--" not in sql and ";" not in sql


# ---- executed against SQLite --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ("", ["w1", "w2", "w3", "w4", "w5", "w6"]),
        ("status = RUNNING", ["w1", "w5"]),
        ("status != RUNNING", ["w2", "w3", "w4", "w6"]),
        ("startTime > 3000", ["w4", "w5", "w6"]),
        ("startTime >= 3000", ["w3", "w4", "w5", "w6"]),
        ("startTime < 3000", ["w1", "w2"]),
        ("startTime <= 3000", ["w1", "w2", "w3"]),
        ("startTime BETWEEN 2000 AND 4000", ["w2", "w3", "w4"]),
        ("workflowType IN (order, refund)", ["w1", "w2", "w5"]),
        ("correlationId IS NULL", ["w4"]),
        ("correlationId IS NOT NULL", ["w1", "w2", "w3", "w5", "w6"]),
        ("correlationId STARTS_WITH 'order-'", ["w1", "w2"]),
        ("correlationId STARTS_WITH order", ["w1", "w2", "w5"]),
        ("correlationId STARTS_WITH 'order%'", ["w5"]),  # % is literal, not a wildcard
        ("correlationId STARTS_WITH pay_", ["w3"]),
        ("correlationId STARTS_WITH 'pa_'", []),  # _ is literal, not a wildcard
        ("status = FAILED OR status = TIMED_OUT AND workflowType = order", ["w3"]),
        ("(status = FAILED OR status = TIMED_OUT) AND workflowType = payment", ["w3", "w4"]),
        ("(status = FAILED OR status = TIMED_OUT) AND correlationId STARTS_WITH 'pay'", ["w3"]),
        (
            "workflowType IN (order,payment) AND status != COMPLETED AND startTime > 500",
            ["w1", "w3", "w4"],
        ),
        ("workflowId = w1 OR (workflowId = w2 OR (workflowId=w3 AND startTime=3000))", ["w1", "w2", "w3"]),
    ],
)
def test_conditions_select_the_right_rows(db: sqlite3.Connection, text: str, ids: list[str]) -> None:
    assert matching(db, text) == ids


def test_compiled_condition_combines_with_caller_parameters(db: sqlite3.Connection) -> None:
    sql, params = compile_text("status = RUNNING", first_index=2)
    rows = db.execute(f"SELECT workflow_id FROM wf WHERE workflow_type = ? AND {sql}", ["order", *params])
    assert [r[0] for r in rows] == ["w1"]


# ---- sort ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (None, []),
        ("", []),
        ("  ", []),
        ("startTime:DESC", [("start_time", False)]),
        ("startTime:desc", [("start_time", False)]),
        ("startTime:ASC", [("start_time", True)]),
        ("startTime", [("start_time", True)]),
        ("startTime:DESC|workflowType", [("start_time", False), ("workflow_type", True)]),
        ("startTime:DESC,workflowType:ASC", [("start_time", False), ("workflow_type", True)]),
        (" startTime : DESC | status ", [("start_time", False), ("status", True)]),
        ("startTime:DESC|", [("start_time", False)]),
    ],
)
def test_parse_sort(text: str | None, expected: list[tuple[str, bool]]) -> None:
    assert parse_sort(text, FIELDS) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("nope:DESC", "Unknown sort field: nope"),
        ("StartTime", "Unknown sort field: StartTime"),
        ("startTime:DOWN", "Invalid sort direction for startTime: 'DOWN'"),
        ("startTime:", "Invalid sort direction for startTime: ''"),
        ("startTime:DESC; DROP TABLE wf", "Invalid sort direction"),
        ("start_time", "Unknown sort field: start_time"),
    ],
)
def test_parse_sort_rejects_bad_input(text: str, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_sort(text, FIELDS)


# ---- free text ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        (None, []),
        ("", []),
        ("*", []),
        ("  ", []),
        ("order", ["order"]),
        ("Order 42", ["order", "42"]),
        ("ord*", ["ord*"]),
        ("ord* Pay", ["ord*", "pay"]),
        ('"Order Shipped" 42', ["order shipped", "42"]),
        ('"unterminated phrase', ["unterminated phrase"]),
        ("order-42 a@b.com", ["order-42", "a@b.com"]),
        ("(foo OR bar) AND NOT baz", ["foo", "or", "bar", "and", "not", "baz"]),
        ("title:foo^2 ~bar", ["title foo 2", "bar"]),
        ("fo*o", ["fo o"]),
        ("* ** () '' \"\" : ^ - _", []),
        ("it's", ["it s"]),
        ("ÄPFEL", ["äpfel"]),
        ("foo:*", ["foo*"]),
        ("a\x00b", ["a b"]),
    ],
)
def test_free_text_terms(text: str | None, terms: list[str]) -> None:
    assert free_text_terms(text) == terms


def test_fts5_match_example() -> None:
    assert fts5_match(["order", "42*"]) == '"order" "42"*'
    assert fts5_match([]) == ""
    assert fts5_match(["*", "  "]) == ""
    assert fts5_match(['say "hi"']) == '"say ""hi"""'
    assert fts5_match(["a\x00b"]) == '"a b"'


def test_tsquery_builder() -> None:
    assert tsquery(["order", "42*"]) == "'order' & '42':*"
    assert tsquery([]) == ""
    assert tsquery(["*"]) == ""
    assert tsquery(["it's"]) == "'it''s'"
    assert tsquery(["back\\slash"]) == "'back\\\\slash'"
    assert tsquery(["a & b | !c"]) == "'a & b | !c'"
    assert tsquery(["order shipped"]) == "'order shipped'"


HOSTILE = [
    "",
    "*",
    '"',
    '""',
    "'",
    "AND",
    "OR NOT",
    "NEAR(a b)",
    "col:x",
    "^x",
    "a\x00b",
    "\x00",
    "(",
    ")",
    "x' OR 1=1 --",
    '"; DROP TABLE docs; --',
    "{a b}:c",
    "+-*/",
    "ü\u200b✓",
    "a" * 1000,
]


@pytest.fixture
def fts() -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE VIRTUAL TABLE docs USING fts5(workflow_id UNINDEXED, body)")
    conn.executemany(
        "INSERT INTO docs VALUES (?, ?)",
        [("w1", "order-42 shipped to a@b.com"), ("w2", "payment failed"), ("w3", "Order cancelled")],
    )
    yield conn
    conn.close()


def fts_ids(conn: sqlite3.Connection, free_text: str | None) -> list[str]:
    expr = fts5_match(free_text_terms(free_text))
    if not expr:
        return sorted(r[0] for r in conn.execute("SELECT workflow_id FROM docs"))
    return sorted(r[0] for r in conn.execute("SELECT workflow_id FROM docs WHERE docs MATCH ?", [expr]))


@pytest.mark.parametrize(
    ("free_text", "ids"),
    [
        ("*", ["w1", "w2", "w3"]),
        ("order", ["w1", "w3"]),
        ("ORDER 42", ["w1"]),
        ("ord*", ["w1", "w3"]),
        ("pay*", ["w2"]),
        ('"order 42"', ["w1"]),
        ('"42 order"', []),
        ("order-42", ["w1"]),
        ("a@b.com", ["w1"]),
        ("order OR payment", []),  # OR is a plain word here, and the terms are ANDed
        ("failed NOT", []),
    ],
)
def test_fts5_match_selects_rows(fts: sqlite3.Connection, free_text: str, ids: list[str]) -> None:
    assert fts_ids(fts, free_text) == ids


@pytest.mark.parametrize("hostile", HOSTILE)
def test_fts5_match_survives_hostile_input(fts: sqlite3.Connection, hostile: str) -> None:
    fts_ids(fts, hostile)  # through free_text_terms
    for terms in ([hostile], [hostile + "*"], ["order", hostile]):  # and raw terms straight to the builder
        expr = fts5_match(terms)
        if expr:
            fts.execute("SELECT workflow_id FROM docs WHERE docs MATCH ?", [expr]).fetchall()


@pytest.mark.parametrize("hostile", HOSTILE)
def test_tsquery_quotes_every_term(hostile: str) -> None:
    for term in (hostile, hostile + "*"):
        result = tsquery([term])
        assert "\x00" not in result
        if result:
            assert result.startswith("'") and result.endswith(("'", "':*"))
            inner = result.removesuffix(":*")[1:-1]
            assert "'" not in inner.replace("''", "")  # every quote inside is doubled
