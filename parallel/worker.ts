/**
 * The data-parallel worker's entry module (started by `createDataParallelTrainer`; not imported by
 * library code). It runs in a `node:worker_threads` worker under Node and under Deno alike, owns
 * one {@link Replica}, and handles the messages of protocol.ts one at a time, in arrival order.
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parentPort } from "node:worker_threads";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { Replica } from "./replica.ts";

const port = parentPort;
if (port === null) throw new Error("parallel/worker.ts must run in a worker thread");

let replica: Replica | null = null;
let slots: Float32Array[] = [];
let index = 0;
let queue: Promise<void> = Promise.resolve();

const send = (message: FromWorker): void => port.postMessage(message);

const needReplica = (): Replica => {
  if (replica === null) throw new Error("worker: not initialized");
  return replica;
};

const handle = async (message: ToWorker): Promise<void> => {
  switch (message.type) {
    case "init": {
      index = message.index;
      replica = await Replica.create(message.options);
      send({ type: "ready", trainableSizes: replica.sizes, backend: replica.backend });
      return;
    }
    case "buffer": {
      const size = needReplica().trainableSize;
      const count = message.buffer.byteLength / (4 * size);
      slots = Array.from({ length: count }, (_, w) => new Float32Array(message.buffer, 4 * w * size, size));
      return;
    }
    case "gradients": {
      const start = performance.now();
      const metrics = await needReplica().gradients(message.batch, message.weight, slots[index]);
      send({ type: "gradients", id: message.id, metrics, seconds: (performance.now() - start) / 1000 });
      return;
    }
    case "apply": {
      const start = performance.now();
      const gradNorm = await needReplica().apply(slots, message.learningRate);
      send({ type: "applied", id: message.id, gradNorm, seconds: (performance.now() - start) / 1000 });
      return;
    }
    case "weights": {
      send({ type: "weights", id: message.id, weights: await needReplica().trainableWeights() });
      return;
    }
    case "generate": {
      const generation = await needReplica().generate(message.prompts, message.options, message.stream);
      send({ type: "generated", id: message.id, generation });
      return;
    }
    case "close": {
      replica?.dispose();
      replica = null;
      send({ type: "closed", id: message.id, tensorsLeft: tf.memory().numTensors });
      return;
    }
  }
};

port.on("message", (message: ToWorker) => {
  queue = queue.then(() => handle(message)).catch((e: unknown) => {
    const id = "id" in message ? message.id : null;
    send({ type: "error", id, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  });
});
