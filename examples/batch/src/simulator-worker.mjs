/**
 * The worker side of `startSimulatorThread` (simulator-thread.ts): a simulator on its own
 * event loop, answering `reset`, `stats`, `costs` and `close` from the thread that started it.
 * Plain JavaScript: a worker's entry does not go through the `tsx` loader.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startSimulator } from '@tollgate/simulator';

const simulator = await startSimulator(workerData);

/** What the simulator books for an item: prompt + max_tokens (reserved) or its actual usage. */
const costOf = (item, accounting) =>
  simulator.promptTokens(item.messages) +
  (accounting === 'reserved' ? item.max_tokens : simulator.completionTokens(item));

parentPort.on('message', async (request) => {
  switch (request.op) {
    case 'reset':
      simulator.reset();
      parentPort.postMessage({ id: request.id });
      break;
    case 'stats':
      parentPort.postMessage({ id: request.id, value: simulator.stats() });
      break;
    case 'costs':
      parentPort.postMessage({
        id: request.id,
        value: request.items.map((item) => costOf(item, request.accounting)),
      });
      break;
    case 'close':
      await simulator.close();
      parentPort.postMessage({ id: request.id });
      break;
  }
});

parentPort.postMessage({
  url: simulator.url,
  apiKey: simulator.apiKey,
  ca: simulator.ca,
  timeScale: simulator.clock.timeScale,
  anchor: simulator.clock.anchor,
});
