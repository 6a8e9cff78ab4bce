import pytest

from mactl.errors import RecipeError
from mactl.recipe import StrictModel, load_section


class Rule(StrictModel):
    field: str
    points: int


class Section(StrictModel):
    rules: list[Rule]


def test_every_problem_is_reported_with_its_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("scoring:\n  rules:\n    - field: title\n      points: ten\n    - feild: x\n      points: 3\n")
    with pytest.raises(RecipeError) as info:
        load_section(path, "scoring", Section)
    problems = info.value.problems
    assert "line 4: scoring.rules[0].points: Input should be a valid integer, unable to parse string as an integer" in problems
    assert "line 5: scoring.rules[1].feild: unknown field (check the spelling)" in problems
    assert any(p.startswith("line 5: scoring.rules[1].field: Field required") for p in problems)
    assert str(info.value).startswith(f"{path}: 3 problems:")


def test_invalid_yaml_names_the_line(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("scoring:\n  rules: [\n")
    with pytest.raises(RecipeError, match=r"line \d+: invalid YAML"):
        load_section(path, "scoring", Section)


def test_missing_recipe_file(tmp_path):
    with pytest.raises(Exception, match="recipe file not found"):
        load_section(tmp_path / "nope.yaml", "scoring", Section)


def test_absent_optional_section_is_none(tmp_path):
    path = tmp_path / "r.yaml"
    path.write_text("other: {}\n")
    assert load_section(path, "scoring", Section) is None
