"""The three 30-item checklist templates of the full winter-district dataset (docs/performance.md#budget).

The shipped templates (app/checklists/templates) are the real ones and are always there; the benchmark
dataset adds these district templates so that phones sync three templates of thirty items each, as the
performance budget is measured on. They follow the checklist grammar of :mod:`app.checklists.rules`.
"""

from __future__ import annotations

from typing import Any

_YES_NO = (
    ("heating_stopped", "난방이 중단되었거나 사용하지 못한다", "Heating is cut off or unusable"),
    ("utilities_overdue", "전기·가스·수도 요금이 2개월 이상 밀렸다", "Utilities unpaid for two months or more"),
    ("meals_skipped", "하루 한 끼 이상 거르는 날이 많다", "Often skips one or more meals a day"),
    ("lives_alone", "혼자 살고 있다", "Lives alone"),
    ("no_contact", "가족·이웃과 연락이 거의 없다", "Hardly any contact with family or neighbours"),
    ("illness_untreated", "치료가 필요한 질병을 방치하고 있다", "Leaves an illness untreated"),
    ("rent_overdue", "월세·관리비가 밀려 있다", "Rent or maintenance fees are overdue"),
    ("debt_pressure", "빚 독촉을 받고 있다", "Pressed by creditors"),
    ("unsafe_home", "주거 환경이 위험하다 (누수·곰팡이·동파)", "The home is unsafe (leaks, mould, frozen pipes)"),
    ("low_mood", "우울하거나 삶의 의욕이 없어 보인다", "Seems depressed or without will"),
    ("alcohol", "음주 문제가 의심된다", "A drinking problem is suspected"),
    ("care_gap", "돌봄이 필요한 가구원이 방치되어 있다", "A member who needs care is left without it"),
)
_CHOICES = (
    ("income_source", "주된 소득원", "Main income", ("none", "work", "pension", "benefit", "family")),
    ("housing_tenure", "주거 형태", "Tenure", ("own", "jeonse", "monthly_rent", "free", "other")),
    ("heating_type", "난방 방식", "Heating", ("gas_boiler", "oil", "briquette", "electric", "none")),
    ("health_status", "건강 상태", "Health", ("good", "fair", "poor", "bedridden")),
    ("mobility", "거동", "Mobility", ("independent", "assisted", "unable")),
    ("contact_frequency", "가족 연락 빈도", "Family contact", ("weekly", "monthly", "yearly", "never")),
)
_MULTI = (
    ("needs", "필요한 지원", "Needs", ("livelihood", "medical", "housing", "food", "heating", "care")),
    ("services_now", "이용 중인 서비스", "Services in use", ("meal", "care", "visit_nurse", "none_yet")),
    ("referrals", "연계할 기관", "Refer to", ("welfare_center", "mental_health", "self_sufficiency", "legal")),
    ("risks_seen", "관찰된 위험", "Risks seen", ("cold", "hunger", "isolation", "injury", "hoarding")),
)
_NUMBERS = (
    ("household_size", "가구원 수", "Household size", 1, 12),
    ("arrears_months", "체납 개월 수", "Months in arrears", 0, 60),
    ("indoor_temp", "실내 온도", "Indoor temperature", -10, 35),
)
_DATES = (("crisis_since", "위기 발생 시점", "Crisis since"), ("next_visit", "다음 방문 예정일", "Next visit"))
_TEXTS = (("situation", "상황 요약", "Situation"), ("visitor_opinion", "방문자 의견", "Visitor's opinion"))

BENCH_KEYS = (
    ("ongi_home_visit", "온기구 가정방문 점검표", "Home visit check"),
    ("ongi_follow_up", "온기구 사후관리 점검표", "Follow-up check"),
    ("ongi_cold_wave", "온기구 한파 대응 점검표", "Cold-wave check"),
)


def _label(ko: str, en: str) -> dict[str, str]:
    return {"ko": ko, "en": en}


def bench_template(index: int) -> dict[str, Any]:
    """One of the three 30-item templates (index 0, 1, 2); each orders and weighs the items differently."""
    key, ko, en = BENCH_KEYS[index]
    items: list[dict[str, Any]] = []
    for i, (item_key, item_ko, item_en) in enumerate(_YES_NO):
        item: dict[str, Any] = {
            "key": item_key,
            "type": "boolean",
            "label": _label(item_ko, item_en),
            "required": i < 4,
            "weight": 1 + (i + index) % 3,
        }
        items.append(item)
    for item_key, item_ko, item_en, options in _CHOICES:
        items.append(
            {
                "key": item_key,
                "type": "single_choice",
                "label": _label(item_ko, item_en),
                "options": [{"value": o, "label": _label(o, o.replace("_", " "))} for o in options],
                "weight": {options[-1]: 2, options[-2]: 1},
            }
        )
    for item_key, item_ko, item_en, options in _MULTI:
        items.append(
            {
                "key": item_key,
                "type": "multi_choice",
                "label": _label(item_ko, item_en),
                "options": [{"value": o, "label": _label(o, o.replace("_", " "))} for o in options],
            }
        )
    for item_key, item_ko, item_en, low, high in _NUMBERS:
        items.append({"key": item_key, "type": "number", "label": _label(item_ko, item_en), "min": low, "max": high})
    for item_key, item_ko, item_en in _DATES:
        items.append({"key": item_key, "type": "date", "label": _label(item_ko, item_en)})
    for item_key, item_ko, item_en in _TEXTS:
        items.append({"key": item_key, "type": "text", "label": _label(item_ko, item_en)})
    items.append(
        {
            "key": "home_photo",
            "type": "photo",
            "label": _label("주거 환경 사진 (동의 시)", "Photo of the home (with consent)"),
            "visible_if": {"item": "unsafe_home", "equals": True},
        }
    )
    assert len(items) == 30
    bands = [
        {"min": 0, "max": 7, "band": "stable", "label": _label("안정", "Stable"), "risk_level": "low"},
        {"min": 8, "max": 15, "band": "watch", "label": _label("관찰 필요", "Watch"), "risk_level": "moderate"},
        {"min": 16, "band": "at_risk", "label": _label("위기 (집중 관리)", "At risk"), "risk_level": "high"},
    ]
    return {"key": key, "version": 1, "title": _label(ko, en), "items": items, "bands": bands}
