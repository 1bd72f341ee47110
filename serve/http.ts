/**
 * The HTTP side of `alpha-spin serve` on node:http (Node and Deno): routing, the bearer-token check,
 * JSON bodies, server-sent events, and one queue so that one generation runs at a time (requests
 * wait their turn; answers do not depend on what else is queued, since each request's sampling
 * streams come from its own seed).
 *
 * Routes: `GET /health`, `GET /v1/models` (and `/v1/models/<name>`), `POST /v1/completions` (completions.ts),
 * `POST /v1/chat/completions` (chat.ts), and with `allowAdapterLoading` vLLM's
 * `POST /v1/load_lora_adapter {lora_name, lora_path}` and `POST /v1/unload_lora_adapter {lora_name}`.
 * With an `apiKey`, every `/v1/` route needs `Authorization: Bearer <key>` (401 otherwise);
 * `/health` stays open. Errors are OpenAI-shaped (errors.ts).
 *
 * @example
 * ```ts
 * import { startServer } from "./http.ts";
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * const server = await startServer(models, { port: 0 });
 * console.log(server.url); // http://127.0.0.1:40123/v1
 * await server.close();
 * ```
 *
 * @module
 */
import { Buffer } from "node:buffer";
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { chatCompletions } from "./chat.ts";
import { completions } from "./completions.ts";
import { ApiError, errorBody, errorStatus } from "./errors.ts";
import type { Body } from "./params.ts";
import type { ModelRegistry, ServedModel } from "./registry.ts";
import type { EventStream, Reply } from "./reply.ts";

/** Options of {@link startServer}. */
export interface ServeOptions {
  /** Interface to bind. Default "127.0.0.1" (this machine only). */
  readonly host?: string;
  /** Port; 0 picks a free one. Default 8000. */
  readonly port?: number;
  /** Require `Authorization: Bearer <apiKey>` on /v1/ routes. */
  readonly apiKey?: string;
  /** Serve vLLM's runtime adapter routes (they read folders named by the client). Default false. */
  readonly allowAdapterLoading?: boolean;
  /** Largest request body in bytes. Default 32 MiB. */
  readonly maxBodyBytes?: number;
  /** One line per request (method, path, status, milliseconds). Default: none. */
  readonly log?: (line: string) => void;
}

/** A listening server. */
export interface RunningServer {
  /** The OpenAI base URL, e.g. `http://127.0.0.1:8000/v1`. */
  readonly url: string;
  readonly port: number;
  /** Stop listening, close open connections, and wait for the generation under way to stop. */
  close(): Promise<void>;
}

/** Runs tasks one after another. */
class Serial {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(task);
    this.#tail = result.catch(() => {});
    return result;
  }

  /** Resolves when every task queued so far has finished. */
  async idle(): Promise<void> {
    await this.#tail;
  }
}

const readBody = (req: IncomingMessage, limit: number): Promise<Body> =>
  new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let size = 0;
    req.on("data", (chunk: Uint8Array) => {
      size += chunk.length;
      if (size > limit) reject(new ApiError(413, `the request body is larger than ${limit} bytes`));
      else chunks.push(chunk);
    });
    req.on("error", reject);
    req.on("end", () => {
      const text = new TextDecoder().decode(Buffer.concat(chunks));
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (e) {
        return reject(new ApiError(400, `the request body is not valid JSON: ${(e as Error).message}`));
      }
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        return reject(new ApiError(400, "the request body must be a JSON object"));
      }
      resolve(value as Body);
    });
  });

const replyTo = (res: ServerResponse): Reply & { started: () => boolean } => {
  let stream: EventStream | null = null;
  let gone = false;
  res.on("close", () => void (gone ||= !res.writableEnded));
  return {
    started: () => res.headersSent,
    get closed() {
      return gone || res.destroyed;
    },
    json(status, body) {
      if (gone || res.destroyed || res.writableEnded) return;
      const text = JSON.stringify(body);
      res.writeHead(status, {
        "content-type": "application/json",
        "content-length": Buffer.byteLength(text),
      });
      res.end(text);
    },
    events() {
      if (stream !== null) return stream;
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        connection: "keep-alive",
      });
      let closed = false;
      res.on("close", () => void (closed = true));
      stream = {
        send: (data) => void (!closed && res.write(`data: ${JSON.stringify(data)}\n\n`)),
        end: () => {
          if (!closed) res.end("data: [DONE]\n\n");
          closed = true;
        },
        get closed() {
          return closed || res.destroyed;
        },
      };
      return stream;
    },
  };
};

const checkKey = (req: IncomingMessage, apiKey: string): void => {
  const header = req.headers.authorization ?? "";
  const given = Buffer.from(header.startsWith("Bearer ") ? header.slice(7) : "");
  const wanted = Buffer.from(apiKey);
  if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) {
    throw new ApiError(
      401,
      "Incorrect or missing API key: send Authorization: Bearer <key>",
      "invalid_request_error",
      null,
      "invalid_api_key",
    );
  }
};

const modelCard = (m: ServedModel): Record<string, unknown> => ({
  id: m.name,
  object: "model",
  created: m.created,
  owned_by: "alpha-spin",
  root: m.path,
  parent: m.parent,
});

const modelList = (models: ModelRegistry): unknown => ({
  object: "list",
  data: models.list().map(modelCard),
});

const stringField = (body: Body, name: string): string => {
  const v = body[name];
  if (typeof v !== "string" || v === "") throw ApiError.badParam(name, `${name} must be a non-empty string`);
  return v;
};

/**
 * The request handler (for a node:http server of your own); {@link startServer} uses it.
 *
 * @example
 * ```ts
 * import { createServer } from "node:http";
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * createServer(serveHandler(models, { apiKey: "k" })).listen(8000, "127.0.0.1");
 * ```
 */
export const serveHandler = (
  models: ModelRegistry,
  options: ServeOptions = {},
): ((req: IncomingMessage, res: ServerResponse) => void) & { drain: () => Promise<void> } => {
  const queue = new Serial();
  const limit = options.maxBodyBytes ?? 32 << 20;
  const route = async (req: IncomingMessage, reply: Reply): Promise<void> => {
    const path = new URL(req.url ?? "/", "http://localhost").pathname.replace(/\/+$/, "");
    if (path === "/health") return reply.json(200, {});
    if (!path.startsWith("/v1/")) {
      throw new ApiError(404, `no route ${req.method} ${path}`, "invalid_request_error", null, "not_found");
    }
    if (options.apiKey !== undefined) checkKey(req, options.apiKey);
    const post: Record<string, (body: Body) => Promise<void>> = {
      "/v1/completions": (body) => completions(body, models, reply),
      "/v1/chat/completions": (body) => chatCompletions(body, models, reply),
    };
    if (options.allowAdapterLoading) {
      post["/v1/load_lora_adapter"] = async (body) => {
        const name = stringField(body, "lora_name"), path = stringField(body, "lora_path");
        try {
          await models.addAdapter(name, path);
        } catch (e) {
          if (e instanceof ApiError) throw e;
          throw new ApiError(
            400,
            `loading the adapter \`${name}\` failed: ${(e as Error).message}`,
            "invalid_request_error",
            "lora_path",
          );
        }
        reply.json(200, `Success: LoRA adapter '${name}' added successfully.`);
      };
      post["/v1/unload_lora_adapter"] = (body) => {
        const name = stringField(body, "lora_name");
        models.removeAdapter(name);
        reply.json(200, `Success: LoRA adapter '${name}' removed successfully.`);
        return Promise.resolve();
      };
    }
    if (path === "/v1/models" || path.startsWith("/v1/models/")) {
      if (req.method !== "GET") throw new ApiError(405, `use GET for ${path}`);
      if (path === "/v1/models") return reply.json(200, modelList(models));
      return reply.json(200, modelCard(models.get(decodeURIComponent(path.slice("/v1/models/".length)))));
    }
    const handler = post[path];
    if (handler === undefined) {
      throw new ApiError(404, `no route ${req.method} ${path}`, "invalid_request_error", null, "not_found");
    }
    if (req.method !== "POST") throw new ApiError(405, `use POST for ${path}`);
    const body = await readBody(req, limit);
    await queue.run(() => handler(body));
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const started = Date.now();
    const reply = replyTo(res);
    route(req, reply).catch((error) => {
      try {
        if (reply.started()) {
          // Mid-stream: the status is sent already; say what happened in the stream.
          const events = reply.events();
          events.send(errorBody(error));
          events.end();
        } else reply.json(errorStatus(error), errorBody(error));
      } catch {
        // The connection is gone: nobody to tell.
      }
    }).finally(() => options.log?.(`${req.method} ${req.url} ${res.statusCode} ${Date.now() - started} ms`));
  };
  return Object.assign(handle, { drain: () => queue.idle() });
};

/**
 * Listen on `host:port` (default 127.0.0.1:8000) and serve `models`; resolves once listening.
 *
 * @example
 * ```ts
 * import type { ModelRegistry } from "./registry.ts";
 * declare const models: ModelRegistry;
 * const server = await startServer(models, { port: 0, apiKey: process.env.ALPHA_SPIN_API_KEY });
 * ```
 */
export const startServer = (models: ModelRegistry, options: ServeOptions = {}): Promise<RunningServer> => {
  const host = options.host ?? "127.0.0.1";
  const handler = serveHandler(models, options);
  const server = createServer(handler);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 8000, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : options.port ?? 8000;
      const shown = host.includes(":") ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${port}/v1`,
        port,
        // Stop listening, drop the connections (a generation for a dropped client stops at its next
        // token), then wait for the queue, so the caller may free the models afterwards.
        close: async () => {
          await new Promise<void>((done, fail) => {
            server.close((e) => (e ? fail(e) : done()));
            (server as { closeAllConnections?: () => void }).closeAllConnections?.();
          });
          await handler.drain();
        },
      });
    });
  });
};
