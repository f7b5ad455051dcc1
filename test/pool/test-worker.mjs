// A pool worker with test-only tasks besides the production ones: one that crashes its
// process, one that never returns, one that allocates without end, one that reports what the
// process can see and reach. The production worker (src/pool/worker.ts) cannot reach them.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { serve } from '../../dist/pool/serve.js';
import { TASKS } from '../../dist/pool/tasks.js';

const held = [];
serve({
  ...TASKS,
  // A native crash, as a decoder fault would be. (A signal the process sends itself would not
  // do: as the first process of its namespace, a sandboxed worker ignores it.)
  crash: async () => {
    process.abort();
  },
  hang: async () => {
    for (;;);
  },
  allocate: async () => {
    for (;;) {
      held.push(Buffer.alloc(16 * 1024 * 1024, 1));
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  },
  echo: async (payload) => payload,
  probe: async ({ port, file, variable, writable }) => ({
    pid: process.pid,
    capabilities: /^CapEff:\s*(\S+)/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? null,
    write: (() => {
      try {
        writeFileSync(writable, 'x');
        return 'written';
      } catch (error) {
        return error.code;
      }
    })(),
    file: existsSync(file),
    variable: process.env[variable] ?? null,
    network: await new Promise((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setTimeout(2000, () => {
        socket.destroy();
        resolve('timeout');
      });
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error) => resolve(error.code ?? 'error'));
    }),
  }),
});
