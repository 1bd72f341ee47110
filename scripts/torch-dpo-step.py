#!/usr/bin/env python3
"""The benchmark's training steps in PyTorch on the CPU: the same-run peer of bench/ (`--peer torch`).

Same work as bench/measure.ts on the models of scripts/torch_bench_models.py:
- `--mode full` (dpo_step): full fine-tuning; the policy's forward and backward over 2·batch sequences
  of ctx tokens (chosen and rejected; the first ctx/4 are the prompt, left out of the log-prob sums)
  with the reference log-probs computed once before the timed steps (as the library's training step
  and α-SPIN's reference phase do), the sigmoid (DPO) loss with β = 0.1, AdamW (weight decay 0.01)
  with gradient clipping at norm 1.
- `--mode lora` (dpo_step_lora): the base frozen, LoRA on the bench's targets (GPT-2: r = 8 on c_attn
  and the attention c_proj; s135m: r = 16 on q, k, v, o, gate, up, down), reference log-probs computed
  once before the timed steps, AdamW (weight decay 0), clipping at 1.
- `--mode logprob`: a no-gradient forward plus sequence log-probs of the same 2·batch sequences.
- `--mode matmul`: 1024 × 1024 fp32 products (torch.mm), one warm-up, 10 timed.

CPU seconds (time.process_time, all threads) are reported next to wall seconds: on a shared machine
they are not inflated by other load. `--micro-batch K` runs the passes K pairs (2K sequences) at a time with the gradients accumulated,
as the bench does on its larger configs. One untimed step, then `--steps` timed ones. Reports seconds
per step and tokens/s = 2·batch·ctx / seconds (with `--json`, one line `@@torch {...}`).

    /usr/bin/python3 scripts/torch-dpo-step.py [--config small] [--mode full] [--threads 1] [--steps 5] [--json]

Needs Debian's python3-torch; never a dependency of the package.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

from torch_bench_models import (  # noqa: E402
    CONFIGS,
    add_lora,
    flop_parameters,
    make_model,
    peak_rss_mb,
    preference_ids,
    sequence_logps,
)


def matmul_gflops(n: int = 1024, reps: int = 10) -> dict:
    """GFLOP/s of torch.mm by the wall clock and by this process's CPU seconds."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    torch.mm(a, b)
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(reps):
        torch.mm(a, b)
    flops = 2 * n**3 * reps
    return dict(
        matmul1024_gflops=flops / (time.perf_counter() - start) / 1e9,
        matmul1024_cpu_gflops=flops / (time.process_time() - cpu_start) / 1e9,
    )


def chunks(ids: torch.Tensor, batch: int, micro: int):
    """(chosen, rejected) row blocks of `micro` pairs each."""
    for s in range(0, batch, micro):
        e = min(batch, s + micro)
        yield ids[s:e], ids[batch + s : batch + e], e - s


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="small", choices=list(CONFIGS))
    parser.add_argument("--mode", default="full", choices=["full", "lora", "logprob", "matmul"])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--micro-batch", type=int, default=0, help="pairs per pass (0: the whole batch)")
    parser.add_argument("--json", action="store_true", help="print one @@torch JSON line")
    parser.add_argument("--no-warmup", action="store_true", help="logprob: no untimed pass first (as bench s135m)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    if args.mode == "matmul":
        result = matmul_gflops()
        print(f"@@torch {json.dumps(result)}" if args.json else result)
        return

    c = CONFIGS[args.config]
    batch, ctx, prompt = c["batch"], c["ctx"], c["ctx"] // 4
    micro = args.micro_batch or batch
    policy = make_model(args.config)
    n = flop_parameters(policy)
    ids = preference_ids(args.config)
    tokens = 2 * batch * ctx

    def logps(model, chosen, rejected):
        both = sequence_logps(model, torch.cat([chosen, rejected]), prompt)
        return both[: chosen.shape[0]], both[chosen.shape[0] :]

    if args.mode == "logprob":
        def step() -> None:
            with torch.no_grad():
                for chosen, rejected, _ in chunks(ids, batch, micro):
                    logps(policy, chosen, rejected)
    else:
        with torch.no_grad():  # the reference log-probs, once (the initial policy = the base)
            pre = [logps(policy, ch, rj) for ch, rj, _ in chunks(ids, batch, micro)]
        if args.mode == "full":
            params = list(policy.parameters())
            optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.01)
        else:
            params = add_lora(policy, args.config)
            optimizer = torch.optim.AdamW(params, lr=1e-5, weight_decay=0.0)

        def step() -> None:
            optimizer.zero_grad(set_to_none=True)
            for i, (chosen, rejected, _) in enumerate(chunks(ids, batch, micro)):
                ref_c, ref_r = pre[i]
                lp_c, lp_r = logps(policy, chosen, rejected)
                h = (lp_c - ref_c) - (lp_r - ref_r)
                loss = -F.logsigmoid(0.1 * h).sum() / batch
                loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()

    if not (args.no_warmup and args.mode == "logprob"):  # the training steps always take one untimed step
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    cpu_seconds = (time.process_time() - cpu_start) / args.steps
    per_token = {"full": 6 * n, "logprob": 2 * n}.get(args.mode)
    result = dict(
        torch=torch.__version__,
        config=args.config,
        mode=args.mode,
        threads=args.threads,
        tokens_per_s=tokens / seconds,
        seconds_per_step=seconds,
        cpu_seconds_per_step=cpu_seconds,
        cpu_tokens_per_s=tokens / cpu_seconds,
        steps=args.steps,
        micro_batch=micro,
        flop_parameters=n,
        peak_rss_mb=peak_rss_mb(),
    )
    if per_token is not None:
        result["gflops"] = per_token * tokens / seconds / 1e9
    if args.json:
        print(f"@@torch {json.dumps(result)}")
    else:
        print(
            f"torch {torch.__version__}, {args.threads} thread(s), {args.config} {args.mode}: {seconds:.3f} s/step, "
            f"{tokens / seconds:.0f} tokens/s, N = {n}, peak RSS {result['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
