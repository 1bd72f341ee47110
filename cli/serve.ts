/**
 * `alpha-spin serve --model DIR [--adapter NAME=DIR ...]`: an OpenAI-compatible HTTP server
 * (serve/) for a Hugging Face model folder (or `embedded`) and named PEFT LoRA adapters, e.g. a
 * run's iterates, so lm-evaluation-harness, FastChat or the `openai` client can query them.
 * Binds 127.0.0.1:8000 by default; `--api-key` (or the ALPHA_SPIN_API_KEY environment variable)
 * makes every /v1/ route require `Authorization: Bearer <key>`. Runs until interrupted.
 *
 * @example
 * ```sh
 * alpha-spin serve --model ./gpt2 --adapter iter-1=runs/demo/iter-1/adapter --adapter iter-2=runs/demo/iter-2/adapter --port 8000
 * curl http://127.0.0.1:8000/v1/models
 * ```
 *
 * @module
 */
import process from "node:process";
import { loadBackend } from "../backends/load.ts";
import type { BackendRequest } from "../backends/types.ts";
import { embeddedModelDir } from "../models/embedded.ts";
import { startServer } from "../serve/http.ts";
import { type AdapterSpec, ModelRegistry } from "../serve/registry.ts";
import { integerIn } from "../core/config.ts";
import { ArgsError, type CommandSpec, parseOrExit } from "./args.ts";

/** The flags of `alpha-spin serve` (`--adapter` may be repeated; it is read before these). */
export const serveCommandSpec = {
  name: "alpha-spin serve",
  summary: "an OpenAI-compatible HTTP server for a model folder and its LoRA adapters by name",
  flags: {
    model: {
      type: "string",
      short: "m",
      valueName: "dir",
      description: 'Hugging Face model folder, or "embedded"',
      required: true,
    },
    adapter: {
      type: "string",
      valueName: "name=dir",
      description: "serve a PEFT LoRA adapter folder under a name (repeatable)",
    },
    name: {
      type: "string",
      valueName: "name",
      description: "the base model's served name (default: --model as given)",
    },
    tokenizer: {
      type: "string",
      valueName: "dir",
      description: "tokenizer folder (default: the model folder)",
    },
    host: { type: "string", valueName: "addr", description: "interface to bind", default: "127.0.0.1" },
    port: { type: "number", codec: integerIn(0, 65535), valueName: "n", description: "port (0 = any free one)", default: 8000 },
    apiKey: {
      type: "string",
      valueName: "key",
      description: "require Authorization: Bearer <key> (default: $ALPHA_SPIN_API_KEY)",
    },
    allowAdapterLoading: {
      type: "boolean",
      description: "serve POST /v1/load_lora_adapter and /v1/unload_lora_adapter (vLLM's)",
    },
    backend: { type: "string", valueName: "name", description: "tfjs backend", default: "auto" },
    quiet: { type: "boolean", short: "q", description: "no request log" },
  },
  positionals: [],
  examples: [
    "alpha-spin serve --model ./gpt2",
    "alpha-spin serve --model embedded --adapter iter-3=runs/default/iter-3/adapter --port 8000",
  ],
} as const satisfies CommandSpec;

/** Take every `--adapter NAME=DIR` (or `--adapter=NAME=DIR`) out of `args`. */
const takeAdapters = (args: readonly string[]): { adapters: AdapterSpec[]; rest: string[] } => {
  const adapters: AdapterSpec[] = [], rest: string[] = [];
  for (let i = 0; i < args.length; i++) {
    let value: string | undefined;
    if (args[i] === "--adapter") {
      value = args[++i];
      if (value === undefined) throw new ArgsError(serveCommandSpec.name, "--adapter needs a value NAME=DIR");
    } else if (args[i].startsWith("--adapter=")) value = args[i].slice("--adapter=".length);
    else {
      rest.push(args[i]);
      continue;
    }
    const eq = value.indexOf("=");
    if (eq <= 0 || eq === value.length - 1) {
      throw new ArgsError(serveCommandSpec.name, `--adapter needs NAME=DIR, got ${JSON.stringify(value)}`);
    }
    const name = value.slice(0, eq);
    if (adapters.some((a) => a.name === name)) {
      throw new ArgsError(serveCommandSpec.name, `--adapter ${name} is given twice`);
    }
    adapters.push({ name, path: value.slice(eq + 1) });
  }
  return { adapters, rest };
};

/** A started server and the way to stop it (for tests and embedding). */
export interface ServeHandle {
  readonly url: string;
  readonly port: number;
  /** Stop the server and free the models. */
  close(): Promise<void>;
}

/**
 * Parse the arguments, load the models and start listening; resolves once listening, or to an exit
 * code for `--help` (0) and bad arguments (2).
 *
 * @example
 * ```ts
 * const server = await startServe(["--model", "tiny", "--port", "0", "--backend", "cpu", "-q"]);
 * if (typeof server !== "number") await server.close();
 * ```
 */
export const startServe = async (args: readonly string[]): Promise<ServeHandle | number> => {
  let adapters: AdapterSpec[], rest: readonly string[];
  try {
    ({ adapters, rest } = takeAdapters(args)); // --adapter may repeat, which the shared parser does not take
  } catch (e) {
    if (!(e instanceof ArgsError)) throw e;
    console.error(e.message);
    return 2;
  }
  const parsed = parseOrExit(serveCommandSpec, rest);
  if (typeof parsed === "number") return parsed;
  const f = parsed.flags;
  await loadBackend(f.backend as BackendRequest);
  const modelDir = f.model === "embedded" ? embeddedModelDir() : f.model;
  const models = await ModelRegistry.load({
    modelDir,
    name: f.name ?? f.model,
    ...(f.tokenizer === undefined ? {} : { tokenizerDir: f.tokenizer }),
    adapters,
  });
  const apiKey = f.apiKey ?? process.env.ALPHA_SPIN_API_KEY;
  try {
    const server = await startServer(models, {
      host: f.host,
      port: f.port,
      ...(apiKey === undefined || apiKey === "" ? {} : { apiKey }),
      allowAdapterLoading: f.allowAdapterLoading,
      ...(f.quiet ? {} : { log: (line: string) => console.error(line) }),
    });
    const loopback = ["127.0.0.1", "localhost", "::1"].includes(f.host);
    if (!loopback && (apiKey === undefined || apiKey === "")) {
      console.error(
        `alpha-spin serve: warning: listening on ${f.host} without --api-key: anyone who can reach it can use it`,
      );
    }
    if (!f.quiet) {
      console.error(
        `alpha-spin serve: ${models.list().map((m) => m.name).join(", ")} at ${server.url}` +
          (apiKey ? " (API key required)" : ""),
      );
    }
    return {
      url: server.url,
      port: server.port,
      close: async () => {
        await server.close();
        models.dispose();
      },
    };
  } catch (e) {
    models.dispose();
    throw e;
  }
};

/**
 * Run `alpha-spin serve` until SIGINT or SIGTERM; resolves to the exit code.
 *
 * @example
 * ```ts
 * process.exitCode = await serveCommand(["--model", "embedded"]);
 * ```
 */
export const serveCommand = async (args: string[]): Promise<number> => {
  const server = await startServe(args);
  if (typeof server === "number") return server;
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
  await server.close();
  return 0;
};
