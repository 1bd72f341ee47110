#!/usr/bin/env python3
"""The benchmark's `dpo_step` in PyTorch on the CPU, for docs/benchmarks.md's native comparison.

Same work as bench/ (configs.ts, measure.ts): GPT-2 blocks (LayerNorm, tanh-GELU MLP of width 4d,
fused q/k/v, causal attention), untied output head, 2·batch sequences of ctx tokens (chosen and
rejected; the first ctx/4 are the prompt, left out of the log-prob sums), a no-gradient forward of a
frozen reference copy, the sigmoid (DPO) loss with β = 0.1, AdamW (weight decay 0.01) with gradient
clipping at norm 1. Reports seconds per step and tokens/s = 2·batch·ctx / seconds.

    python3 scripts/torch-dpo-step.py [--config small] [--threads 1] [--steps 5]

Needs Debian's python3-torch; never a dependency of the package.
"""
import argparse
import copy
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "tiny": dict(vocab=256, d=128, layers=2, heads=4, ctx=64, batch=8),
    "small": dict(vocab=512, d=256, layers=4, heads=4, ctx=128, batch=8),
    "medium": dict(vocab=8192, d=512, layers=6, heads=8, ctx=256, batch=4),
}


class Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(2, 3)) / math.sqrt(d // self.heads)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        a = torch.softmax(scores.masked_fill(~causal, float("-inf")), dim=-1) @ v
        x = x + self.c_proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.wpe = nn.Embedding(max(c["ctx"], 144), c["d"])
        self.blocks = nn.ModuleList(Block(c["d"], c["heads"]) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["d"])
        self.head = nn.Linear(c["d"], c["vocab"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        pos = torch.arange(ids.shape[1])
        x = self.wte(ids) + self.wpe(pos)
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln_f(x))


def sequence_logps(model: nn.Module, ids: torch.Tensor, prompt: int) -> torch.Tensor:
    """Σ log p of the response tokens (positions ≥ prompt), predicted from the previous position."""
    logits = model(ids)[:, prompt - 1 : -1]
    targets = ids[:, prompt:]
    return (torch.gather(logits, 2, targets.unsqueeze(2)).squeeze(2) - torch.logsumexp(logits, 2)).sum(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        prog="/usr/bin/python3 scripts/torch-dpo-step.py",
        description="The benchmark's dpo_step in PyTorch on the CPU: seconds per step and tokens/s.",
    )
    parser.add_argument("--config", default="small", choices=list(CONFIGS), help="model size (default: small)")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps (default: 5)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(1)
    c = CONFIGS[args.config]
    policy = Gpt2(c)
    reference = copy.deepcopy(policy).requires_grad_(False)
    n = sum(p.numel() for p in policy.parameters()) - policy.wte.weight.numel() - policy.wpe.weight.numel()
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-5, weight_decay=0.01)
    ids = torch.randint(0, c["vocab"], (2 * c["batch"], c["ctx"]))
    ids[c["batch"] :, : c["ctx"] // 4] = ids[: c["batch"], : c["ctx"] // 4]  # shared prompts
    prompt = c["ctx"] // 4

    def step() -> float:
        with torch.no_grad():
            ref = sequence_logps(reference, ids, prompt)
        lp = sequence_logps(policy, ids, prompt)
        h = (lp[: c["batch"]] - ref[: c["batch"]]) - (lp[c["batch"] :] - ref[c["batch"] :])
        loss = -F.logsigmoid(0.1 * h).mean()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(policy.parameters(), 1.0)
        optimizer.step()
        return loss.item()

    step()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    seconds = (time.perf_counter() - start) / args.steps
    tokens = 2 * c["batch"] * c["ctx"]
    a = torch.randn(1024, 1024)
    b = torch.randn(1024, 1024)
    a @ b
    t0 = time.perf_counter()
    for _ in range(10):
        a @ b
    mm = 2 * 1024**3 / ((time.perf_counter() - t0) / 10) / 1e9
    print(
        f"torch {torch.__version__}, {args.threads} thread(s), {args.config}: {seconds:.3f} s/step, "
        f"{tokens / seconds:.0f} tokens/s, {8 * n * tokens / seconds / 1e9:.1f} GFLOP/s (8·N·tokens, N = {n}); "
        f"matmul 1024² {mm:.1f} GFLOP/s"
    )


if __name__ == "__main__":
    main()
