"""Messages of consents' signed forms, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "problem.consent-form-unsupported-type": {
            "ko": "지원하지 않는 동의서 파일 형식입니다",
            "en": "Unsupported consent form type",
        },
        "problem.consent-form-exists": {
            "ko": "이 동의에는 이미 서명된 동의서가 있습니다",
            "en": "This consent already has a signed form",
        },
        "consent-forms.unsupported-type": {
            "ko": "서명된 동의서는 JPEG, PNG, HEIC, WebP 사진이나 PDF로 올려 주세요.",
            "en": "Upload the signed form as a JPEG, PNG, HEIC or WebP photo, or as a PDF.",
        },
        "consent-forms.too-large": {
            "ko": "동의서 파일은 최대 {limit}바이트까지 올릴 수 있습니다.",
            "en": "Consent forms are limited to {limit} bytes.",
        },
        "consent-forms.empty": {"ko": "빈 파일은 올릴 수 없습니다.", "en": "An empty file cannot be uploaded."},
        "consent-forms.exists": {
            "ko": "동의서는 바꿀 수 없습니다. 잘못된 동의서라면 동의를 철회하고 새로 기록해 주세요.",
            "en": "A signed form cannot be replaced; if it is the wrong one, withdraw the consent and record it again.",
        },
    }
)
