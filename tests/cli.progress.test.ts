// cli/progress.ts: plain lines when the stream is not a terminal, nothing when quiet, a cli-progress
// bar with rate and ETA on a terminal. A fake clock makes rates and ETAs exact.
import { assert, test } from "./harness.ts";
import { formatDuration, formatRate, startProgress } from "../cli/progress.ts";

const sink = (isTTY: boolean): { isTTY: boolean; chunks: string[]; write(s: string): boolean } => {
  const chunks: string[] = [];
  return { isTTY, chunks, write: (s: string) => (chunks.push(s), true) };
};

test("not a terminal: a line every 10 % with rate and ETA, and one at the end", () => {
  const out = sink(false);
  let ms = 0;
  const p = startProgress("generate", 20, { stream: out, now: () => ms });
  for (let i = 0; i < 20; i++) {
    ms += 500; // 2 items per second
    p.tick(1, i === 9 ? { loss: 0.693147 } : undefined);
  }
  p.stop();
  p.stop(); // idempotent
  p.tick(); // ignored after stop
  const lines = out.chunks.join("").trimEnd().split("\n");
  assert.equal(lines.length, 10); // 2, 4, ..., 18 of 20, then the end line
  assert.equal(lines[0], "generate: 2/20 (10%) 2.0/s, ETA 9s");
  assert.equal(lines[4], "generate: 10/20 (50%) 2.0/s, ETA 5s | loss=0.6931");
  assert.equal(lines[9], "generate: 20/20 done in 10s (2.0/s) | loss=0.6931");
});

test("quiet: nothing at all", () => {
  const out = sink(false);
  const p = startProgress("train", 5, { stream: out, quiet: true });
  p.tick(5);
  p.stop();
  assert.deepEqual(out.chunks, []);
  const tty = sink(true);
  startProgress("train", 5, { stream: tty, quiet: true }).stop();
  assert.deepEqual(tty.chunks, []);
});

test("a larger tick crosses several steps but logs one line", () => {
  const out = sink(false);
  let ms = 0;
  const p = startProgress("ref", 100, { stream: out, now: () => ms, logEvery: 0.25 });
  ms = 1000;
  p.tick(60);
  ms = 2000;
  p.tick(10);
  p.tick(5);
  assert.deepEqual(out.chunks, ["ref: 60/100 (60%) 60.0/s, ETA 1s\n", "ref: 75/100 (75%) 37.5/s, ETA 1s\n"]);
});

test("terminal: a cli-progress bar showing label, counts and rate", () => {
  const out = sink(true);
  let ms = 0;
  const p = startProgress("train iter 1", 4, { stream: out, now: () => ms });
  ms = 1000;
  p.tick(2, { loss: 0.5 });
  p.stop();
  const text = out.chunks.join("");
  assert.match(text, /train iter 1 \[/);
  assert.match(text, /2\/4 50% \| 2\.0\/s \| ETA .*\| loss=0\.5/);
});

test("formatDuration and formatRate", () => {
  assert.deepEqual([
    formatDuration(0),
    formatDuration(59.4),
    formatDuration(185),
    formatDuration(3725),
    formatDuration(Infinity),
  ], ["0s", "59s", "3m05s", "1h02m", "?"]);
  assert.deepEqual([formatRate(1520.2), formatRate(12.345), formatRate(0.03125)], ["1520", "12.3", "0.031"]);
});
