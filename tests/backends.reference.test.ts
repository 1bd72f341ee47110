// The reference backend against hand-derived numbers and plain-JS loops written here.
import { assert, assertClose, test } from "./harness.ts";
import { referenceOps as ops, refToArraySync as values } from "../backends/reference.ts";

const t23 = () => ops.fromArray([1, 2, 3, 4, 5, 6], [2, 3]);

test("reference: construction, shape and read-back copies", async () => {
  const x = t23();
  assert.deepEqual(ops.shape(x), [2, 3]);
  const a = await ops.toArray(x);
  a[0] = 99;
  assert.equal(values(x)[0], 1, "toArray must return a copy");
  const b = values(x);
  b[1] = 99;
  assert.equal(values(x)[1], 2, "refToArraySync must return a copy");
  assert.deepEqual([...values(ops.fill([2, 2], 7))], [7, 7, 7, 7]);
  assert.deepEqual(ops.shape(ops.scalar(3)), []);
  assert.throws(() => ops.fromArray([1, 2, 3], [2, 2]), /fromArray: 3 values do not fill shape \[2,2\]/);
  assert.throws(() => ops.fromInts([1.5], [1]), /fromInts: value 1.5/);
  assert.throws(() => ops.fill([2, -1], 0), /fill: invalid shape \[2,-1\]/);
});

test("reference: NumPy broadcasting of binary ops", () => {
  const col = ops.fromArray([1, 2, 3], [3, 1]);
  const row = ops.fromArray([10, 20], [2]);
  const s = ops.add(col, row);
  assert.deepEqual(ops.shape(s), [3, 2]);
  assert.deepEqual([...values(s)], [11, 21, 12, 22, 13, 23]);
  const d = ops.sub(ops.scalar(1), t23());
  assert.deepEqual([...values(d)], [0, -1, -2, -3, -4, -5]);
  const q = ops.div(t23(), ops.fromArray([1, 2, 4], [1, 1, 3]));
  assert.deepEqual(ops.shape(q), [1, 2, 3]);
  assert.deepEqual([...values(q)], [1, 1, 0.75, 4, 2.5, 1.5]);
  assert.throws(
    () => ops.mul(t23(), ops.fromArray([1, 2], [2])),
    /mul: shapes \[2,3\] and \[2\] cannot be broadcast/,
  );
});

test("reference: comparisons, where, min/max", () => {
  const a = ops.fromArray([1, 5, 3], [3]);
  const b = ops.fromArray([2, 5, 1], [3]);
  assert.deepEqual([...values(ops.greater(a, b))], [0, 0, 1]);
  assert.deepEqual([...values(ops.less(a, b))], [1, 0, 0]);
  assert.deepEqual([...values(ops.equal(a, b))], [0, 1, 0]);
  assert.deepEqual([...values(ops.minimum(a, b))], [1, 5, 1]);
  assert.deepEqual([...values(ops.maximum(a, b))], [2, 5, 3]);
  const w = ops.where(ops.fromArray([1, 0, 2], [3]), t23(), ops.scalar(-1));
  assert.deepEqual([...values(w)], [1, -1, 3, 4, -1, 6]);
});

test("reference: stable unary functions at ±1e3 and near 0", () => {
  const x = ops.fromArray([1000, -1000, 0, 1e-10, -30], [5]);
  assertClose(values(ops.softplus(x)), [1000, 0, Math.LN2, Math.LN2 + 0.5e-10, Math.exp(-30)], {
    rtol: 1e-12,
  });
  assertClose(values(ops.logSigmoid(x)), [0, -1000, -Math.LN2, -Math.LN2 + 0.5e-10, -30 - Math.exp(-30)], {
    rtol: 1e-12,
  });
  assertClose(values(ops.sigmoid(x)), [1, 0, 0.5, 0.5 + 0.25e-10, Math.exp(-30) / (1 + Math.exp(-30))], {
    rtol: 1e-12,
  });
  assertClose(values(ops.log1p(ops.fromArray([1e-12], [1]))), [1e-12], { rtol: 1e-9 });
  const y = ops.fromArray([-4, 0, 2.25], [3]);
  assert.deepEqual([...values(ops.relu(y))], [0, 0, 2.25]);
  assert.deepEqual([...values(ops.abs(y))], [4, 0, 2.25]);
  assert.deepEqual([...values(ops.square(y))], [16, 0, 5.0625]);
  assert.deepEqual([...values(ops.sqrt(ops.abs(y)))], [2, 0, 1.5]);
  assert.deepEqual([...values(ops.neg(y))], [4, -0, -2.25]);
  for (const v of values(ops.softplus(x))) assert.ok(Number.isFinite(v));
});

test("reference: reductions with negative axes and keepDims", () => {
  const x = t23();
  assert.deepEqual([...values(ops.sum(x))], [21]);
  assert.deepEqual(ops.shape(ops.sum(x)), []);
  assert.deepEqual(ops.shape(ops.sum(x, undefined, true)), [1, 1]);
  assert.deepEqual([...values(ops.sum(x, -1))], [6, 15]);
  assert.deepEqual([...values(ops.sum(x, 0))], [5, 7, 9]);
  assert.deepEqual(ops.shape(ops.mean(x, -2, true)), [1, 3]);
  assert.deepEqual([...values(ops.mean(x, -2, true))], [2.5, 3.5, 4.5]);
  assert.deepEqual([...values(ops.max(x, 1))], [3, 6]);
  const lse = values(ops.logSumExp(x, -1));
  assertClose(lse, [
    Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)),
    Math.log(Math.exp(4) + Math.exp(5) + Math.exp(6)),
  ], {
    rtol: 1e-14,
  });
  assert.throws(() => ops.sum(x, 2), /sum: axis 2 is out of range for a tensor of rank 2/);
  assert.throws(() => ops.max(x, -3), /max: axis -3/);
});

test("reference: logSumExp is finite at ±1e3 and −∞ on all −∞", () => {
  const big = ops.fromArray([1000, 1000, -1000, -1000], [2, 2]);
  assertClose(values(ops.logSumExp(big, -1)), [1000 + Math.LN2, -1000 + Math.LN2], { rtol: 1e-14 });
  assert.deepEqual([...values(ops.logSumExp(ops.fill([3], -Infinity)))], [-Infinity]);
  assert.deepEqual([...values(ops.logSumExp(ops.fromArray([0, Infinity], [2])))], [Infinity]);
  const mixed = ops.fromArray([-Infinity, 0], [2]);
  assert.deepEqual([...values(ops.logSumExp(mixed))], [0]);
});

test("reference: gatherLast picks x[i, ids[i]] and names bad ids", () => {
  const x = ops.fromArray([0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32], [2, 2, 3]);
  const g = ops.gatherLast(x, ops.fromInts([2, 0, 1, 1], [2, 2]));
  assert.deepEqual(ops.shape(g), [2, 2]);
  assert.deepEqual([...values(g)], [2, 10, 21, 31]);
  assert.throws(() => ops.gatherLast(x, ops.fromInts([3, 0, 0, 0], [2, 2])), /id 3 .*vocab size 3/);
  assert.throws(() => ops.gatherLast(x, ops.fromInts([-1, 0, 0, 0], [2, 2])), /id -1 .*vocab size 3/);
  assert.throws(
    () => ops.gatherLast(x, ops.fromInts([0, 0], [2])),
    /gatherLast: x of shape \[2,2,3\] needs ids of shape \[2,2\]/,
  );
});

test("reference: slice, reshape, concat", () => {
  const x = t23();
  const s = ops.slice(x, [0, 1], [-1, 2]);
  assert.deepEqual(ops.shape(s), [2, 2]);
  assert.deepEqual([...values(s)], [2, 3, 5, 6]);
  assert.deepEqual([...values(ops.slice(x, [1, 0], [1, 1]))], [4]);
  assert.throws(() => ops.slice(x, [0, 2], [1, 2]), /slice: .*axis 1 range 2..4 is outside 0..3/);
  const r = ops.reshape(x, [3, -1]);
  assert.deepEqual(ops.shape(r), [3, 2]);
  assert.deepEqual([...values(r)], [1, 2, 3, 4, 5, 6]);
  assert.throws(() => ops.reshape(x, [4, 2]), /reshape: cannot reshape \[2,3\] \(size 6\) to \[4,2\]/);
  const c = ops.concat([x, ops.fromArray([7, 8], [2, 1])], -1);
  assert.deepEqual(ops.shape(c), [2, 4]);
  assert.deepEqual([...values(c)], [1, 2, 3, 7, 4, 5, 6, 8]);
  const c0 = ops.concat([x, x], 0);
  assert.deepEqual([...values(c0)], [1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6]);
  assert.throws(() => ops.concat([x, ops.fromArray([1, 2], [1, 2])], 0), /concat: shapes \[2,3\], \[1,2\]/);
  assert.throws(() => ops.concat([], 0), /concat/);
});

test("reference: tidy runs fn, stopGradient is identity, dispose is harmless", () => {
  const x = t23();
  assert.equal(ops.tidy(() => 42), 42);
  assert.deepEqual([...values(ops.stopGradient(x))], [1, 2, 3, 4, 5, 6]);
  ops.dispose(x);
  assert.deepEqual([...values(x)], [1, 2, 3, 4, 5, 6]);
});
