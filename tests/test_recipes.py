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
