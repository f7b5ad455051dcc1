// A pool worker with test-only tasks besides the production ones: one that crashes its
// process, one that never returns, one that allocates without end. The production worker
// (src/pool/worker.ts) cannot reach them.
import { serve } from '../../dist/pool/serve.js';
import { TASKS } from '../../dist/pool/tasks.js';

const held = [];
serve({
  ...TASKS,
  crash: async () => {
    process.kill(process.pid, 'SIGSEGV');
    await new Promise(() => undefined);
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
});
