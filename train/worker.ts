/**
 * A worker thread of the pool (started by pool.ts; not imported by library code). It holds a copy
 * of the frozen base model on its own wasm or cpu backend and handles the messages of protocol.ts
 * one at a time, in arrival order:
 *
 * - gradients: after a `segment` it holds a copy of the trained variables (reloaded from shared
 *   memory when they changed) and computes `alphaSpinGradients` of its shard into its slot of the
 *   shared gradient buffer — the same function the training thread runs on its own shard;
 * - generation: it loads an iterate from the run's store as the training thread does and decodes
 *   batches of prompts with `generate` (models/generate.ts).
 *
 * It runs under Node and Deno alike (`node:worker_threads`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parentPort } from "node:worker_threads";
import { loadBackend } from "../backends/load.ts";
import { lossRegistry } from "../losses/registry.ts";
import { generate } from "../models/generate.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { Transformer } from "../models/transformer.ts";
import type { FromWorker, ToWorker } from "./protocol.ts";
import { buildTrainable, type FinetuneSpec, loadIterateSnapshot, policyFromSnapshot, type Trainable } from "./params.ts";
import { alphaSpinGradients, type StepSpec } from "./step.ts";
import { weightsTensors } from "./channel.ts";

const port = parentPort;
if (port === null) throw new Error("train/worker.ts must run in a worker thread");

/** The trained copy of one training segment. */
interface Segment {
  readonly step: StepSpec;
  readonly trainable: Trainable;
  readonly weights: Float32Array;
  readonly slot: Float32Array;
}

interface State {
  readonly index: number;
  readonly base: Transformer;
  readonly basePolicy: TransformerPolicy;
  readonly spec: FinetuneSpec;
  segment: Segment | null;
  /** The iterate generation decodes with (null: π_base). */
  loaded: { policy: TransformerPolicy; dispose(): void } | null;
}
let state: State | null = null;
let queue: Promise<void> = Promise.resolve();

const send = (message: FromWorker): void => port.postMessage(message);

const need = (): State => {
  if (state === null) throw new Error("worker: not initialized");
  return state;
};

const init = async (m: Extract<ToWorker, { type: "init" }>): Promise<State> => {
  await loadBackend(m.backend);
  for (const url of m.imports) await import(url);
  const tensors = weightsTensors(m.base);
  let base: Transformer;
  try {
    base = new Transformer(m.config, tensors, { trainable: false });
  } finally {
    tf.dispose([...tensors.values()]);
  }
  return { index: m.index, base, basePolicy: new TransformerPolicy(base), spec: m.spec, segment: null, loaded: null };
};

const stepSpecOf = (m: Extract<ToWorker, { type: "segment" }>): StepSpec => {
  if (!lossRegistry.names().includes(m.loss)) {
    throw new RangeError(
      `loss "${m.loss}" is not registered in the gradient worker: register it in a module and pass its URL ` +
        "in workerImports (or train with workers: 1)",
    );
  }
  return { loss: lossRegistry.get(m.loss), lossParams: m.lossParams };
};

/** Build the segment's trained variables as views of the shared weights. */
const startSegment = (s: State, m: Extract<ToWorker, { type: "segment" }>): Segment => {
  const step = stepSpecOf(m);
  const size = m.weights.byteLength / 4;
  const weights = new Float32Array(m.weights);
  let offset = 0;
  const values = m.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const view = weights.subarray(offset, offset + n);
    offset += n;
    return view;
  });
  const trainable = buildTrainable(s.base, s.spec, { names: m.names, shapes: m.shapes, values }, m.seed);
  return { step, trainable, weights, slot: new Float32Array(m.grads, 4 * (s.index - 1) * size, size) };
};

/** Assign the shared weights to the trained variables. */
const reload = (segment: Segment): void => {
  let offset = 0;
  for (const v of segment.trainable.variables) {
    const values = segment.weights.subarray(offset, offset + v.size);
    tf.tidy(() => v.assign(tf.tensor(values, v.shape, "float32")));
    offset += v.size;
  }
};

/** The shard's gradients into this worker's slot; the reply carries the metrics pack. */
const gradients = (segment: Segment, m: Extract<ToWorker, { type: "gradients" }>): FromWorker => {
  if (m.reload) reload(segment);
  const out = alphaSpinGradients(segment.step, segment.trainable.policy, segment.trainable.variables, m.pairs);
  try {
    let offset = 0;
    for (const g of out.grads) {
      const values = g.dataSync() as Float32Array;
      segment.slot.set(values, offset);
      offset += values.length;
    }
    return { type: "gradients", id: m.id, pack: Array.from(out.pack.dataSync()), names: out.names };
  } finally {
    tf.dispose([...out.grads, out.pack]);
  }
};

/** Load the iterate stored in `dir` (null: π_base) for generation. */
const load = async (s: State, dir: string | null): Promise<void> => {
  s.loaded?.dispose();
  s.loaded = null;
  if (dir === null) return;
  if (s.spec.finetune === "full") {
    const model = await loadHfModel(dir, { trainable: false });
    s.loaded = { policy: new TransformerPolicy(model), dispose: () => model.dispose() };
  } else {
    s.loaded = policyFromSnapshot(s.base, s.spec, await loadIterateSnapshot(dir, s.base, s.spec));
  }
};

const decode = async (s: State, m: Extract<ToWorker, { type: "generate" }>): Promise<FromWorker> => {
  const { mixtureAlpha, ...options } = m.options;
  const out = await generate(s.loaded?.policy ?? s.basePolicy, m.prompts, {
    ...options,
    ...(mixtureAlpha === undefined ? {} : { mixture: { base: s.basePolicy, alpha: mixtureAlpha } }),
  });
  return { type: "generated", id: m.id, completions: out.completions, finished: out.finished, logZ: out.logZ };
};

const close = (id: number): FromWorker => {
  state?.segment?.trainable.dispose();
  state?.loaded?.dispose();
  state?.base.dispose();
  state = null;
  return { type: "closed", id, tensorsLeft: tf.memory().numTensors };
};

const handle = async (m: ToWorker): Promise<FromWorker> => {
  switch (m.type) {
    case "init":
      state = await init(m);
      return { type: "ok", id: m.id };
    case "segment": {
      const s = need();
      s.segment?.trainable.dispose();
      s.segment = null;
      s.segment = startSegment(s, m);
      return { type: "ok", id: m.id };
    }
    case "gradients": {
      const segment = need().segment;
      if (segment === null) throw new Error("worker: no segment started");
      return gradients(segment, m);
    }
    case "load":
      await load(need(), m.dir);
      return { type: "ok", id: m.id };
    case "generate":
      return await decode(need(), m);
    case "close":
      return close(m.id);
  }
};

port.on("message", (m: ToWorker) => {
  queue = queue.then(async () => send(await handle(m))).catch((e: unknown) => {
    send({ type: "error", id: m.id, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  });
});
