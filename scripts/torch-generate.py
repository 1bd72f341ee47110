#!/usr/bin/env python3
"""Greedy decoding with a KV cache in PyTorch on the CPU: the generation peer of bench/ (`--peer torch`).

Same work as the bench's `generate` figure (bench/measure.ts): the config's model from
scripts/torch_bench_models.py, a batch of 8 prompts of 16 random tokens, L new tokens (64; s135m: 128)
and 2L, greedy (argmax) with no end-of-sequence token. The prompt is run once through the model (the
prefill), then one token per step against the cache of keys and values, which grows by concatenation
as the library's does. One untimed run of 4 tokens, then `--runs` runs of L and of 2L; each time is the
minimum over the runs (`--no-warmup`: L runs only, as the bench's s135m). CPU seconds (time.process_time)
of the fastest L run give cpu_tokens_per_s, not inflated by other load. tokens_per_s = 8·L / t(L); time_ratio_2x = t(2L) / t(L).

    /usr/bin/python3 scripts/torch-generate.py [--config small] [--threads 1] [--runs 3] [--json]

Needs Debian's python3-torch; never a dependency of the package.
"""
import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

from torch_bench_models import (  # noqa: E402
    CONFIGS,
    GEN_BATCH,
    GEN_PROMPT,
    gen_new_tokens,
    logits_of,
    make_model,
    peak_rss_mb,
)


@torch.no_grad()
def greedy(model, prompts: torch.Tensor, new_tokens: int) -> torch.Tensor:
    """prompts [b, p] → the b·new_tokens greedy continuations [b, new_tokens]."""
    cache: list = []
    hidden = model(prompts, cache, 0)
    token = logits_of(model, hidden[:, -1]).argmax(-1, keepdim=True)
    out = [token]
    for i in range(1, new_tokens):
        hidden = model(token, cache, prompts.shape[1] + i - 1)
        token = logits_of(model, hidden[:, -1]).argmax(-1, keepdim=True)
        out.append(token)
    return torch.cat(out, dim=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", default="small", choices=list(CONFIGS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="runs of L and of 2L (the fastest is kept)")
    parser.add_argument("--json", action="store_true", help="print one @@torch JSON line")
    parser.add_argument("--no-warmup", action="store_true", help="L runs only, no 2L (as bench s135m)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    model = make_model(args.config).eval()
    g = torch.Generator().manual_seed(2)
    prompts = torch.randint(0, CONFIGS[args.config]["vocab"], (GEN_BATCH, GEN_PROMPT), generator=g)
    new_tokens = gen_new_tokens(args.config)

    cpu_l = float("inf")

    def timed(n: int) -> float:
        nonlocal cpu_l
        start, cpu_start = time.perf_counter(), time.process_time()
        greedy(model, prompts, n)
        if n == new_tokens:
            cpu_l = min(cpu_l, time.process_time() - cpu_start)
        return time.perf_counter() - start

    timed(4)
    t_l = t_2l = float("inf")
    for _ in range(args.runs):
        t_l = min(t_l, timed(new_tokens))
        if not args.no_warmup:
            t_2l = min(t_2l, timed(2 * new_tokens))
    result = dict(
        torch=torch.__version__,
        config=args.config,
        threads=args.threads,
        tokens_per_s=GEN_BATCH * new_tokens / t_l,
        cpu_tokens_per_s=GEN_BATCH * new_tokens / cpu_l,
        time_ratio_2x=None if args.no_warmup else t_2l / t_l,
        new_tokens=new_tokens,
        seconds_l=t_l,
        seconds_2l=None if args.no_warmup else t_2l,
        runs=args.runs,
        peak_rss_mb=peak_rss_mb(),
    )
    if args.json:
        print(f"@@torch {json.dumps(result)}")
    else:
        print(
            f"torch {torch.__version__}, {args.threads} thread(s), {args.config}: greedy batch {GEN_BATCH}, "
            f"{new_tokens} new tokens in {t_l:.3f} s ({result['tokens_per_s']:.0f} tokens/s), "
            f"t(2L)/t(L) = {result['time_ratio_2x']}"
        )


if __name__ == "__main__":
    main()
