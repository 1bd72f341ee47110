// Child of backends.quiet.test.ts: one tensor on tfjs's cpu backend, after quietTfjs() when the
// first argument is "quiet". Prints nothing itself; tfjs's banner (if any) goes to stderr.
import * as tf from "@tensorflow/tfjs";
import process from "node:process";
import { quietTfjs } from "../backends/quiet.ts";

if (process.argv[2] === "quiet") quietTfjs();
await tf.setBackend("cpu");
tf.tensor([1, 2, 3]).dispose();
