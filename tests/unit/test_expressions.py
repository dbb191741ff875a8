from __future__ import annotations

import copy
from typing import Any

import pytest

from podium.engine.expressions import has_expressions, referenced_roots, resolve

DOC: dict[str, Any] = {
    "workflow": {
        "workflowId": "wf-1",
        "status": "RUNNING",
        "input": {
            "name": "ada",
            "count": 3,
            "ratio": 1.5,
            "flag": True,
            "off": False,
            "nothing": None,
            "key": "items",
            "idx": 1,
            "obj": {"a": 1, "b": [1, 2]},
            "list": [1, "two", None],
            "unicode": "héllo",
        },
        "variables": {"v": "var"},
    },
    "t1": {
        "taskId": "task-1",
        "status": "COMPLETED",
        "output": {
            "items": [{"id": 1, "ok": True, "price": 10}, {"id": 2, "ok": False, "price": 20}],
            "nums": [4, 1, 7],
            "my key": "spaced",
            "my-key": "dashed",
            "empty": [],
            "text": "abcd",
            "map": {"x": 1, "y": 2},
            "nested": {"deep": {"id": 99}},
        },
    },
    "t2": {"input": {"a": 1}, "output": {}},
}


def r(template: Any, **kwargs: Any) -> Any:
    return resolve(template, DOC, **kwargs)


# ------------------------------------------------------------------ pass-through


@pytest.mark.parametrize("value", [1, 2.5, True, False, None, "", "plain text", "$ { not }", "{}"])
def test_values_without_expressions_are_returned_as_is(value: Any) -> None:
    assert r(value) == value
    assert type(r(value)) is type(value)


def test_string_without_expression_is_the_same_object() -> None:
    text = "no expressions here"
    assert r(text) is text


# ------------------------------------------------------------------ typed results


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${workflow.input.name}", "ada"),
        ("${workflow.input.count}", 3),
        ("${workflow.input.ratio}", 1.5),
        ("${workflow.input.flag}", True),
        ("${workflow.input.nothing}", None),
        ("${workflow.input.obj}", {"a": 1, "b": [1, 2]}),
        ("${workflow.input.list}", [1, "two", None]),
        ("${workflow.workflowId}", "wf-1"),
        ("${workflow.variables.v}", "var"),
        ("${t1.taskId}", "task-1"),
        ("${t1.output.items[0].id}", 1),
        ("${t1.output.items[1]}", {"id": 2, "ok": False, "price": 20}),
        ("${t1.output.nested.deep.id}", 99),
        ("${  workflow.input.name  }", "ada"),
        ("${$.workflow.input.name}", "ada"),
    ],
)
def test_single_expression_returns_typed_value(template: str, expected: Any) -> None:
    result = r(template)
    assert result == expected
    assert type(result) is type(expected)


def test_definite_path_to_list_is_not_wrapped() -> None:
    assert r("${t1.output.nums}") == [4, 1, 7]


# ------------------------------------------------------------------ concatenation


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("Hello ${workflow.input.name}!", "Hello ada!"),
        ("${workflow.input.name}${workflow.input.name}", "adaada"),
        ("n=${workflow.input.count}", "n=3"),
        ("r=${workflow.input.ratio}", "r=1.5"),
        ("${workflow.input.flag}/${workflow.input.off}", "true/false"),
        ("[${workflow.input.nothing}]", "[]"),
        ("[${workflow.input.missing}]", "[]"),
        ("o=${workflow.input.obj}", 'o={"a":1,"b":[1,2]}'),
        ("l=${workflow.input.list}", 'l=[1,"two",null]'),
        ("u=${workflow.input.unicode}", "u=héllo"),
        ("ids=${t1.output.items[*].id}", "ids=[1,2]"),
        (" ${workflow.input.name}", " ada"),
        ("}${workflow.input.name}}", "}ada}"),
    ],
)
def test_mixed_string_is_concatenated(template: str, expected: str) -> None:
    assert r(template) == expected


def test_integral_float_keeps_its_decimal_point_in_text() -> None:
    assert resolve("v=${a.b}", {"a": {"b": 2.0}}) == "v=2.0"


# ------------------------------------------------------------------ missing paths


@pytest.mark.parametrize(
    "template",
    [
        "${workflow.input.absent}",
        "${workflow.input.absent.deeper}",
        "${nosuchtask.output.x}",
        "${t1.output.items[5].id}",
        "${t1.output.items[-5]}",
        "${t1.output.map[0]}",
        "${t1.output.items.id}",
        "${t1.output.text.x}",
        "${workflow.input.count.x}",
        "${t1.output.empty[0]}",
        "${t1.output[?(}",
        "${t1..[}",
    ],
)
def test_missing_or_invalid_paths_give_none(template: str) -> None:
    assert r(template) is None


def test_missing_path_in_text_is_empty() -> None:
    assert r("a${t9.output.x}b${t1.output.items[9]}c") == "abc"


def test_negative_index_counts_from_the_end() -> None:
    assert r("${t1.output.items[-1].id}") == 2


# ------------------------------------------------------------------ nested expressions


def test_nested_expression_is_resolved_first() -> None:
    assert r("${t1.output.${workflow.input.key}}") == DOC["t1"]["output"]["items"]


def test_nested_expression_as_index() -> None:
    assert r("${t1.output.items[${workflow.input.idx}].id}") == 2


def test_nested_expression_inside_text() -> None:
    assert r("id=${t1.output.${workflow.input.key}[0].id}.") == "id=1."


def test_doubly_nested_expression() -> None:
    doc = {"a": {"k": "b"}, "b": {"k": "c"}, "c": {"v": 42}}
    assert resolve("${${${a.k}.k}.v}", doc) == 42


def test_nested_missing_value_leaves_empty_segment() -> None:
    assert r("${t1.output.${workflow.input.absent}}") is None


# ------------------------------------------------------------------ escapes, blanks, unclosed


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("$${x}", "${x}"),
        ("$${workflow.input.name}", "${workflow.input.name}"),
        ("a $${x} ${workflow.input.name}", "a ${x} ada"),
        ("$${a}$${b}", "${a}${b}"),
        ("$$${x}", "$${x}"),
        ("cost: $5 {ok}", "cost: $5 {ok}"),
    ],
)
def test_escapes(template: str, expected: str) -> None:
    assert r(template) == expected


@pytest.mark.parametrize(("template", "expected"), [("${}", ""), ("${   }", ""), ("a${}b", "ab")])
def test_blank_expression_is_empty_string(template: str, expected: str) -> None:
    assert r(template) == expected


@pytest.mark.parametrize(
    ("template", "expected"),
    [("${abc", "${abc"), ("x ${abc", "x ${abc"), ("${a ${workflow.input.name}", "${a ada")],
)
def test_unclosed_expression_stays_literal(template: str, expected: str) -> None:
    assert r(template) == expected


def test_pathological_unclosed_input_is_literal() -> None:
    text = "${" * 5000
    assert r(text) == text


# ------------------------------------------------------------------ special names


def test_task_id_special_name() -> None:
    assert r("${CPEWF_TASK_ID}", task_id="abc") == "abc"
    assert r("id-${CPEWF_TASK_ID}", task_id="abc") == "id-abc"
    assert r("${CPEWF_TASK_ID}") is None


def test_netflix_env_names_come_from_env() -> None:
    env = {"NETFLIX_ENV": "prod", "NETFLIX_STACK": "blue"}
    assert r("${NETFLIX_ENV}-${NETFLIX_STACK}", env=env) == "prod-blue"
    assert r("${NETFLIX_ENV}") is None
    assert r("${NETFLIX_STACK}", env={}) is None


def test_any_env_key_is_a_special_name() -> None:
    assert r("${REGION}", env={"REGION": "eu"}) == "eu"
    assert r("${REGION}") is None


def test_env_wins_over_document_for_dotless_names() -> None:
    assert resolve("${t1}", {"t1": {"x": 1}}, env={"t1": "env"}) == "env"
    assert resolve("${t1}", {"t1": {"x": 1}}) == {"x": 1}


def test_env_is_not_used_for_dotted_paths() -> None:
    assert r("${workflow.input.name}", env={"workflow.input.name": "no"}) == "ada"


def test_os_environ_is_not_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NETFLIX_ENV", "from-os")
    monkeypatch.setenv("PODIUM_TEST_VAR", "from-os")
    assert r("${NETFLIX_ENV}") is None
    assert r("${PODIUM_TEST_VAR}") is None


# ------------------------------------------------------------------ secrets


@pytest.mark.parametrize(
    "template",
    ["${workflow.secrets.api_key}", "Bearer ${workflow.secrets.api_key}", "${ workflow.secrets.x }"],
)
def test_secrets_are_left_literal(template: str) -> None:
    assert r(template) == template


def test_secret_name_from_nested_expression() -> None:
    assert r("${workflow.secrets.${workflow.input.name}}") == "${workflow.secrets.ada}"


def test_secrets_are_left_literal_even_if_present_in_document() -> None:
    doc = {"workflow": {"secrets": {"k": "leak"}}}
    assert resolve("${workflow.secrets.k}", doc) == "${workflow.secrets.k}"


# ------------------------------------------------------------------ JSONPath features


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${t1.output.items[?(@.ok==true)]}", [{"id": 1, "ok": True, "price": 10}]),
        ("${t1.output.items[?(@.ok == true)].id}", [1]),
        ("${t1.output.items[?(@.price > 15)].id}", [2]),
        ("${t1.output.items[?(@.id == 1 || @.id == 2)].id}", [1, 2]),
        ("${t1.output.items[?(@.price > 5 && @.ok == false)].id}", [2]),
        ("${t1.output.items[?(@.id == 3)]}", []),
        ("${t1.output.absent[?(@.id == 3)]}", []),
        ("${t1.output.items[*].id}", [1, 2]),
        ("${t1.output.items[*].absent}", []),
        ("${t1.output.map.*}", [1, 2]),
        ("${t1.output..id}", [1, 2, 99]),
        ("${t1.output.nums[0:2]}", [4, 1]),
        ("${t1.output.nums[0,2]}", [4, 7]),
        ("${t1.output.items[0:1].id}", [1]),
    ],
)
def test_indefinite_paths_return_lists(template: str, expected: list[Any]) -> None:
    assert r(template) == expected


def test_filter_with_string_comparison() -> None:
    doc = {"t": {"output": {"l": [{"n": "a b"}, {"n": "c"}]}}}
    assert resolve("${t.output.l[?(@.n == 'a b')]}", doc) == [{"n": "a b"}]
    assert resolve('${t.output.l[?(@.n == "c")].n}', doc) == ["c"]


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${t1.output.items.length()}", 2),
        ("${t1.output.items.size()}", 2),
        ("${t1.output.map.length()}", 2),
        ("${t1.output.text.length()}", 4),
        ("${t1.output.empty.length()}", 0),
        ("${t1.output.items[*].id.length()}", 2),
        ("${t1.output.items[?(@.ok==true)].length()}", 1),
        ("${t1.output.nums.min()}", 1.0),
        ("${t1.output.nums.max()}", 7.0),
        ("${t1.output.nums.sum()}", 12.0),
        ("${t1.output.nums.avg()}", 4.0),
        ("${t1.output.items[*].price.sum()}", 30.0),
        ("${t1.output.absent.length()}", None),
        ("${t1.output.empty.sum()}", None),
        ("${t1.output.text.max()}", None),
    ],
)
def test_functions(template: str, expected: Any) -> None:
    result = r(template)
    assert result == expected
    assert type(result) is type(expected)


def test_function_result_in_text() -> None:
    assert r("${t1.output.items.length()} items") == "2 items"


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${t1.output['my key']}", "spaced"),
        ('${t1.output["my key"]}', "spaced"),
        ("${t1.output['my-key']}", "dashed"),
        ("${t1.output.my-key}", "dashed"),
        ("${t1['output']['nested']['deep'].id}", 99),
        ("${['t1'].output.text}", "abcd"),
    ],
)
def test_bracket_and_unusual_keys(template: str, expected: Any) -> None:
    assert r(template) == expected


# ------------------------------------------------------------------ deep structures


def test_deep_structure_is_walked() -> None:
    template = {
        "name": "${workflow.input.name}",
        "static": 5,
        "list": ["${t1.output.items[0].id}", {"x": "n=${workflow.input.count}"}, [True, None, "${}"]],
        "tuple": ("${workflow.input.flag}", "t"),
        "${workflow.input.name}": "keys are not resolved",
    }
    assert r(template) == {
        "name": "ada",
        "static": 5,
        "list": [1, {"x": "n=3"}, [True, None, ""]],
        "tuple": [True, "t"],
        "${workflow.input.name}": "keys are not resolved",
    }


def test_input_is_not_mutated_and_containers_are_new() -> None:
    template: dict[str, Any] = {"a": "${workflow.input.name}", "b": ["${t1.output.nums}", {"c": "x"}]}
    template["d"] = {"e": 1}
    before = copy.deepcopy(template)
    document = copy.deepcopy(DOC)
    result = resolve(template, document)
    assert template == before
    assert document == DOC
    assert result is not template
    assert result["b"] is not template["b"]
    assert result["b"][1] is not template["b"][1]
    assert result["d"] is not template["d"]


def test_large_template() -> None:
    doc = {"workflow": {"input": {f"k{i}": i for i in range(500)}}, "t": {"output": {"v": list(range(500))}}}
    template: dict[str, Any] = {
        f"f{i}": [f"${{workflow.input.k{i}}}", f"v${{t.output.v[{i}]}}", {"d": f"${{workflow.input.k{i}}}"}]
        for i in range(500)
    }
    template["joined"] = " ".join(f"${{workflow.input.k{i}}}" for i in range(500))
    result = resolve(template, doc)
    for i in range(500):
        assert result[f"f{i}"] == [i, f"v{i}", {"d": i}]
    assert result["joined"] == " ".join(str(i) for i in range(500))
    assert referenced_roots(template) == {"workflow", "t"}


def test_repeated_calls_see_current_document() -> None:
    doc: dict[str, Any] = {"t": {"output": {"v": 1}}}
    assert resolve("${t.output.v}", doc) == 1
    doc["t"]["output"]["v"] = 2
    assert resolve("${t.output.v}", doc) == 2
    assert resolve("${t.output.v.length()}", {"t": {"output": {"v": [1, 2, 3]}}}) == 3


# ------------------------------------------------------------------ referenced_roots


def test_referenced_roots_example() -> None:
    template = {"a": "${workflow.input.x}", "b": ["${t1.output.y} ${t2.input}"]}
    assert referenced_roots(template) == {"workflow", "t1", "t2"}


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("plain", set()),
        (42, set()),
        (None, set()),
        ("$${t1.output}", set()),
        ("${}", set()),
        ("${  }", set()),
        ("${CPEWF_TASK_ID} ${NETFLIX_ENV} ${NETFLIX_STACK}", set()),
        ("${t1}", {"t1"}),
        ("${$.t1.output}", {"t1"}),
        ("${['my task'].output}", {"my task"}),
        ("${t1[0]}", {"t1"}),
        ("${t1.output.items.length()}", {"t1"}),
        ("${t1.output.items[?(@.ok==true)]}", {"t1"}),
        ("${t1.output.${t2.output.key}}", {"t1", "t2"}),
        ("${${t2.output.ref}.output.x}", {"t2"}),
        ("${t1${t2.x}.y}", {"t2"}),
        ("${workflow.secrets.k}", {"workflow"}),
        ("${..id}", set()),
        ("${abc", set()),
        ({"k": ("${t3.x}", ["${t4.y}"])}, {"t3", "t4"}),
    ],
)
def test_referenced_roots(template: Any, expected: set[str]) -> None:
    assert referenced_roots(template) == expected


def test_referenced_roots_returns_frozenset() -> None:
    assert isinstance(referenced_roots({"a": "${t1.x}"}), frozenset)


# ------------------------------------------------------------------ has_expressions


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("${a}", True),
        ("x ${a.b} y", True),
        ("${}", True),
        ("${abc", True),
        ("$${a}", False),
        ("$${a} ${b}", True),
        ("plain", False),
        ("$ {a}", False),
        (5, False),
        (None, False),
        ({"a": [1, {"b": "${c}"}]}, True),
        ({"a": [1, {"b": "c"}], "${k}": "v"}, False),
        ([], False),
    ],
)
def test_has_expressions(template: Any, expected: bool) -> None:
    assert has_expressions(template) is expected
