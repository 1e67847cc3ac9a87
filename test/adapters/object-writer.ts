// Child process of embedded-object-store-layout.test.ts: puts large objects forever, printing each one's
// number once its put resolved. Object n's bytes are all n % 251, so a reader can tell a torn one.
import { createFileObjectStore } from '../../src/adapters/embedded/object-store.ts';

const [root, tenant, size] = process.argv.slice(2);
const store = createFileObjectStore(root!, { blockingIo: true });
for (let n = 0; ; n++) {
  await store.put(
    `tenants/${tenant}/jobs/j${n}/workbook.xlsx`,
    Buffer.alloc(Number(size), n % 251),
    'application/x',
  );
  process.stdout.write(`${n}\n`);
}
