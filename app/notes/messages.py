"""Messages of the notes domain, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.not-note-author": {"ko": "작성자만 할 수 있습니다", "en": "Author only"},
        "problem.note-exists": {"ko": "이미 있는 메모입니다", "en": "Note exists"},
        "notes.author-only": {
            "ko": "메모는 작성자만 수정하거나 삭제할 수 있습니다.",
            "en": "Only its author may edit or delete a note.",
        },
        "notes.exists": {
            "ko": "이 id의 메모가 이미 있습니다. 수정하려면 PATCH를 쓰세요.",
            "en": "A note with this id exists; edit it with PATCH.",
        },
        "notes.if-match-required": {
            "ko": "메모를 수정하려면 If-Match 헤더에 현재 ETag를 보내야 합니다.",
            "en": "Editing a note needs its current ETag in If-Match.",
        },
        "notes.target-immutable": {
            "ko": "메모의 대상(방문·가구·사례)은 바꿀 수 없습니다.",
            "en": "A note's target (visit, household or case) cannot change.",
        },
        "notes.stale": {
            "ko": "메모가 그 사이 변경되었습니다(현재 버전 {version}).",
            "en": "The note changed meanwhile (now version {version}).",
        },
    }
)
