"""Messages of imports from other systems, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        "integrations.outside-jurisdiction": {
            "ko": "이 연계 계정의 관할 구역 밖 가구입니다.",
            "en": "The household lies outside this client's jurisdiction.",
        },
        "integrations.invalid-json": {"ko": "올바른 JSON 객체가 아닙니다.", "en": "Not a valid JSON object."},
        "integrations.invalid-utf8": {"ko": "UTF-8로 읽을 수 없습니다.", "en": "Not valid UTF-8."},
        "integrations.line-too-long": {
            "ko": "한 줄은 최대 {limit}바이트입니다.",
            "en": "A line is limited to {limit} bytes.",
        },
        "integrations.unsupported-media-type": {
            "ko": "본문은 NDJSON(application/x-ndjson)이어야 합니다.",
            "en": "The body must be NDJSON (application/x-ndjson).",
        },
        "integrations.missing-column": {
            "ko": "필수 열이 없습니다: {columns}",
            "en": "Required column(s) missing: {columns}",
        },
        "integrations.upload-multipart": {
            "ko": "본문은 file 필드에 CSV 또는 XLSX 파일을 담은 multipart/form-data여야 합니다.",
            "en": "The body must be multipart/form-data with a CSV or XLSX file in the file field.",
        },
        "integrations.upload-malformed": {
            "ko": "multipart 본문을 읽을 수 없습니다.",
            "en": "The multipart body cannot be read.",
        },
        "integrations.upload-format": {
            "ko": "CSV(.csv) 또는 엑셀(.xlsx) 파일만 가져올 수 있습니다.",
            "en": "Only CSV (.csv) or Excel (.xlsx) files can be imported.",
        },
        "integrations.unknown-source": {"ko": "알 수 없는 출처입니다.", "en": "Unknown source."},
        "integrations.unknown-sheet": {
            "ko": "통합 문서에 그런 시트가 없습니다.",
            "en": "The workbook has no such sheet.",
        },
        "integrations.unreadable-file": {
            "ko": "파일을 읽을 수 없습니다(손상되었거나 형식이 다릅니다).",
            "en": "The file cannot be read (damaged, or not of its format).",
        },
        "integrations.xlsx-too-large": {
            "ko": "통합 문서의 압축을 풀면 {total_mib} MiB입니다. 최대 {limit_mib} MiB까지 읽습니다.",
            "en": "The workbook unpacks to {total_mib} MiB; at most {limit_mib} MiB is read.",
        },
        "problem.import-running": {"ko": "가져오기가 아직 진행 중입니다", "en": "The import is still running"},
        "integrations.import-running": {
            "ko": "가져오기가 끝나면 결과를 받을 수 있습니다. 잠시 후 다시 요청하세요.",
            "en": "The results are ready once the import is done; ask again shortly.",
        },
    }
)
