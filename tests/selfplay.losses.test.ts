// The new losses run in the self-play loop from a run config: `simpo` (which needs the token counts
// the loop supplies) and `plackett_luce` (its pairwise view: one generated answer per prompt).
import { assert, assertClose, test } from "./harness.ts";
import { runSelfPlay } from "../selfplay/loop.ts";
import { setupFixture, smallConfig } from "./selfplay.support.ts";

for (const [name, beta, params] of [["simpo", 2, { gamma: 0.5 }], ["plackett_luce", 0.1, { ranking: "top1" }]] as const) {
  test(`self-play trains with loss "${name}" and logs finite metrics`, async () => {
    const f = await setupFixture();
    try {
      const config = smallConfig(f, { name, iterations: 1, beta, loss: { name, params } });
      const result = await runSelfPlay({ config });
      assert.equal(result.metrics.length, 4);
      for (const row of result.metrics) {
        for (const key of ["loss", "rewards/chosen", "rewards/rejected", "logps/chosen", "logps/rejected"]) {
          assert.ok(Number.isFinite(row[key] as number), `${name}: ${key} = ${row[key]}`);
        }
      }
      if (name === "simpo") {
        // SimPO's rewards are β × the average token log-prob it reports.
        const first = result.metrics[0];
        assertClose([first["rewards/chosen"] as number], [beta * (first["logps/chosen"] as number)], { atol: 1e-5 });
      }
    } finally {
      await f.cleanup();
    }
  });
}
