// One of several processes appending to the same audit trail at once (see audit.test.ts).
// node audit-writer.mjs DATA_DIR WRITER COUNT
import { AuditTrail } from '../../dist/compliance/audit.js';
import { openDatabase } from '../../dist/compliance/database.js';

const [dataDir, writer, count] = process.argv.slice(2);
const database = await openDatabase({ dataDir });
const trail = new AuditTrail(database);
for (let i = 0; i < Number(count); i++)
  await trail.append({ operation: 'ingest', actor: `writer-${writer}`, outcome: 'done' });
await database.close();
