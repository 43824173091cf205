// The tus project's reference server for Node (@tus/server) with its file store or its S3 store, for
// bench/uploads_side_by_side.py. Run from the temporary folder the benchmark installs the packages into
// (never committed):  node uploads_reference.mjs PORT DIRECTORY [S3_ENDPOINT BUCKET]
import http from 'node:http'
import { Server } from '@tus/server'

const [port, directory, s3Endpoint, bucket] = process.argv.slice(2)
let datastore
if (s3Endpoint) {
  const { S3Store } = await import('@tus/s3-store')
  datastore = new S3Store({
    partSize: 8 * 1024 * 1024,
    s3ClientConfig: {
      bucket,
      region: 'ap-northeast-2',
      endpoint: s3Endpoint,
      forcePathStyle: true,
      credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
    },
  })
} else {
  const { FileStore } = await import('@tus/file-store')
  datastore = new FileStore({ directory })
}
const tus = new Server({ path: '/files', datastore })
http.createServer((req, res) => tus.handle(req, res)).listen(Number(port), '127.0.0.1', () => {
  console.log('listening')
})
