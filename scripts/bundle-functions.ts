// `npm install` (prepare) and `npm run build:functions`: the function entry points as prebuilt JavaScript.
import { buildPrebuilt, PREBUILT_ENTRIES, type PrebuiltEntry } from '../src/runtime/prebuilt.ts';

for (const entry of Object.keys(PREBUILT_ENTRIES) as PrebuiltEntry[])
  console.log(`built ${buildPrebuilt(entry)}`);
