"""Messages of winter operations, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.task-already-done": {"ko": "이미 완료된 과업입니다", "en": "Task already done"},
        "winter.task-already-done": {
            "ko": "이 과업은 이미 완료되었습니다. 먼저 완료된 결과가 유지됩니다.",
            "en": "This task is already done; the first completion stands.",
        },
        "winter.task-not-assignee": {
            "ko": "이 과업의 담당자나 관할 조정자만 완료할 수 있습니다.",
            "en": "Only the task's assignee or a coordinator of its area may complete it.",
        },
        "winter.dong-outside-jurisdiction": {
            "ko": "관할 밖의 동이 있습니다: {codes}",
            "en": "Some dongs are outside your jurisdiction: {codes}",
        },
        "winter.alert-id-taken": {
            "ko": "이 id의 경보는 다른 사용자가 이미 만들었습니다.",
            "en": "An alert with this id was created by someone else.",
        },
        "winter.task-outcome-invalid": {
            "ko": "완료 결과가 올바르지 않습니다: {outcome}",
            "en": "Invalid task outcome: {outcome}",
        },
    }
)
