"""String functions: str_replace (+ strict, vstrict), list_join, str_split, digest,
make_url — plan-time results, run-time expressions (rendered by Ansible), bad arguments."""

from __future__ import annotations

import hashlib

import pytest

from stratus.orchestration.errors import TemplateError
from stratus.orchestration.functions import Expr
from tests.unit.orchestration._functions_ctx import Ctx, render, run

pytestmark = pytest.mark.orchestration

EVIL = "{{ lookup('pipe', 'id') }}"
RT = Ctx({"name": "web", "l": ["a", "b"], "empty": ""}, runtime={"srv"})
HOSTVARS = {"srv": {"ip": "10.0.0.7", "v6": "fd00::1", "ips": ["10.0.0.7", "10.0.0.8"], "port": 8080,
                    "path": "a b/c", "cfg": {"k": [1]}}}


def attr(name: str) -> dict:
    return {"get_attr": ["srv", name]}


# ----------------------------------------------------------------- str_replace
def test_str_replace_longest_placeholder_first_and_values_are_not_replaced_again():
    out = run({"str_replace": {"template": "$a $ab $b", "params": {"$a": "$b", "$ab": "X", "$b": "Y"}}})
    assert out == "$b X Y"


def test_str_replace_writes_numbers_and_json_and_none():
    out = run({"str_replace": {"template": "n=N l=L m=M z=Z", "params": {
        "N": 3, "L": [1, "a"], "M": {"b": 1, "a": 2}, "Z": None}}})
    assert out == 'n=3 l=[1, "a"] m={"a": 2, "b": 1} z='


def test_str_replace_before_2015_10_15_takes_strings_or_numbers_only():
    with pytest.raises(TemplateError, match="strings or numbers"):
        run({"str_replace": {"template": "L", "params": {"L": [1]}}}, version="2015-04-30")


def test_str_replace_with_run_time_values_is_one_safe_expression():
    e = run({"str_replace": {"template": "http://HOST:PORT/" + EVIL,
                             "params": {"HOST": attr("ip"), "PORT": attr("port")}}}, RT)
    assert isinstance(e, Expr)
    assert render(e, HOSTVARS) == "http://10.0.0.7:8080/" + EVIL
    lists = run({"str_replace": {"template": "cfg=C", "params": {"C": attr("cfg")}}}, RT)
    assert render(lists, HOSTVARS) == 'cfg={"k": [1]}'


@pytest.mark.parametrize(("args", "words"), [
    ("text", "str_replace takes {template:"),
    ({"template": "x"}, "str_replace takes {template:"),
    ({"template": "x", "params": ["a"]}, "params must be a map"),
    ({"template": 5, "params": {}}, "template must be a string"),
    ({"template": "x", "params": {1: "a"}}, "placeholders must be strings"),
])
def test_str_replace_bad_arguments(args, words):
    with pytest.raises(TemplateError) as exc:
        run({"str_replace": args}, path=("resources", "web", "properties", "name"))
    assert exc.value.path == ("resources", "web", "properties", "name", "str_replace")
    assert words in exc.value.message


def test_a_run_time_template_string_is_refused():
    with pytest.raises(TemplateError, match="only known when the playbook runs"):
        run({"str_replace": {"template": attr("ip"), "params": {"a": "b"}}}, RT)


def test_strict_needs_every_param_and_vstrict_non_empty_values():
    assert run({"str_replace_strict": {"template": "a b", "params": {"a": 1}}}) == "1 b"
    with pytest.raises(TemplateError, match="params c do not occur"):
        run({"str_replace_strict": {"template": "a b", "params": {"a": 1, "c": 2}}})
    assert run({"str_replace_vstrict": {"template": "a", "params": {"a": "x"}}}) == "x"
    for empty in ("", None, [], {}):
        with pytest.raises(TemplateError, match="param 'a' is empty or null"):
            run({"str_replace_vstrict": {"template": "a", "params": {"a": empty}}})
    with pytest.raises(TemplateError, match="needs heat_template_version 2017-02-24"):
        run({"str_replace_strict": {"template": "a", "params": {}}}, version="2016-10-14")


# ----------------------------------------------------------------- list_join
def test_list_join_several_lists_and_json_items():
    assert run({"list_join": [", ", ["a", "b"], ["c"]]}) == "a, b, c"
    assert run({"list_join": ["-", [{"k": 1}, [1], None]]}) == '{"k": 1}-[1]-'
    assert run({"list_join": [",", {"get_param": "l"}]}, RT) == "a,b"


def test_list_join_before_2015_10_15_takes_one_list_of_strings():
    assert run({"list_join": [",", ["a", "b"]]}, version="2013-05-23") == "a,b"
    with pytest.raises(TemplateError, match=r"list_join takes \[delimiter, \[item, ...\]\]"):
        run({"list_join": [",", ["a"], ["b"]]}, version="2015-04-30")
    with pytest.raises(TemplateError, match="must be strings"):
        run({"list_join": [",", [["a"]]]}, version="2015-04-30")


def test_list_join_of_run_time_items_and_lists():
    e = run({"list_join": [EVIL, ["x", attr("ip")]]}, RT)
    assert render(e, HOSTVARS) == "x" + EVIL + "10.0.0.7"
    whole = run({"list_join": [",", attr("ips")]}, RT)
    assert render(whole, HOSTVARS) == "10.0.0.7,10.0.0.8"
    with pytest.raises(TemplateError, match="a list to join is only known"):
        run({"list_join": [",", attr("ips"), ["x"]]}, RT)


@pytest.mark.parametrize("args", ["a", [","], [",", "notalist"], [1, ["a"]]])
def test_list_join_bad_arguments(args):
    with pytest.raises(TemplateError, match="list_join takes"):
        run({"list_join": args})


# ----------------------------------------------------------------- str_split
def test_str_split_with_and_without_index():
    assert run({"str_split": [",", "a,b,c"]}) == ["a", "b", "c"]
    assert run({"str_split": [",", "a,b,c", 1]}) == "b"
    assert run({"str_split": [",", "a,b,c", "2"]}) == "c"
    with pytest.raises(TemplateError, match="index 5 is out of range"):
        run({"str_split": [",", "a,b", 5]})
    with pytest.raises(TemplateError, match="str_split takes"):
        run({"str_split": "a,b"})
    with pytest.raises(TemplateError, match="needs heat_template_version 2015-10-15"):
        run({"str_split": [",", "a"]}, version="2015-04-30")


def test_str_split_of_a_run_time_value():
    assert render(run({"str_split": [".", attr("ip"), 3]}, RT), HOSTVARS) == "7"
    assert render(run({"str_split": [".", attr("ip")]}, RT), HOSTVARS) == ["10", "0", "0", "7"]


# ----------------------------------------------------------------- digest
def test_digest_plan_time_and_run_time():
    assert run({"digest": ["sha256", "abc"]}) == hashlib.sha256(b"abc").hexdigest()
    assert run({"digest": ["MD5", "abc"]}) == hashlib.md5(b"abc").hexdigest()
    assert render(run({"digest": ["sha1", attr("ip")]}, RT), HOSTVARS) == hashlib.sha1(b"10.0.0.7").hexdigest()
    with pytest.raises(TemplateError, match="unknown digest algorithm 'rot13'"):
        run({"digest": ["rot13", "abc"]})
    with pytest.raises(TemplateError, match=r"digest takes \[algorithm, value\]"):
        run({"digest": ["sha1"]})
    with pytest.raises(TemplateError, match="needs heat_template_version 2015-04-30"):
        run({"digest": ["sha1", "a"]}, version="2014-10-16")


# ----------------------------------------------------------------- make_url
def test_make_url_quotes_every_part():
    url = run({"make_url": {"scheme": "https", "username": "u@x", "password": "p/w", "host": "fd00::1",
                            "port": 8443, "path": "/a b", "query": {"q": "1 2", "p": "x/y"}, "fragment": "f g"}})
    assert url == "https://u%40x:p%2Fw@[fd00::1]:8443/a%20b?q=1+2&p=x/y#f%20g"
    assert run({"make_url": {"scheme": "http", "host": "example.com", "path": "x"}}) == "http://example.com/x"


def test_make_url_with_run_time_host_port_and_path():
    e = run({"make_url": {"scheme": "http", "host": attr("ip"), "port": attr("port"), "path": attr("path"),
                          "query": {"a": EVIL}}}, RT)
    assert render(e, HOSTVARS) == "http://10.0.0.7:8080/a%20b/c?a=%7B%7B+lookup%28%27pipe%27%2C+%27id%27%29+%7D%7D"
    v6 = run({"make_url": {"scheme": "http", "host": attr("v6")}}, RT)
    assert render(v6, HOSTVARS) == "http://[fd00::1]"


@pytest.mark.parametrize(("args", "words"), [
    ({"scheme": "http:", "host": "h"}, "must not contain ':'"),
    ({"host": "h", "port": 70000}, "must be in 1-65535"),
    ({"host": "h", "port": "x"}, "invalid URL port 'x'"),
    ({"host": "h", "colour": "red"}, "unknown key(s) colour"),
    ({"host": ["h"]}, "'host' of make_url must be a string"),
    ({"query": "a=b"}, "'query' of make_url must be a map"),
    ("http://x", "make_url takes a map"),
])
def test_make_url_bad_arguments(args, words):
    with pytest.raises(TemplateError) as exc:
        run({"make_url": args})
    assert words in exc.value.message


def test_make_url_refuses_a_run_time_query():
    with pytest.raises(TemplateError, match="the query is only known"):
        run({"make_url": {"host": "h", "query": {"a": attr("ip")}}}, RT)
