"""The benchmark's models in PyTorch, for the same-run peer of bench/ (scripts/torch-dpo-step.py and
scripts/torch-generate.py import this file).

Same shapes as bench/configs.ts: tiny, small and medium are GPT-2 blocks (LayerNorm, tanh-GELU MLP of
width 4d, fused q/k/v `c_attn`, causal attention, learned positions, untied head); s135m is
SmolLM2-135M's Llama shape (RMSNorm ε 1e-5, SwiGLU, RoPE θ 100000 in the rotate-half convention,
9 query heads sharing 3 key/value heads, tied head). Weights are random, N(0, 0.02²) matrices.

Every model returns hidden states; the head is applied by the caller to the rows it needs, as the
library does (no head on prompt columns except the last). `forward(ids, cache)` also serves greedy
decoding: with a cache (one (k, v) pair per layer, grown by concatenation, as the library's cache is),
only the new tokens are computed.

Needs Debian's python3-torch (1.13); never a dependency of the package.
"""
import math
import resource

import torch
import torch.nn as nn
import torch.nn.functional as F

CONFIGS = {
    "tiny": dict(family="gpt2", vocab=256, d=128, layers=2, heads=4, ctx=64, batch=8),
    "small": dict(family="gpt2", vocab=512, d=256, layers=4, heads=4, ctx=128, batch=8),
    "medium": dict(family="gpt2", vocab=8192, d=512, layers=6, heads=8, ctx=256, batch=4),
    "s135m": dict(family="llama", vocab=49152, d=576, layers=30, heads=9, kv_heads=3, ffn=1536, ctx=512, batch=4),
}

# Generation: batch 8, prompt 16 tokens, L new tokens (s135m: 128) and 2L; as bench/configs.ts.
GEN_BATCH, GEN_PROMPT = 8, 16


def gen_new_tokens(name: str) -> int:
    return 128 if name == "s135m" else 64


def max_positions(name: str) -> int:
    c = CONFIGS[name]
    return max(c["ctx"], GEN_PROMPT + 2 * gen_new_tokens(name))


# LoRA as the bench trains it: GPT-2 r = 8 on c_attn and the attention c_proj; s135m r = 16 on every
# attention and MLP projection. Scale alpha / r with alpha = 2r.
LORA = {
    "gpt2": dict(r=8, targets=("c_attn", "c_proj")),
    "llama": dict(r=16, targets=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")),
}


def peak_rss_mb() -> float:
    """Peak resident memory of this process (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def causal_attention(q, k, v, offset: int) -> torch.Tensor:
    """softmax(q kᵀ / √h) v with query i seeing keys ≤ offset + i; q [b, H, t, h], k, v [b, H, s, h]."""
    t, s = q.shape[2], k.shape[2]
    scores = (q @ k.transpose(2, 3)) / math.sqrt(q.shape[3])
    if t > 1:
        allowed = torch.ones(t, s, dtype=torch.bool).tril(diagonal=offset)
        scores = scores.masked_fill(~allowed, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def grown(cache, layer: int, k, v):
    """Append k, v to the layer's cache (concatenation, like the library's); returns the full k, v."""
    if cache is None:
        return k, v
    if layer < len(cache):
        pk, pv = cache[layer]
        k, v = torch.cat([pk, k], dim=2), torch.cat([pv, v], dim=2)
        cache[layer] = (k, v)
    else:
        cache.append((k, v))
    return k, v


class Gpt2Block(nn.Module):
    def __init__(self, d: int, heads: int):
        super().__init__()
        self.heads = heads
        self.ln_1 = nn.LayerNorm(d)
        self.c_attn = nn.Linear(d, 3 * d)
        self.c_proj = nn.Linear(d, d)
        self.ln_2 = nn.LayerNorm(d)
        self.c_fc = nn.Linear(d, 4 * d)
        self.mlp_proj = nn.Linear(4 * d, d)

    def forward(self, x, cache, layer: int, offset: int):
        b, t, d = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(d, dim=2)
        shape = (b, t, self.heads, d // self.heads)
        q, k, v = (z.view(shape).transpose(1, 2) for z in (q, k, v))
        k, v = grown(cache, layer, k, v)
        a = causal_attention(q, k, v, offset)
        x = x + self.c_proj(a.transpose(1, 2).reshape(b, t, d))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class Gpt2(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        c = CONFIGS[name]
        self.wte = nn.Embedding(c["vocab"], c["d"])
        self.wpe = nn.Embedding(max_positions(name), c["d"])
        self.blocks = nn.ModuleList(Gpt2Block(c["d"], c["heads"]) for _ in range(c["layers"]))
        self.ln_f = nn.LayerNorm(c["d"])
        self.head = nn.Linear(c["d"], c["vocab"], bias=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    def embedding_parameters(self) -> int:
        return self.wte.weight.numel() + self.wpe.weight.numel()

    def forward(self, ids, cache=None, offset: int = 0):
        x = self.wte(ids) + self.wpe(torch.arange(offset, offset + ids.shape[1]))
        for i, block in enumerate(self.blocks):
            x = block(x, cache, i, offset)
        return self.ln_f(x)


class RmsNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x):
    a, b = x.chunk(2, dim=-1)
    return torch.cat([-b, a], dim=-1)


class LlamaBlock(nn.Module):
    def __init__(self, c: dict):
        super().__init__()
        d, self.heads, self.kv_heads = c["d"], c["heads"], c["kv_heads"]
        self.head_dim = d // self.heads
        self.input_layernorm = RmsNorm(d, 1e-5)
        self.q_proj = nn.Linear(d, self.heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(d, self.kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(self.heads * self.head_dim, d, bias=False)
        self.post_attention_layernorm = RmsNorm(d, 1e-5)
        self.gate_proj = nn.Linear(d, c["ffn"], bias=False)
        self.up_proj = nn.Linear(d, c["ffn"], bias=False)
        self.down_proj = nn.Linear(c["ffn"], d, bias=False)

    def forward(self, x, cos, sin, cache, layer: int, offset: int):
        b, t, d = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        k, v = grown(cache, layer, k, v)
        group = self.heads // self.kv_heads
        a = causal_attention(q, k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1), offset)
        x = x + self.o_proj(a.transpose(1, 2).reshape(b, t, d))
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Llama(nn.Module):
    def __init__(self, name: str):
        super().__init__()
        c = CONFIGS[name]
        self.embed_tokens = nn.Embedding(c["vocab"], c["d"])
        self.blocks = nn.ModuleList(LlamaBlock(c) for _ in range(c["layers"]))
        self.norm = RmsNorm(c["d"], 1e-5)
        half = c["d"] // c["heads"] // 2
        inv = 1.0 / (100000.0 ** (torch.arange(half, dtype=torch.float32) / half))
        angles = torch.outer(torch.arange(max_positions(name), dtype=torch.float32), inv)
        self.register_buffer("cos", torch.cat([angles, angles], dim=-1).cos(), persistent=False)
        self.register_buffer("sin", torch.cat([angles, angles], dim=-1).sin(), persistent=False)
        for p in self.parameters():
            if p.dim() == 2:
                nn.init.normal_(p, std=0.02)

    @property
    def head(self):
        return self.embed_tokens  # tied: logits = h · Eᵀ

    def embedding_parameters(self) -> int:
        return 0  # the tied head costs V·d per token, so the embedding matrix stays in N

    def forward(self, ids, cache=None, offset: int = 0):
        t = ids.shape[1]
        cos, sin = self.cos[offset : offset + t], self.sin[offset : offset + t]
        x = self.embed_tokens(ids)
        for i, block in enumerate(self.blocks):
            x = block(x, cos, sin, cache, i, offset)
        return self.norm(x)


def logits_of(model: nn.Module, hidden: torch.Tensor) -> torch.Tensor:
    return hidden @ model.head.weight.t()


def make_model(name: str) -> nn.Module:
    return Llama(name) if CONFIGS[name]["family"] == "llama" else Gpt2(name)


class LoraLinear(nn.Module):
    """base(x) + (α/r)·B(A(x)), base frozen; A ~ N(0, 1/r)-ish, B = 0 (the PEFT initialization)."""

    def __init__(self, base: nn.Linear, r: int):
        super().__init__()
        self.base = base.requires_grad_(False)
        self.lora_A = nn.Parameter(torch.randn(r, base.in_features) / math.sqrt(base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        self.scale = 2.0  # α / r with α = 2r

    def forward(self, x):
        return self.base(x) + ((x @ self.lora_A.t()) @ self.lora_B.t()) * self.scale


def add_lora(model: nn.Module, name: str) -> list:
    """Freeze the model and wrap the bench's LoRA targets; returns the adapter parameters."""
    spec = LORA[CONFIGS[name]["family"]]
    model.requires_grad_(False)
    for block in model.blocks:
        for target in spec["targets"]:
            setattr(block, target, LoraLinear(getattr(block, target), spec["r"]))
    return [p for p in model.parameters() if p.requires_grad]


def sequence_logps(model: nn.Module, ids: torch.Tensor, prompt: int) -> torch.Tensor:
    """Σ log p of the response tokens (positions ≥ prompt), the head only on the rows that predict them."""
    hidden = model(ids)[:, prompt - 1 : -1]
    logits = logits_of(model, hidden)
    targets = ids[:, prompt:]
    return (torch.gather(logits, 2, targets.unsqueeze(2)).squeeze(2) - torch.logsumexp(logits, 2)).sum(1)


def preference_ids(name: str, seed: int = 1) -> torch.Tensor:
    """2·batch sequences of ctx tokens: chosen rows first, then rejected; the first ctx/4 shared."""
    c = CONFIGS[name]
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(0, c["vocab"], (2 * c["batch"], c["ctx"]), generator=g)
    ids[c["batch"] :, : c["ctx"] // 4] = ids[: c["batch"], : c["ctx"] // 4]
    return ids


def flop_parameters(model: nn.Module) -> int:
    """N: parameters minus embeddings (a tied head counted once, as bench/configs.ts does)."""
    return sum(p.numel() for p in model.parameters()) - model.embedding_parameters()
