// Ingests photos for a few subjects in an endless loop, until it is killed (see
// crash.test.ts). A line is printed only once an ingest has returned, so that every id printed
// is one the database has committed.
// node ingest-loop.mjs DATA_DIR DATABASE_URL|"" START PHOTO...
import { readFileSync } from 'node:fs';
import { createPipeline } from '../../dist/compliance/pipeline.js';

const [dataDir, databaseUrl, start, ...files] = process.argv.slice(2);
const photos = files.map((file) => readFileSync(file));
// The same names as the test's: it looks the subjects up by them.
const people = ['ann', 'ben', 'cat'];
const pipeline = await createPipeline({
  dataDir,
  ...(databaseUrl ? { databaseUrl } : {}),
  consentPurposes: [],
  // A variant, so that every ingest writes more than one blob before it commits.
  variants: [{ name: 'thumb', width: 48, height: 48, format: 'webp' }],
});
for (let i = Number(start); ; i++) {
  const result = await pipeline.ingest({
    subjectId: people[i % people.length],
    bytes: photos[i % photos.length],
  });
  process.stdout.write(`ingested ${result.imageId} ${result.stored.length}\n`);
}
