// The hostile-input runner: a worker thread that feeds every input to the built library and
// reports each outcome. It marks in shared memory which input it is on, so that the test's
// watchdog can stop it and name the input if one never finishes.
import { parentPort, workerData } from 'node:worker_threads';
import { ERROR_CATALOGUE, PixwardenError, inspect, strip, verifyClean } from '../../dist/index.js';

const { inputs, beat } = workerData;
const heartbeat = new Int32Array(beat);
const codes = new Set(Object.keys(ERROR_CATALOGUE));
let unhandled = 0;
process.on('unhandledRejection', () => {
  unhandled++;
});

function coded(error) {
  return error instanceof PixwardenError && codes.has(error.code) && error.message.length > 0;
}

function describe(error) {
  if (error instanceof Error) return `${error.name}: ${error.message}`.slice(0, 300);
  return String(error).slice(0, 300);
}

const outcomes = [];
for (const [index, input] of inputs.entries()) {
  Atomics.store(heartbeat, 0, index);
  Atomics.add(heartbeat, 1, 1);
  const bytes = new Uint8Array(input.bytes);
  let outcome;
  try {
    const result = await strip(bytes);
    const check = await verifyClean(result.bytes);
    const again = await strip(result.bytes);
    if (!check.clean)
      outcome = { status: 'failed', detail: `output not clean: ${check.problems.join('; ')}` };
    else if (!result.verified) outcome = { status: 'failed', detail: 'result not verified' };
    else if (Buffer.compare(Buffer.from(again.bytes), Buffer.from(result.bytes)) !== 0)
      outcome = { status: 'failed', detail: 'cleaning the clean copy changed it' };
    else outcome = { status: 'clean' };
  } catch (error) {
    outcome = coded(error)
      ? { status: 'refused', code: error.code }
      : { status: 'failed', detail: `uncoded error from strip: ${describe(error)}` };
  }
  try {
    await inspect(bytes);
  } catch (error) {
    if (!coded(error))
      outcome = { status: 'failed', detail: `uncoded error from inspect: ${describe(error)}` };
  }
  outcomes.push(outcome);
}
Atomics.store(heartbeat, 0, inputs.length);
parentPort.postMessage({ outcomes, unhandled });
