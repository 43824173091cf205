// One upload with tus-js-client (Node), 5 MiB chunks, for bench/uploads_side_by_side.py. Prints one JSON line:
// {"start": epoch ms when the upload starts, "end": epoch ms of the last 204, "url": the upload's URL}.
//   node uploads_client.mjs ENDPOINT FILE HEADERS_JSON METADATA_JSON
import fs from 'node:fs'
import * as tus from 'tus-js-client'

const [endpoint, file, headers, metadata] = process.argv.slice(2)
const data = fs.readFileSync(file)
const now = () => performance.timeOrigin + performance.now()
const start = now()
const upload = new tus.Upload(data, {
  endpoint,
  chunkSize: 5 * 1024 * 1024,
  headers: JSON.parse(headers),
  metadata: JSON.parse(metadata),
  retryDelays: null,
  storeFingerprintForResuming: false,
  onError(error) {
    console.error(String(error))
    process.exit(1)
  },
  onSuccess() {
    console.log(JSON.stringify({ start, end: now(), url: upload.url }))
  },
})
upload.start()
