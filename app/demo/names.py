"""Invented Korean names, places and phrases for the demo district, drawn from syllable tables.

Nothing here is copied from a real person: names are a common surname plus two syllables picked at
random, addresses are roads of an invented district (온기구, code 11990), and phone numbers use a middle
block that starts with 0 (``010-0xxx-xxxx``), which is never assigned to a real line.
"""

from __future__ import annotations

import random

#: The dongs of 온기구, in the order of app.demo.seed.DONGS.
DONG_NAMES = (
    "온기1동",
    "온기2동",
    "햇살동",
    "다온동",
    "누리동",
    "한빛동",
    "솔내동",
    "새봄동",
    "가람동",
    "별빛동",
    "미리내동",
    "도담동",
)
ROADS = (
    "온기로",
    "온정로",
    "햇살로",
    "다온로",
    "누리로",
    "한빛로",
    "솔내로",
    "새봄로",
    "가람로",
    "별빛로",
    "미리내로",
    "도담로",
)
APARTMENTS = ("온기마을", "햇살누리", "다온", "한빛그린", "솔내힐", "새봄타운", "가람", "별빛", "미리내", "도담")

#: Surnames weighted roughly as they occur.
SURNAMES = (
    ("김", 21),
    ("이", 14),
    ("박", 8),
    ("최", 5),
    ("정", 4),
    ("강", 2),
    ("조", 2),
    ("윤", 2),
    ("장", 2),
    ("임", 2),
    ("한", 1),
    ("오", 1),
    ("서", 1),
    ("신", 1),
    ("권", 1),
    ("황", 1),
    ("안", 1),
    ("송", 1),
    ("전", 1),
    ("홍", 1),
    ("유", 1),
    ("고", 1),
    ("문", 1),
    ("양", 1),
    ("손", 1),
)
_SURNAME_POOL = tuple(s for s, w in SURNAMES for _ in range(w))

_OLDER_MALE = (
    ("영", "정", "성", "상", "동", "재", "종", "병", "광", "용", "만", "춘"),
    ("수", "호", "철", "식", "기", "석", "환", "남", "규", "복", "길", "근"),
)
_OLDER_FEMALE = (
    ("영", "순", "정", "옥", "명", "말", "분", "춘", "금", "복", "경", "정"),
    ("자", "순", "희", "숙", "옥", "례", "남", "녀", "덕", "선", "애", "임"),
)
_MIDDLE_MALE = (
    ("민", "준", "현", "태", "승", "진", "성", "재", "동", "지", "상", "형"),
    ("수", "호", "우", "민", "석", "준", "훈", "환", "철", "기", "혁", "욱"),
)
_MIDDLE_FEMALE = (
    ("미", "은", "지", "수", "혜", "선", "현", "경", "정", "유", "소", "윤"),
    ("영", "정", "희", "진", "경", "숙", "미", "연", "아", "주", "라", "선"),
)
_YOUNG = (
    ("서", "하", "지", "도", "민", "예", "시", "수", "주", "윤", "은", "채", "유", "이"),
    ("준", "윤", "우", "은", "아", "연", "원", "호", "율", "린", "진", "빈", "안", "현"),
)


def person_name(rng: random.Random, birth_year: int, female: bool, this_year: int) -> str:
    age = this_year - birth_year
    if age >= 60:
        table = _OLDER_FEMALE if female else _OLDER_MALE
    elif age >= 25:
        table = _MIDDLE_FEMALE if female else _MIDDLE_MALE
    else:
        table = _YOUNG
    return rng.choice(_SURNAME_POOL) + rng.choice(table[0]) + rng.choice(table[1])


def staff_name(rng: random.Random) -> str:
    table = _MIDDLE_FEMALE if rng.random() < 0.6 else _MIDDLE_MALE
    return rng.choice(_SURNAME_POOL) + rng.choice(table[0]) + rng.choice(table[1])


def fake_mobile(rng: random.Random) -> str:
    return f"010-0{rng.randrange(1000):03d}-{rng.randrange(10000):04d}"


def fake_office_phone(rng: random.Random) -> str:
    return f"02-0{rng.randrange(100, 1000)}-{rng.randrange(10000):04d}"


def address(rng: random.Random, dong_index: int) -> tuple[str, str | None, str]:
    """(address, address_detail, housing kind) in the given dong."""
    road = ROADS[dong_index % len(ROADS)]
    kind = rng.choices(
        ("apartment", "villa", "semi_basement", "goshiwon", "rooftop", "detached"), (30, 30, 12, 10, 6, 12)
    )[0]
    if kind == "apartment":
        name = APARTMENTS[(dong_index + rng.randrange(3)) % len(APARTMENTS)]
        main = f"서울특별시 온기구 {road} {rng.randrange(10, 300)} ({name}아파트)"
        detail = f"{rng.randrange(101, 112)}동 {rng.randrange(1, 16)}{rng.randrange(1, 5):02d}호"
    else:
        main = f"서울특별시 온기구 {road}{rng.randrange(1, 40)}길 {rng.randrange(1, 120)}"
        detail = {
            "villa": f"{rng.randrange(1, 5)}층 {rng.randrange(1, 5)}0{rng.randrange(1, 4)}호",
            "semi_basement": f"지하 1층 B0{rng.randrange(1, 4)}호",
            "goshiwon": f"{rng.randrange(2, 5)}층 {rng.randrange(1, 30):02d}호 (고시원)",
            "rooftop": "옥탑방",
            "detached": None,
        }[kind]
    return main, detail, kind


LIVING = {
    "apartment": ("임대아파트, 관리비 체납 중", "영구임대아파트 단독 거주", "아파트, 거동 불편으로 외출 거의 없음"),
    "villa": ("다세대주택 2층, 겨울철 외풍 심함", "빌라 월세, 보증금 소진", "다세대주택, 보일러 고장 방치"),
    "semi_basement": (
        "반지하 단칸방, 습기와 곰팡이",
        "반지하, 여름철 침수 이력",
        "반지하, 난방비 부담으로 전기장판만 사용",
    ),
    "goshiwon": ("고시원 1.5평, 창문 없음", "고시원 장기 거주, 공용 주방 이용 못함", "고시원, 월세 2개월 밀림"),
    "rooftop": ("옥탑방, 겨울철 동파 우려", "옥탑방, 계단 이용 어려움"),
    "detached": ("노후 단독주택, 연탄 난방", "단독주택 문간방 임차", "무허가 건물, 화장실 외부"),
}

OBSERVATIONS = (
    "현관 앞 우편물과 고지서가 쌓여 있음",
    "집 안 온도가 낮고 전기장판 하나로 지냄",
    "냉장고에 음식이 거의 없음, 끼니를 자주 거른다고 함",
    "이웃과 왕래가 없고 최근 외출하지 않았다고 함",
    "복용 중인 약이 떨어졌으나 병원 방문을 미루고 있음",
    "가스 공급이 중단되어 휴대용 버너 사용 중",
    "집 안에 물건이 많이 쌓여 있어 통로 확보가 어려움",
    "자녀와 연락이 끊긴 지 오래되었다고 함",
    "실직 후 소득이 없어 월세가 밀림",
    "음주 빈도가 높아 보임, 본인은 부인함",
    "방문을 반가워하며 대화를 오래 이어감",
    "건강보험료 체납으로 병원 이용을 꺼림",
    "겨울 이불과 난방용품이 부족함",
    "계단 이용이 어려워 장보기를 하지 못함",
    "기초생활보장 신청 방법을 모른다고 함",
)
CONSULTATIONS = (
    "긴급복지 생계지원 신청 안내, 서류 준비 도움 약속",
    "복지관 밑반찬 배달 서비스 연계 동의",
    "에너지바우처 신청서 작성 지원",
    "의료급여 수급 가능성 검토 필요",
    "노인맞춤돌봄서비스 신청, 주 2회 안부 확인 예정",
    "푸드뱅크 식료품 꾸러미 지원 연계",
    "자활센터 일자리 상담 일정 잡음",
    "주거환경 개선 사업 대상 여부 확인 예정",
    "정신건강복지센터 상담 권유, 본인 검토 중",
    "본인이 도움을 원하지 않음, 다음 달 재방문 예정",
    "통장 압류 관련 법률상담 연계",
    "동 주민센터 방문 동행 약속",
)
CONFERENCE = (
    "통합사례회의: 생계·의료 욕구 우선, 복지관과 역할 분담",
    "사례회의 결과 긴급지원 후 기초생활보장 신청 진행",
    "민관 협력 회의: 주거 이전 지원 방안 논의",
    "사례회의: 알코올 문제 개입 위해 정신건강복지센터 참여 요청",
)
OUTCOMES = (
    "대상자 면담 완료, 위기 사유 확인",
    "초기 상담 후 지원 서비스 안내",
    "고독사 위험군 선별 검사 실시",
    "사후관리 방문, 지원 후 생활 안정 확인",
    "민관 합동 방문, 서비스 연계 계획 수립",
)
REPORT_OBSERVATIONS = (
    "며칠째 불이 꺼져 있고 인기척이 없습니다",
    "현관문 앞에 우유와 신문이 쌓여 있습니다",
    "어르신이 겨울인데 난방 없이 지내시는 것 같습니다",
    "밤마다 큰 소리로 다투는 소리가 들립니다",
    "관리비가 6개월째 밀려 있다고 관리사무소에서 알려왔습니다",
    "혼자 사시는 분이 최근 많이 야위셨습니다",
    "쓰레기가 집 밖까지 쌓여 악취가 납니다",
    "아이들이 늦게까지 밥을 먹지 못한 채 밖에 있습니다",
)
