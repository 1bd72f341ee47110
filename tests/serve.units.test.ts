// Pure pieces of serve/: stop strings with streaming hold-back, request field checks, error bodies.
import { ApiError, errorBody, errorStatus } from "../serve/errors.ts";
import { chatMessages, completionPrompts, samplingParams } from "../serve/params.ts";
import { StopText } from "../serve/stop-text.ts";
import { assert, test } from "./harness.ts";

const utf8 = (ids: readonly number[]): string => new TextDecoder().decode(new Uint8Array(ids));
const bytes = (s: string): number[] => [...new TextEncoder().encode(s)];

/** Push every byte of `text`, collecting what `take` releases after each; returns [streamed, stopped]. */
const run = (text: string, stops: string[]): [string, boolean, string] => {
  const t = new StopText(utf8, stops);
  let streamed = "", stopped = false;
  for (const b of bytes(text)) {
    stopped = t.push(b);
    streamed += t.take();
    if (stopped) break;
  }
  streamed += t.take(true);
  return [streamed, stopped, t.text];
};

test("serve StopText: cuts before the earliest stop string, streamed text equals the final text", () => {
  assert.deepEqual(run("abc\n\ndef", ["\n\n"]), ["abc", true, "abc"]);
  assert.deepEqual(run("xxENDyySTOP", ["STOP", "END"]), ["xx", true, "xx"]);
  assert.deepEqual(run("no stop here", ["STOP"]), ["no stop here", false, "no stop here"]);
  assert.deepEqual(
    run("ab\nc", ["\n\n"]),
    ["ab\nc", false, "ab\nc"],
    "a partial match that did not complete is released",
  );
});

test("serve StopText: holds back a possible stop prefix and an incomplete UTF-8 character", () => {
  const t = new StopText(utf8, ["END"]);
  for (const b of bytes("aE")) t.push(b);
  assert.equal(t.take(), "a", "'E' may start 'END'");
  t.push(bytes("x")[0]);
  assert.equal(t.take(), "Ex");
  const e = new StopText(utf8, []);
  const [b0, b1] = bytes("é");
  e.push(b0);
  assert.equal(e.take(), "", "half of é is held");
  e.push(b1);
  assert.equal(e.take(), "é");
});

test("serve params: fields are checked and named", () => {
  const p = samplingParams({ temperature: 0, max_tokens: 5, stop: "\n", seed: 3 }, 16);
  assert.deepEqual([p.maxTokens, p.sampling, p.stop, p.seed, p.n], [5, { greedy: true }, ["\n"], 3, 1]);
  assert.equal(samplingParams({ max_completion_tokens: 7 }, 16).maxTokens, 7);
  const bad = (body: Record<string, unknown>, param: string) =>
    assert.throws(
      () => samplingParams(body, 16),
      (e: unknown) => e instanceof ApiError && e.status === 400 && e.param === param,
    );
  bad({ temperature: -1 }, "temperature");
  bad({ max_tokens: 0 }, "max_tokens");
  bad({ n: 2, best_of: 3 }, "best_of");
  bad({ presence_penalty: 0.5 }, "presence_penalty");
  bad({ seed: 1.5 }, "seed");
  bad({ stop: [""] }, "stop");
  assert.equal(samplingParams({ max_tokens: 0 }, 16, true).maxTokens, 0, "0 is allowed with echo");
  assert.deepEqual(completionPrompts({ prompt: [1, 2] }, 10), [[1, 2]]);
  assert.deepEqual(completionPrompts({ prompt: ["a", [3]] }, 10), ["a", [3]]);
  assert.throws(() => completionPrompts({ prompt: [[1, 10]] }, 10), /prompt\[0\]\[1\] = 10/);
  assert.throws(() => completionPrompts({ prompt: [] }, 10), /prompt must be/);
  assert.deepEqual(
    chatMessages({
      messages: [{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }],
    }),
    [
      { role: "user", content: "ab" },
    ],
  );
  assert.throws(() => chatMessages({ messages: [{ content: "x" }] }), /messages\[0\] needs a string "role"/);
});

test("serve errors: OpenAI error bodies; unknown failures are 500 server_error", () => {
  assert.deepEqual(errorBody(ApiError.badParam("n", "bad n")), {
    error: { message: "bad n", type: "invalid_request_error", param: "n", code: null },
  });
  assert.equal(errorStatus(new Error("boom")), 500);
  assert.equal(errorBody(new Error("boom")).error.type, "server_error");
});
