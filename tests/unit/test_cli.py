from stratus import __version__
from stratus.cli.main import main


def test_version_prints_the_package_version(capsys):
    assert main(["version"]) == 0
    assert capsys.readouterr().out.strip() == __version__


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: stratus" in capsys.readouterr().out


# stratus compile / validate: one-line errors naming the template, -e, the offline state

import textwrap  # noqa: E402

import pytest  # noqa: E402

from stratus.orchestration import offline_state  # noqa: E402

TEMPLATE = textwrap.dedent("""\
    heat_template_version: 2018-08-31
    parameters:
      size: {type: number, default: 1}
      token: {type: string, hidden: true, default: s3cret}
    resources:
      pw: {type: OS::Heat::RandomString, properties: {length: 8}}
      t: {type: OS::Heat::TestResource, properties: {value: {get_attr: [pw, value]}, wait_secs: {get_param: size}}}
    """)


@pytest.fixture
def template(tmp_path):
    path = tmp_path / "web.yaml"
    path.write_text(TEMPLATE)
    return path


@pytest.mark.orchestration
@pytest.mark.parametrize(("text", "words"), [
    ("heat_template_version: 2018-08-31\nresources: [\n", "is not valid YAML"),
    ("heat_template_version: 2018-08-31\nresources:\n  a: {type: OS::Nope}\n",
     "resources.a.type: unknown resource type 'OS::Nope'"),
    ("heat_template_version: 2018-08-31\nresources:\n  f: {type: OS::Nova::Flavor, properties: {ram: 64, vcpus: 1}}\n",
     "resources.f.type: OS::Nova::Flavor needs the controller"),
    (TEMPLATE.replace("default: 1", "default: one"), "size"),
])
@pytest.mark.parametrize("command", ["compile", "validate"])
def test_bad_templates_get_one_line_with_the_template_path(tmp_path, capsys, command, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    assert main([command, str(path)]) == (0 if command == "validate" and "Flavor" in text else 1)
    err = capsys.readouterr().err
    if command == "validate" and "Flavor" in text:
        return  # validating needs no controller; only compiling makes the flavor
    assert err.startswith(f"stratus {command}: {path}: ") and words in err
    assert err.count("\n") == 1 and "Traceback" not in err


@pytest.mark.orchestration
def test_missing_files_and_bad_parameters_are_one_line_errors(template, tmp_path, capsys):
    assert main(["compile", str(tmp_path / "nope.yaml")]) == 1
    assert main(["validate", str(template), "-e", str(tmp_path / "nope-env.yaml")]) == 1
    assert main(["validate", str(template), "-P", "size"]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 3
    assert "nope.yaml" in lines[0] and "nope-env.yaml" in lines[1] and "'size' is not KEY=VALUE" in lines[2]


@pytest.mark.orchestration
def test_validate_takes_environments_and_lists_parameters_and_resources(template, tmp_path, capsys):
    env = tmp_path / "env.yaml"
    env.write_text("parameter_defaults:\n  size: 3\n")
    assert main(["validate", str(template), "-e", str(env)]) == 0
    out = capsys.readouterr().out
    assert "valid; 2 resource(s) in order: pw, t" in out
    assert "  size = 3" in out and "  token = ******" in out and "s3cret" not in out
    assert "  t: OS::Heat::TestResource (after pw)" in out


@pytest.mark.orchestration
def test_compile_reads_the_state_a_run_recorded(template, tmp_path, capsys):
    """What the playbook's last play records (stack_state's driver), the next compile
    reads: ids and the random string kept, a changed property updates, a dropped
    resource is deleted before the rest."""
    assert main(["compile", str(template), "-o", str(tmp_path / "one.yml")]) == 0
    assert "create: pw, t" in capsys.readouterr().out
    state = offline_state.default_path(template)
    assert state == tmp_path / ".stratus" / "web.sqlite" and not state.exists()  # compiling writes nothing
    record = {"resources": {
        "pw": {"id": "id-pw", "type": "OS::Heat::RandomString", "position": 0, "hosts": ["controller"],
               "properties": {"length": 8}, "attributes": {"value": "kept1234"}},
        "t": {"id": "id-t", "type": "OS::Heat::TestResource", "position": 1, "hosts": ["controller"],
              "properties": {}, "attributes": {}},
        "old": {"id": "id-old", "type": "OS::Heat::TestResource", "position": 2, "hosts": ["controller"],
                "properties": {"wait_secs": 2}, "attributes": {}},
    }, "outputs": {}}
    offline_state._driver.ensure_present(str(state), "web", record)
    assert main(["compile", str(template), "-o", str(tmp_path / "two.yml")]) == 0
    assert capsys.readouterr().out.strip().endswith("update: t; keep: pw; delete: old")
    text = (tmp_path / "two.yml").read_text()
    assert text.index("old: wait delete") < text.index("t: wait update")
    assert "'id': !unsafe 'id-t'" in text and "kept1234" in text
