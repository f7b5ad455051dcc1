/**
 * The worker side of the pool: receives jobs over IPC, runs the named task, replies with its
 * value or its coded error. One job at a time; an uncaught failure ends the process, which the
 * pool reports as ERR_WORKER_CRASHED.
 */
import { PixwardenError } from '../errors.js';
import type { WorkerReply } from './pool.js';

export type Task = (payload: unknown) => Promise<unknown>;

export function serve(tasks: Readonly<Record<string, Task>>): void {
  // The parent is gone (or closed the channel): nothing will ask for work again.
  process.on('disconnect', () => {
    process.exit(0);
  });
  process.on('message', (message: { id: number; task: string; payload: unknown }) => {
    const task = Object.hasOwn(tasks, message.task) ? tasks[message.task] : undefined;
    const reply = (value: WorkerReply): void => {
      process.send?.(value);
    };
    if (task === undefined) {
      reply({
        id: message.id,
        ok: false,
        error: { code: 'ERR_INVALID_ARGUMENT', message: `no task "${message.task}"` },
      });
      return;
    }
    task(message.payload).then(
      (value) => {
        reply({ id: message.id, ok: true, value });
      },
      (error: unknown) => {
        reply({
          id: message.id,
          ok: false,
          error:
            error instanceof PixwardenError
              ? error.toJSON()
              : { message: error instanceof Error ? error.message : String(error) },
        });
      },
    );
  });
}
