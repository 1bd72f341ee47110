/**
 * How a route handler answers, independent of node:http: one JSON body, or a stream of server-sent
 * events (`data: {json}\n\n` … `data: [DONE]\n\n`, as OpenAI streams).
 *
 * @example
 * ```ts
 * import type { Reply } from "./reply.ts";
 * const handle = (reply: Reply) => {
 *   const events = reply.events();
 *   events.send({ choices: [{ index: 0, text: "Hi" }] });
 *   events.end();
 * };
 * ```
 *
 * @module
 */

/** A server-sent event stream. */
export interface EventStream {
  /** Send one `data:` event holding `data` as JSON. */
  send(data: unknown): void;
  /** Send `data: [DONE]` and close. */
  end(): void;
  /** Whether the client has gone away (stop generating). */
  readonly closed: boolean;
}

/** The answer channel of one request. */
export interface Reply {
  /** Answer with one JSON body. */
  json(status: number, body: unknown): void;
  /** Start an event stream (status 200). */
  events(): EventStream;
  /** Whether the client has gone away before the answer was sent (stop generating for it). */
  readonly closed: boolean;
}

/**
 * A fresh response id with OpenAI's prefix (`cmpl-`, `chatcmpl-`).
 *
 * @example
 * ```ts
 * responseId("cmpl"); // "cmpl-3f9a…"
 * ```
 */
export const responseId = (prefix: string): string =>
  `${prefix}-${
    Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, "0")).join("")
  }`;
