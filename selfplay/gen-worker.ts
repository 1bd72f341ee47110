/**
 * A generation worker of the self-play loop (started by gen-pool.ts; not imported by library
 * code): it holds a copy of the frozen base model on its own wasm, blas or cpu backend, loads an iterate
 * from the run's store as the main thread does (selfplay/iterates.ts), and decodes batches of
 * prompts with `generate` (models/generate.ts). Runs under Node and Deno (`node:worker_threads`).
 *
 * @module
 */
import * as tf from "@tensorflow/tfjs";
import { parentPort } from "node:worker_threads";
import { loadBackend } from "../backends/load.ts";
import { generate, type GenerateOptions } from "../models/generate.ts";
import { loadHfModel } from "../models/hf-load.ts";
import { TransformerPolicy } from "../models/policy.ts";
import { Transformer } from "../models/transformer.ts";
import { loadIterateSnapshot, policyFromSnapshot } from "./params.ts";
import type { FinetuneSpec } from "./params.ts";
import { type PlainWeights, weightsTensors } from "./worker-channel.ts";

/** Generation options that cross threads: no rng-less seed games, the mixture by its α only. */
export type WorkerGenerateRequest = Omit<GenerateOptions, "mixture"> & { readonly mixtureAlpha?: number };

/** Training thread → generation worker. */
export type ToGenWorker =
  | {
    readonly type: "init";
    readonly id: number;
    readonly backend: "wasm" | "blas" | "cpu";
    readonly config: Transformer["config"];
    readonly base: PlainWeights;
    readonly spec: FinetuneSpec;
  }
  | { readonly type: "load"; readonly id: number; readonly dir: string | null }
  | {
    readonly type: "generate";
    readonly id: number;
    readonly prompts: readonly (readonly number[])[];
    readonly options: WorkerGenerateRequest;
  }
  | { readonly type: "close"; readonly id: number };

/** Generation worker → training thread. */
export type FromGenWorker =
  | { readonly type: "ok"; readonly id: number }
  | {
    readonly type: "generated";
    readonly id: number;
    readonly completions: number[][];
    readonly finished: boolean[];
    readonly logZ: number[];
  }
  | { readonly type: "closed"; readonly id: number; readonly tensorsLeft: number }
  | { readonly type: "error"; readonly id: number; readonly message: string };

const port = parentPort;
if (port === null) throw new Error("selfplay/gen-worker.ts must run in a worker thread");

interface State {
  base: Transformer;
  basePolicy: TransformerPolicy;
  spec: FinetuneSpec;
  current: { policy: TransformerPolicy; dispose(): void } | null;
}
let state: State | null = null;
let queue: Promise<void> = Promise.resolve();

const send = (m: FromGenWorker): void => port.postMessage(m);
const need = (): State => {
  if (state === null) throw new Error("generation worker: not initialized");
  return state;
};

const handle = async (m: ToGenWorker): Promise<void> => {
  switch (m.type) {
    case "init": {
      await loadBackend(m.backend);
      const tensors = weightsTensors(m.base);
      let base: Transformer;
      try {
        base = new Transformer(m.config, tensors, { trainable: false });
      } finally {
        tf.dispose([...tensors.values()]);
      }
      state = { base, basePolicy: new TransformerPolicy(base), spec: m.spec, current: null };
      send({ type: "ok", id: m.id });
      return;
    }
    case "load": {
      const s = need();
      s.current?.dispose();
      s.current = null;
      if (m.dir !== null) {
        if (s.spec.finetune === "full") {
          const model = await loadHfModel(m.dir, { trainable: false });
          s.current = { policy: new TransformerPolicy(model), dispose: () => model.dispose() };
        } else {
          s.current = policyFromSnapshot(s.base, s.spec, await loadIterateSnapshot(m.dir, s.base, s.spec));
        }
      }
      send({ type: "ok", id: m.id });
      return;
    }
    case "generate": {
      const s = need();
      const policy = s.current?.policy ?? s.basePolicy;
      const { mixtureAlpha, ...options } = m.options;
      const out = await generate(policy, m.prompts, {
        ...options,
        ...(mixtureAlpha === undefined ? {} : { mixture: { base: s.basePolicy, alpha: mixtureAlpha } }),
      });
      send({ type: "generated", id: m.id, completions: out.completions, finished: out.finished, logZ: out.logZ });
      return;
    }
    case "close": {
      state?.current?.dispose();
      state?.base.dispose();
      state = null;
      send({ type: "closed", id: m.id, tensorsLeft: tf.memory().numTensors });
      return;
    }
  }
};

port.on("message", (m: ToGenWorker) => {
  queue = queue.then(() => handle(m)).catch((e: unknown) => {
    send({ type: "error", id: m.id, message: e instanceof Error ? `${e.message}\n${e.stack ?? ""}` : String(e) });
  });
});
