"""List and map functions: repeat (maps, permutations), map_merge, map_replace,
list_concat(_unique), contains, filter; and yaql."""

from __future__ import annotations

import pytest

from stratus.orchestration import functions_yaql
from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import Expr
from stratus.orchestration.functions_yaql import MAX_EXPRESSION
from tests.unit.orchestration._functions_ctx import Ctx, run

pytestmark = pytest.mark.orchestration

RT = Ctx({"ports": [80, 443], "nets": {"a": 1, "b": 2}}, runtime={"srv"})
IP = {"get_attr": ["srv", "ip"]}


# ----------------------------------------------------------------- repeat
def test_repeat_all_combinations_in_maps_and_keys():
    out = run({"repeat": {"template": {"port": "<%p%>", "proto": "<%t%>"},
                          "for_each": {"<%p%>": {"get_param": "ports"}, "<%t%>": ["tcp", "udp"]}}}, RT)
    assert out == [{"port": "80", "proto": "tcp"}, {"port": "80", "proto": "udp"},
                   {"port": "443", "proto": "tcp"}, {"port": "443", "proto": "udp"}]


def test_repeat_permutations_false_pairs_items_from_2017_09_01():
    args = {"template": "%a%-%b%", "for_each": {"%a%": ["1", "2"], "%b%": ["x", "y"]}, "permutations": False}
    assert run({"repeat": args}) == ["1-x", "2-y"]
    with pytest.raises(TemplateError, match="same length"):
        run({"repeat": {**args, "for_each": {"%a%": ["1"], "%b%": ["x", "y"]}}})
    with pytest.raises(TemplateError, match="'permutations' needs heat_template_version 2017-09-01"):
        run({"repeat": args}, version="2016-10-14")
    with pytest.raises(TemplateError, match="must be true or false"):
        run({"repeat": {**args, "permutations": "no"}})


def test_repeat_over_map_keys_from_2016_10_14():
    assert run({"repeat": {"template": "n=%n%", "for_each": {"%n%": {"get_param": "nets"}}}}, RT) == ["n=a", "n=b"]
    with pytest.raises(TemplateError, match="must be lists"):
        run({"repeat": {"template": "%n%", "for_each": {"%n%": {"a": 1}}}}, version="2016-04-08")


def test_repeat_keeps_run_time_values_and_refuses_run_time_lists():
    out = run({"repeat": {"template": {"ip": IP, "i": "%i%"}, "for_each": {"%i%": ["1", "2"]}}}, RT)
    assert [o["i"] for o in out] == ["1", "2"] and all(isinstance(o["ip"], Expr) for o in out)
    with pytest.raises(TemplateError, match="'for_each' lists is only known"):
        run({"repeat": {"template": "%i%", "for_each": {"%i%": {"get_attr": ["srv", "ips"]}}}}, RT)


@pytest.mark.parametrize(("args", "words"), [
    ("x", "repeat takes {template:"),
    ({"template": "x"}, "repeat takes {template:"),
    ({"template": "x", "for_each": ["a"]}, "'for_each' of repeat must be a map"),
    ({"template": "x", "for_each": {"%a%": "abc"}}, "must be lists or maps"),
    ({"template": "x", "for_each": {}, "extra": 1}, "unknown key(s) extra"),
])
def test_repeat_bad_arguments(args, words):
    with pytest.raises(TemplateError) as exc:
        run({"repeat": args}, path=("resources", "sg", "properties", "rules"))
    assert exc.value.path == ("resources", "sg", "properties", "rules", "repeat")
    assert words in exc.value.message


# ----------------------------------------------------------------- maps
def test_map_merge_later_wins_and_none_is_empty():
    assert run({"map_merge": [{"a": 1, "b": 1}, None, {"b": 2, "ip": IP}]}, RT)["b"] == 2
    with pytest.raises(TemplateError, match="merges maps; \\[1\\] is not a map"):
        run({"map_merge": [{"a": 1}, [1]]})
    with pytest.raises(TemplateError, match="a map to merge is only known"):
        run({"map_merge": [{"a": 1}, {"get_attr": ["srv", "meta"]}]}, RT)
    with pytest.raises(TemplateError, match="needs heat_template_version 2016-04-08"):
        run({"map_merge": [{}]}, version="2015-10-15")


def test_map_replace_keys_and_values_with_collisions_refused():
    out = run({"map_replace": [{"k1": "v1", "k2": "v2"}, {"keys": {"k1": "K1"}, "values": {"v2": "V2"}}]})
    assert out == {"K1": "v1", "k2": "V2"}
    with pytest.raises(TemplateError, match="collides with a key of the input map"):
        run({"map_replace": [{"a": 1, "b": 2}, {"keys": {"a": "b"}}]})
    with pytest.raises(TemplateError, match="collides with a key of the output map"):
        run({"map_replace": [{"a": 1, "b": 2}, {"keys": {"a": "c", "b": "c"}}]})
    with pytest.raises(TemplateError, match="only 'keys' and 'values'"):
        run({"map_replace": [{"a": 1}, {"kees": {}}]})
    with pytest.raises(TemplateError, match="map_replace takes"):
        run({"map_replace": [{"a": 1}]})


# ----------------------------------------------------------------- lists
def test_list_concat_and_unique():
    assert run({"list_concat": [[1, 2], None, [2, 3]]}) == [1, 2, 2, 3]
    assert run({"list_concat_unique": [[1, 2], [2, {"a": 1}], [{"a": 1}]]}) == [1, 2, {"a": 1}]
    with pytest.raises(TemplateError, match="concatenates lists; 'x' is not a list"):
        run({"list_concat": [[1], "x"]})
    with pytest.raises(TemplateError, match="needs heat_template_version 2017-09-01"):
        run({"list_concat": [[1]]}, version="2017-02-24")


def test_list_concat_unique_keeps_a_run_time_value_apart_from_text_like_it():
    ctx = Ctx(runtime={"srv"})
    ip = run({"get_attr": ["srv", "ip"]}, ctx)
    out = run({"list_concat_unique": [[str(ip)], [IP, IP]]}, ctx)
    assert len(out) == 2 and not isinstance(out[0], Expr) and isinstance(out[1], Expr)


def test_contains():
    assert run({"contains": ["a", ["a", "b"]]}) is True
    assert run({"contains": [3, {"get_param": "ports"}]}, RT) is False
    with pytest.raises(TemplateError, match="second argument of contains must be a list"):
        run({"contains": ["a", {"a": 1}]})
    with pytest.raises(TemplateError, match="the list is only known"):
        run({"contains": ["a", {"get_attr": ["srv", "ips"]}]}, RT)


def test_filter_removes_values_from_2017_02_24():
    assert run({"filter": [[2, None], [1, 2, None, 3]]}) == [1, 3]
    assert run({"filter": [[], [1]]}) == [1]
    assert run({"filter": [[1], []]}) == []
    with pytest.raises(TemplateError, match="needs heat_template_version 2017-02-24 or later; this template is 2016-10-14"):
        run({"filter": [[1], [1]]}, version="2016-10-14")
    with pytest.raises(TemplateError, match=r"filter takes \[values_to_remove, list\]"):
        run({"filter": [1]})
    with pytest.raises(TemplateError) as exc:
        run({"filter": [[1], {"get_attr": ["srv", "ips"]}]}, RT, path=("outputs", "o", "value"))
    assert exc.value.path == ("outputs", "o", "value", "filter")
    assert "only known when the playbook runs" in exc.value.message


# ----------------------------------------------------------------- yaql
def test_yaql_evaluates_on_plan_time_data():
    assert run({"yaql": {"expression": "$.data.ports.select($ * 2).sum()", "data": {"ports": {"get_param": "ports"}}}},
               RT) == 1046
    assert run({"yaql": {"expression": "$.data.l.toSet()", "data": {"l": [2, 1, 2]}}}) == [1, 2]
    assert run({"yaql": {"expression": "dict(a => 1)"}}) == {"a": 1}


@pytest.mark.parametrize(("args", "words"), [
    ({"expression": "$.data.x.", "data": {}}, "bad expression"),
    ({"expression": 5}, "'expression' of yaql must be a string"),
    ({"data": {}}, "yaql takes {expression:"),
    ({"expression": "1", "other": 1}, "yaql takes {expression:"),
    ({"expression": "(" * 40 + "1" + ")" * 40}, "nests 40 brackets deep"),
    ({"expression": "1 + " * MAX_EXPRESSION + "1"}, "characters long"),
    ({"expression": "$.data.nope.foo()"}, "evaluating"),
    ({"expression": "range(1000).select($).sum()"}, "Collection length exceeds 200"),
])
def test_yaql_refuses_bad_or_unbounded_expressions(args, words):
    with pytest.raises(TemplateError) as exc:
        run({"yaql": args})
    assert words in exc.value.message
    assert exc.value.path == ("x", "yaql")


def test_yaql_stops_a_slow_expression(monkeypatch):
    monkeypatch.setattr(functions_yaql, "TIME_LIMIT", 0.2)
    slow = "range(150).select(range(150).select(range(150).len()).sum()).sum()"
    with pytest.raises(TemplateError, match="took longer than 0.2 s"):
        run({"yaql": {"expression": slow}})


def test_yaql_refuses_run_time_data():
    with pytest.raises(TemplateError, match="the data is only known when the playbook runs"):
        run({"yaql": {"expression": "$.data.ip", "data": {"ip": IP}}}, RT)
    with pytest.raises(TemplateError, match="needs heat_template_version 2016-10-14"):
        run({"yaql": {"expression": "1"}}, version="2016-04-08")
