"""Messages of uploads and photos, in Korean and English."""

from __future__ import annotations

from app.core.i18n import register

register(
    {
        # problem titles
        "problem.tus-version-unsupported": {
            "ko": "지원하지 않는 tus 버전입니다",
            "en": "Unsupported tus version",
        },
        "problem.upload-offset-mismatch": {"ko": "업로드 위치가 맞지 않습니다", "en": "Upload offset mismatch"},
        "problem.upload-busy": {"ko": "업로드가 처리 중입니다", "en": "Upload busy"},
        "problem.upload-gone": {"ko": "더 이상 없는 업로드입니다", "en": "Upload gone"},
        "problem.upload-lost": {"ko": "업로드된 데이터를 잃었습니다", "en": "Upload data lost"},
        "problem.checksum-mismatch": {"ko": "체크섬이 일치하지 않습니다", "en": "Checksum mismatch"},
        "problem.checksum-algorithm-unsupported": {
            "ko": "지원하지 않는 체크섬 알고리즘입니다",
            "en": "Unsupported checksum algorithm",
        },
        "problem.upload-hash-mismatch": {
            "ko": "파일의 sha256이 일치하지 않습니다",
            "en": "File sha256 mismatch",
        },
        "problem.unsupported-image-type": {
            "ko": "지원하지 않는 사진 형식입니다",
            "en": "Unsupported image type",
        },
        "problem.image-unreadable": {"ko": "사진을 읽을 수 없습니다", "en": "Unreadable image"},
        "problem.image-too-large": {"ko": "사진이 너무 큽니다", "en": "Image too large"},
        "problem.photo-exists": {"ko": "이미 다른 사진이 있습니다", "en": "Photo already exists"},
        "problem.range-not-satisfiable": {
            "ko": "요청한 범위를 제공할 수 없습니다",
            "en": "Range not satisfiable",
        },
        # details
        "uploads.tus-version": {
            "ko": "Tus-Resumable 헤더는 {version}이어야 합니다.",
            "en": "The Tus-Resumable header must be {version}.",
        },
        "uploads.bad-header": {
            "ko": "{header} 헤더가 없거나 올바르지 않습니다.",
            "en": "The {header} header is missing or invalid.",
        },
        "uploads.bad-metadata": {
            "ko": "Upload-Metadata 헤더를 해석할 수 없습니다 (키와 base64 값의 쉼표 목록이어야 합니다).",
            "en": "Upload-Metadata cannot be parsed (it is a comma-separated list of keys and base64 values).",
        },
        "uploads.defer-unsupported": {
            "ko": "Upload-Defer-Length는 지원하지 않습니다. Upload-Length를 보내세요.",
            "en": "Upload-Defer-Length is not supported; send Upload-Length.",
        },
        "uploads.empty": {"ko": "빈 파일은 올릴 수 없습니다.", "en": "An empty file cannot be uploaded."},
        "uploads.too-large": {
            "ko": "파일은 최대 {limit}바이트까지 올릴 수 있습니다.",
            "en": "Files are limited to {limit} bytes.",
        },
        "uploads.beyond-length": {
            "ko": "보낸 데이터가 Upload-Length({length}바이트)를 넘습니다.",
            "en": "The data goes beyond Upload-Length ({length} bytes).",
        },
        "uploads.content-type": {
            "ko": "PATCH 본문의 Content-Type은 application/offset+octet-stream이어야 합니다.",
            "en": "A PATCH body must have Content-Type application/offset+octet-stream.",
        },
        "uploads.offset-mismatch": {
            "ko": "Upload-Offset이 서버의 위치({offset})와 다릅니다. HEAD로 위치를 확인한 뒤 이어서 보내세요.",
            "en": "Upload-Offset differs from the server's offset ({offset}). Ask with HEAD and resume from there.",
        },
        "uploads.busy": {
            "ko": "이 업로드에 다른 요청이 진행 중입니다. 잠시 후 HEAD로 위치를 확인하고 다시 시도하세요.",
            "en": "Another request is working on this upload. Ask with HEAD shortly and try again.",
        },
        "uploads.gone": {
            "ko": "이 업로드는 만료되었거나 취소되었거나 거부되었습니다. 새 업로드를 만드세요.",
            "en": "This upload expired, was terminated or was refused. Create a new upload.",
        },
        "uploads.checksum-unsupported": {
            "ko": "Upload-Checksum 알고리즘은 {algorithms} 중 하나여야 합니다.",
            "en": "The Upload-Checksum algorithm must be one of {algorithms}.",
        },
        "uploads.checksum-mismatch": {
            "ko": "이번 조각의 {algorithm} 체크섬이 맞지 않아 버렸습니다. 같은 위치부터 다시 보내세요.",
            "en": "The chunk's {algorithm} checksum did not match; it was discarded. Resend it from the same offset.",
        },
        "uploads.hash-mismatch": {
            "ko": "받은 파일의 sha256이 Upload-Metadata의 sha256과 다릅니다. 업로드를 버렸습니다.",
            "en": "The received file's sha256 differs from the sha256 in Upload-Metadata; the upload was discarded.",
        },
        "uploads.unsupported-type": {
            "ko": "JPEG, PNG, HEIC, WebP 사진만 올릴 수 있습니다 (파일 내용으로 판단합니다).",
            "en": "Only JPEG, PNG, HEIC and WebP photos are accepted (judged by the file's content).",
        },
        "uploads.unreadable": {
            "ko": "사진 파일이 손상되었거나 읽을 수 없습니다.",
            "en": "The photo is damaged or cannot be read.",
        },
        "uploads.too-many-pixels": {
            "ko": "사진은 최대 {limit}픽셀까지 받을 수 있습니다.",
            "en": "Photos are limited to {limit} pixels.",
        },
        "uploads.photo-exists": {
            "ko": "같은 photo_id로 다른 사진이 이미 있습니다.",
            "en": "A different photo already has this photo_id.",
        },
        "uploads.storage-unavailable": {
            "ko": "파일 저장소에 연결할 수 없습니다. 잠시 후 이어서 올리세요.",
            "en": "File storage is unreachable. Resume the upload shortly.",
        },
        "uploads.staging-lost": {
            "ko": "받아 둔 데이터를 저장소에서 찾을 수 없습니다. 새 업로드로 다시 올리세요.",
            "en": "The received data is missing from storage. Upload again with a new upload.",
        },
        "photos.change-forbidden": {
            "ko": "사진은 올린 사람이나 coordinator만 고치거나 지울 수 있습니다.",
            "en": "Only the uploader or a coordinator may change or delete a photo.",
        },
        "photos.range-not-satisfiable": {
            "ko": "요청한 범위가 파일 크기({size}바이트) 밖입니다.",
            "en": "The requested range lies outside the file ({size} bytes).",
        },
        "photos.content-missing": {
            "ko": "사진 파일을 저장소에서 찾을 수 없습니다.",
            "en": "The photo's file is missing from storage.",
        },
    }
)
