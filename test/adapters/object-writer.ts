// Child process of embedded-object-store-layout.test.ts: puts large objects forever, printing each one's
// number once its put resolved. One body for all, so nearly all of the loop's time is spent inside a put.
import { createFileObjectStore } from '../../src/adapters/embedded/object-store.ts';

const [root, tenant, size] = process.argv.slice(2);
const store = createFileObjectStore(root!, { blockingIo: true });
const body = Buffer.alloc(Number(size), 7);
for (let n = 0; ; n++) {
  await store.put(`tenants/${tenant}/jobs/j${n}/workbook.xlsx`, body, 'application/x');
  process.stdout.write(`${n}\n`);
}
