"""Every recipe shipped under recipes/ loads and validates."""

from conftest import RECIPES

from mactl.importing.sources import load_sources


def test_sources_recipe_is_valid():
    rules = load_sources(RECIPES / "sources.yaml")
    assert [r.name for r in rules] == ["partner-salon", "wechat-followers", "us-webinar"]
    assert rules[0].columns["联系人手机(必填)"] == "phone"
    assert rules[0].matches("合作伙伴沙龙_0915.xlsx", "签到表")
    assert not rules[0].matches("合作伙伴沙龙_0915.xlsx", "Sheet1")
    assert rules[2].timezone == "America/Los_Angeles"


def test_identity_recipe_is_valid():
    from mactl.identity import load_identity_recipe

    recipe = load_identity_recipe(RECIPES / "identity.yaml")
    assert recipe.rules == ["exact_email", "exact_phone", "exact_wechat", "exact_crm_id", "name_company", "email_typo"]
    assert recipe.survivorship == {"title": "most_recent", "city": "most_recent"}


def test_invalid_identity_recipe_lists_problems(tmp_path):
    import pytest

    from mactl.errors import RecipeError
    from mactl.identity import load_identity_recipe

    path = tmp_path / "r.yaml"
    path.write_text("identity:\n  rules: [exact_fax]\n  survivorship: {title: newest}\n", encoding="utf-8")
    with pytest.raises(RecipeError) as info:
        load_identity_recipe(path)
    assert info.value.problems == [
        "line 2: identity.rules: Value error, unknown rule(s) exact_fax; rules are exact_email, exact_phone, exact_wechat, exact_crm_id, name_company, email_typo",
        "line 3: identity.survivorship: Value error, unknown rule 'newest' for title; rules are source_priority, most_recent, most_frequent, most_complete",
    ]
