#!/usr/bin/python3
"""Make the tiny Hugging Face checkpoints under tests/fixtures/ and their expected outputs.

Run from the repository root with Debian's Python (python3-torch, python3-numpy; no `transformers`,
no `safetensors` package: both the models and the file writer are written out here):

    /usr/bin/python3 scripts/make_hf_fixtures.py

Writes, with fixed seeds (re-running gives the same bytes):

  tests/fixtures/hf-tiny-gpt2/    GPT-2 (vocab 64, d 32, 2 layers, 2 heads, 32 positions, tied head),
                                  F32 model.safetensors, a 64-token byte-level BPE tokenizer.json
  tests/fixtures/hf-tiny-llama/   Llama (vocab 64, d 32, 2 layers, 4 heads, 2 kv heads, MLP 64,
                                  untied head), F16 weights in two shards + model.safetensors.index.json
  tests/fixtures/hf-tiny-qwen2/   Qwen2 (q/k/v biases, tied head, vocab 259), BF16 weights, the
                                  library's byte-level tokenizer (tokenizer_config.json)
  tests/fixtures/peft-tiny-llama/ a PEFT LoRA adapter for hf-tiny-llama (r 4, alpha 8, q_proj and
                                  v_proj, random non-zero B)
  tests/fixtures/hf-tiny-gemma/   Gemma (vocab 64, d 32, 2 layers, 4 heads of width 16 ≠ 32/4, one KV
                                  head, GeGLU MLP 48, √d embedding scale, (1 + w) RMSNorm, tied), F32
  tests/fixtures/hf-tiny-gemma2/  Gemma 2 (d 32, 3 layers, 4 heads of 16, 2 KV heads, extra norms,
                                  attention cap 2, final cap 3, query_pre_attn_scalar 24, window 4 on
                                  layers 0 and 2), BF16
  tests/fixtures/hf-tiny-mistral/ Mistral (the Llama dimensions, window 4 on every layer), F16

Gemma, Gemma 2 and Mistral use 12-token batches (their windows are 4); their forward,
gemma_family_forward, is written from the Hugging Face modelling equations, not imported.
Re-running may change the last digit of a float64 log-prob (BLAS reduction order differs between
machines); the logits, rounded to 6 digits, do not change.

Each folder has expected.json: the input ids, attention masks, logits (float64 forward of the stored
weights, rounded to 6 significant digits) of a batch of two full sequences, of a right-padded and a
left-padded batch (positions = cumulative mask − 1, as transformers' generate does; logits at pad
positions are not meaningful; Qwen2 has only the full batch), and per-sequence Σ log p(completion | prompt) for a few
prompt/completion pairs (each scored alone, no padding). GPT-2 and Qwen2 also have text pairs with
the ids their tokenizers give.
"""
import argparse
import json
import math
import os
import re
import struct

import numpy as np
import torch

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fixtures")
torch.set_default_dtype(torch.float64)


# ---- safetensors writer ---------------------------------------------------------------------------

def stored(t, dtype):
    """The tensor rounded to the storage dtype, back in float64, and its little-endian bytes."""
    t32 = t.to(torch.float32).contiguous()
    if dtype == "F32":
        return t32.to(torch.float64), t32.numpy().astype("<f4").tobytes()
    if dtype == "F16":
        h = t32.to(torch.float16)
        return h.to(torch.float64), h.numpy().astype("<f2").tobytes()
    if dtype == "BF16":
        b = t32.to(torch.bfloat16)
        return b.to(torch.float64), b.view(torch.int16).numpy().astype("<i2").tobytes()
    raise ValueError(dtype)


def write_safetensors(path, tensors, metadata=None):
    """tensors: list of (name, dtype, shape, bytes). Header padded with spaces to a multiple of 8."""
    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, shape, data in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, _, data in tensors:
            f.write(data)
    return offset


def make_weights(spec, dtype, generator):
    """spec: list of (name, shape, kind). Returns {name: float64 tensor as stored}, [(name, dtype, shape, bytes)]."""
    values, records = {}, []
    for name, shape, kind in spec:
        noise = torch.randn(shape, generator=generator, dtype=torch.float32)
        if kind == "norm":
            t = 1.0 + 0.1 * noise
        elif kind == "bias":
            t = 0.1 * noise
        else:
            t = 0.2 * noise
        value, data = stored(t, dtype)
        values[name] = value
        records.append((name, dtype, shape, data))
    return values, records


# ---- independent forward passes (float64) ---------------------------------------------------------

NEG = -1e30


def attention(q, k, v, mask, scale=None, softcap=None, window=None):
    """q [B,H,T,h], k/v [B,H,T,h] (kv heads already repeated), mask [B,T] (1 real): causal + padding.

    scale: multiplies q·kᵀ (default 1/√h). softcap c: scores → c·tanh(scores/c) before masking
    (Gemma 2). window w: a query at position p sees keys at positions p − w < k ≤ p (Hugging Face's
    sliding-window rule, `kv_idx > q_idx - sliding_window`), positions counted over real tokens.
    """
    t = q.shape[2]
    scores = q @ k.transpose(-1, -2)
    scores = scores / math.sqrt(q.shape[-1]) if scale is None else scores * scale
    if softcap is not None:
        scores = softcap * torch.tanh(scores / softcap)
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    allowed = causal[None, None, :, :] & (mask[:, None, None, :] > 0)
    if window is not None:
        pos = positions_of(mask)
        allowed = allowed & ((pos[:, :, None] - pos[:, None, :]) < window)[:, None, :, :]
    scores = scores.masked_fill(~allowed, NEG)
    return torch.softmax(scores, dim=-1) @ v


def positions_of(mask):
    pos = torch.cumsum(mask, dim=1) - 1
    return pos.clamp(min=0).long()


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdim=True)
    var = ((x - mu) ** 2).mean(-1, keepdim=True)
    return (x - mu) / torch.sqrt(var + eps) * w + b


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gpt2_forward(w, cfg, ids, mask):
    b, t = ids.shape
    d, nh = cfg["n_embd"], cfg["n_head"]
    hd = d // nh
    x = w["transformer.wte.weight"][ids] + w["transformer.wpe.weight"][positions_of(mask)]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        a = layer_norm(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"], cfg["layer_norm_epsilon"])
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]  # Conv1D: x @ W[in, out] + b
        q, k, v = qkv.split(d, dim=-1)
        heads = lambda z: z.view(b, t, nh, hd).transpose(1, 2)
        o = attention(heads(q), heads(k), heads(v), mask).transpose(1, 2).reshape(b, t, d)
        x = x + o @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = layer_norm(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"], cfg["layer_norm_epsilon"])
        m = gelu_new(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = layer_norm(x, w["transformer.ln_f.weight"], w["transformer.ln_f.bias"], cfg["layer_norm_epsilon"])
    return x @ w["transformer.wte.weight"].T


def rms_norm(x, w, eps):
    return x / torch.sqrt((x * x).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat([-x[..., half:], x[..., :half]], dim=-1)


def linear(x, w, name, bias=False):
    y = x @ w[name + ".weight"].T  # torch Linear: weight [out, in]
    return y + w[name + ".bias"] if bias else y


def llama_forward(w, cfg, ids, mask, lora=None):
    """lora: {module: (A [r,in], B [out,r], scale)} applied as W + scale·B·A."""
    b, t = ids.shape
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = d // nh
    qkv_bias = cfg["model_type"] == "qwen2"

    def proj(x, name, bias=False):
        y = linear(x, w, name, bias)
        if lora and name in lora:
            a, bb, scale = lora[name]
            y = y + scale * (x @ a.T @ bb.T)
        return y

    pos = positions_of(mask).to(torch.float64)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = pos[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat([freqs, freqs], dim=-1)  # [B, T, hd]
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    x = w["model.embed_tokens.weight"][ids]
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = rms_norm(x, w[p + "input_layernorm.weight"], cfg["rms_norm_eps"])
        q = proj(a, p + "self_attn.q_proj", qkv_bias).view(b, t, nh, hd).transpose(1, 2)
        k = proj(a, p + "self_attn.k_proj", qkv_bias).view(b, t, nkv, hd).transpose(1, 2)
        v = proj(a, p + "self_attn.v_proj", qkv_bias).view(b, t, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        o = attention(q, k, v, mask).transpose(1, 2).reshape(b, t, nh * hd)
        x = x + proj(o, p + "self_attn.o_proj")
        m = rms_norm(x, w[p + "post_attention_layernorm.weight"], cfg["rms_norm_eps"])
        gate = proj(m, p + "mlp.gate_proj")
        x = x + proj(torch.nn.functional.silu(gate) * proj(m, p + "mlp.up_proj"), p + "mlp.down_proj")
    x = rms_norm(x, w["model.norm.weight"], cfg["rms_norm_eps"])
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    return x @ head.T


def gelu_tanh(x):
    """torch's gelu(approximate="tanh"), Gemma's gelu_pytorch_tanh, written out."""
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def gemma_family_forward(w, cfg, ids, mask):
    """Gemma, Gemma 2 and Mistral, written from their Hugging Face modelling code's equations:

    - all: RMSNorm, RoPE (rotate-half), grouped-query attention with head_dim from the config;
    - gemma, gemma2: embeddings × √d, RMSNorm × (1 + w), GeGLU MLP (tanh-GELU gate), tied head;
    - gemma2: per layer x += post_attention_norm(attn(input_norm(x))) and
      x += post_feedforward_norm(mlp(pre_feedforward_norm(x))); scores scaled by
      query_pre_attn_scalar^−½ and soft-capped c·tanh(s/c) (attn_logit_softcapping) before the mask;
      the sliding window on even layers (0, 2, …); final logits soft-capped (final_logit_softcapping);
    - mistral: SwiGLU MLP, the sliding window on every layer.
    """
    b, t = ids.shape
    kind = cfg["model_type"]
    gemma = kind in ("gemma", "gemma2")
    d, nh, nkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // nh
    eps = cfg["rms_norm_eps"]
    norm = (lambda x, name: rms_norm(x, 1.0 + w[name], eps)) if gemma else (lambda x, name: rms_norm(x, w[name], eps))
    act = gelu_tanh if gemma else torch.nn.functional.silu
    pos = positions_of(mask).to(torch.float64)
    inv_freq = 1.0 / (cfg["rope_theta"] ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    freqs = pos[:, :, None] * inv_freq[None, None, :]
    emb = torch.cat([freqs, freqs], dim=-1)
    cos, sin = emb.cos()[:, None], emb.sin()[:, None]
    x = w["model.embed_tokens.weight"][ids]
    if gemma:
        x = x * math.sqrt(d)
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        a = norm(x, p + "input_layernorm.weight")
        q = linear(a, w, p + "self_attn.q_proj").view(b, t, nh, hd).transpose(1, 2)
        k = linear(a, w, p + "self_attn.k_proj").view(b, t, nkv, hd).transpose(1, 2)
        v = linear(a, w, p + "self_attn.v_proj").view(b, t, nkv, hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(nh // nkv, dim=1)
        v = v.repeat_interleave(nh // nkv, dim=1)
        if kind == "gemma2":
            window = cfg["sliding_window"] if i % 2 == 0 else None
            o = attention(q, k, v, mask, scale=cfg["query_pre_attn_scalar"] ** -0.5,
                          softcap=cfg["attn_logit_softcapping"], window=window)
        else:
            o = attention(q, k, v, mask, window=cfg.get("sliding_window"))
        o = linear(o.transpose(1, 2).reshape(b, t, nh * hd), w, p + "self_attn.o_proj")
        if kind == "gemma2":
            x = x + norm(o, p + "post_attention_layernorm.weight")
            m = norm(x, p + "pre_feedforward_layernorm.weight")
        else:
            x = x + o
            m = norm(x, p + "post_attention_layernorm.weight")
        m = linear(act(linear(m, w, p + "mlp.gate_proj")) * linear(m, w, p + "mlp.up_proj"), w, p + "mlp.down_proj")
        x = x + (norm(m, p + "post_feedforward_layernorm.weight") if kind == "gemma2" else m)
    x = norm(x, "model.norm.weight")
    head = w["model.embed_tokens.weight"] if cfg.get("tie_word_embeddings") else w["lm_head.weight"]
    logits = x @ head.T
    if kind == "gemma2" and cfg.get("final_logit_softcapping") is not None:
        cap = cfg["final_logit_softcapping"]
        logits = cap * torch.tanh(logits / cap)
    return logits


# ---- expected outputs -----------------------------------------------------------------------------

def rounded(t):
    return [float("%.6g" % v) for v in t.reshape(-1).tolist()]


def sequence_logprob(forward, prompt, completion):
    ids = torch.tensor([prompt + completion])
    logits = forward(ids, torch.ones_like(ids, dtype=torch.float64))
    logp = torch.log_softmax(logits[0], dim=-1)
    n = len(prompt)
    return float(sum(logp[n + j - 1, tok] for j, tok in enumerate(completion)))


def expected_outputs(forward, vocab, generator, length=10, pairs=None, padded=True):
    ids = torch.randint(0, vocab, (2, length), generator=generator)
    full = torch.ones(2, length, dtype=torch.float64)
    right = full.clone()
    right[1, 6:] = 0
    left = full.clone()
    left[1, :3] = 0
    right_ids, left_ids = ids.clone(), ids.clone()
    right_ids[1, 6:] = 0
    left_ids[1, :3] = 0
    cases = {}
    batches = [("full", ids, full)]
    if padded:
        batches += [("right_padded", right_ids, right), ("left_padded", left_ids, left)]
    for name, x, m in batches:
        logits = forward(x, m)
        cases[name] = {
            "input_ids": x.tolist(),
            "attention_mask": m.long().tolist(),
            "shape": list(logits.shape),
            "logits": rounded(logits),
        }
    if pairs is None:
        pairs = []
        for n_prompt, n_completion in [(3, 4), (1, 6), (5, 2)]:
            seq = torch.randint(0, vocab, (n_prompt + n_completion,), generator=generator).tolist()
            pairs.append((seq[:n_prompt], seq[n_prompt:]))
    score = [
        {"prompt_ids": p, "completion_ids": c, "logprob": sequence_logprob(forward, p, c), "tokens": len(c)}
        for p, c in pairs
    ]
    return {"cases": cases, "score": score}


def dump(folder, name, obj):
    with open(os.path.join(folder, name), "w") as f:
        json.dump(obj, f, indent=1 if name != "expected.json" else None)
        f.write("\n")


def fresh(name):
    folder = os.path.join(ROOT, name)
    os.makedirs(folder, exist_ok=True)
    for f in os.listdir(folder):
        os.remove(os.path.join(folder, f))
    return folder


# ---- a 64-token byte-level BPE for the GPT-2 fixture ----------------------------------------------

BPE_MERGES = [
    "h e", "Ġ t", "Ġt he", "a t", "Ġ c", "Ġc at", "Ġ s", "Ġs at", "o n", "Ġ on", "Ġ a", "i n", "Ġ in",
    "Ġ m", "Ġm at", "Ġ d", "Ġd o", "Ġdo g", "Ġ r", "Ġr a", "Ġra n", "e d", "i s", "Ġ is", "o r", "u n",
    "Ġs un", "e r", "t h", "Ġ i", "Ġi t",
]
BPE_ALPHABET = ["Ġ"] + [chr(c) for c in range(ord("a"), ord("z") + 1)] + [".", ",", "?", "!"]


def bpe_vocab():
    vocab = {"<|endoftext|>": 0, "<unk>": 1}
    for ch in BPE_ALPHABET:
        vocab[ch] = len(vocab)
    for m in BPE_MERGES:
        vocab[m.replace(" ", "")] = len(vocab)
    assert len(vocab) == 64, len(vocab)
    return vocab


def bpe_encode(text, vocab):
    """GPT-2 pre-tokenization (ASCII form of its regex), byte-level characters, rank-ordered merges."""
    ranks = {tuple(m.split(" ")): i for i, m in enumerate(BPE_MERGES)}
    pieces = re.findall(r"'s|'t|'re|'ve|'m|'ll|'d| ?[A-Za-z]+| ?[0-9]+| ?[^\sA-Za-z0-9]+|\s+(?!\S)|\s+", text)
    ids = []
    for piece in pieces:
        word = ["Ġ" if ch == " " else ch for ch in piece]  # ASCII: byte-level char = itself, space = Ġ
        while len(word) > 1:
            best = min(range(len(word) - 1), key=lambda i: ranks.get((word[i], word[i + 1]), 1 << 30))
            if (word[best], word[best + 1]) not in ranks:
                break
            word = word[:best] + [word[best] + word[best + 1]] + word[best + 2:]
        ids.extend(vocab.get(tok, vocab["<unk>"]) for tok in word)
    return ids


def bpe_tokenizer_json(vocab):
    special = {"id": 0, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
               "normalized": False, "special": True}
    byte_level = {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True}
    return {
        "version": "1.0", "truncation": None, "padding": None, "added_tokens": [special], "normalizer": None,
        "pre_tokenizer": byte_level, "post_processor": byte_level, "decoder": byte_level,
        "model": {"type": "BPE", "dropout": None, "unk_token": "<unk>", "continuing_subword_prefix": None,
                  "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False, "ignore_merges": False,
                  "vocab": vocab, "merges": BPE_MERGES},
    }


TEXT_PAIRS = [
    ("the cat", " sat on the mat."),
    ("a dog ", "ran in the sun!"),   # the trailing space would merge with "ran": scored separately
    ("Is it", " red?"),               # "I" is not in the vocabulary: <unk>
]


# ---- the fixtures ---------------------------------------------------------------------------------

def gpt2_fixture():
    folder = fresh("hf-tiny-gpt2")
    cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": 64, "n_embd": 32,
           "n_layer": 2, "n_head": 2, "n_positions": 32, "n_ctx": 32, "n_inner": None,
           "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new", "bos_token_id": 0, "eos_token_id": 0,
           "tie_word_embeddings": True, "scale_attn_weights": True, "torch_dtype": "float32"}
    d, v = cfg["n_embd"], cfg["vocab_size"]
    spec = [("transformer.wte.weight", (v, d), "matrix"), ("transformer.wpe.weight", (32, d), "matrix")]
    for i in range(cfg["n_layer"]):
        p = f"transformer.h.{i}."
        spec += [(p + "ln_1.weight", (d,), "norm"), (p + "ln_1.bias", (d,), "bias"),
                 (p + "attn.c_attn.weight", (d, 3 * d), "matrix"), (p + "attn.c_attn.bias", (3 * d,), "bias"),
                 (p + "attn.c_proj.weight", (d, d), "matrix"), (p + "attn.c_proj.bias", (d,), "bias"),
                 (p + "ln_2.weight", (d,), "norm"), (p + "ln_2.bias", (d,), "bias"),
                 (p + "mlp.c_fc.weight", (d, 4 * d), "matrix"), (p + "mlp.c_fc.bias", (4 * d,), "bias"),
                 (p + "mlp.c_proj.weight", (4 * d, d), "matrix"), (p + "mlp.c_proj.bias", (d,), "bias")]
    spec += [("transformer.ln_f.weight", (d,), "norm"), ("transformer.ln_f.bias", (d,), "bias")]
    gen = torch.Generator().manual_seed(1)
    w, records = make_weights(spec, "F32", gen)
    write_safetensors(os.path.join(folder, "model.safetensors"), records, {"format": "pt"})
    dump(folder, "config.json", cfg)
    vocab = bpe_vocab()
    dump(folder, "tokenizer.json", bpe_tokenizer_json(vocab))
    dump(folder, "tokenizer_config.json", {"tokenizer_class": "GPT2Tokenizer", "bos_token": "<|endoftext|>",
                                           "eos_token": "<|endoftext|>", "unk_token": "<unk>",
                                           "model_max_length": 32, "clean_up_tokenization_spaces": False})
    forward = lambda ids, mask: gpt2_forward(w, cfg, ids, mask)
    out = expected_outputs(forward, v, torch.Generator().manual_seed(2))
    out["text_score"] = []
    for prompt, completion in TEXT_PAIRS:
        p, c = bpe_encode(prompt, vocab), bpe_encode(completion, vocab)
        out["text_score"].append({"prompt": prompt, "completion": completion, "prompt_ids": p, "completion_ids": c,
                                  "joint_ids": bpe_encode(prompt + completion, vocab),
                                  "logprob": sequence_logprob(forward, p, c), "tokens": len(c)})
    dump(folder, "expected.json", out)


def llama_spec(cfg):
    d, v, f = cfg["hidden_size"], cfg["vocab_size"], cfg["intermediate_size"]
    hd = cfg.get("head_dim") or d // cfg["num_attention_heads"]
    sandwich = cfg["model_type"] == "gemma2"
    q, kv = cfg["num_attention_heads"] * hd, cfg["num_key_value_heads"] * hd
    bias = cfg["model_type"] == "qwen2"
    layers = []
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}."
        s = [(p + "input_layernorm.weight", (d,), "norm"), (p + "self_attn.q_proj.weight", (q, d), "matrix")]
        s += [(p + "self_attn.q_proj.bias", (q,), "bias")] if bias else []
        s += [(p + "self_attn.k_proj.weight", (kv, d), "matrix")]
        s += [(p + "self_attn.k_proj.bias", (kv,), "bias")] if bias else []
        s += [(p + "self_attn.v_proj.weight", (kv, d), "matrix")]
        s += [(p + "self_attn.v_proj.bias", (kv,), "bias")] if bias else []
        s += [(p + "self_attn.o_proj.weight", (d, q), "matrix"), (p + "post_attention_layernorm.weight", (d,), "norm")]
        if sandwich:
            s += [(p + "pre_feedforward_layernorm.weight", (d,), "norm"),
                  (p + "post_feedforward_layernorm.weight", (d,), "norm")]
        s += [(p + "mlp.gate_proj.weight", (f, d), "matrix"), (p + "mlp.up_proj.weight", (f, d), "matrix"),
              (p + "mlp.down_proj.weight", (d, f), "matrix")]
        layers.append(s)
    head = [] if cfg.get("tie_word_embeddings") else [("lm_head.weight", (v, d), "matrix")]
    return [("model.embed_tokens.weight", (v, d), "matrix")], layers, [("model.norm.weight", (d,), "norm")] + head


def llama_config(model_type, vocab, tied):
    return {"architectures": ["Qwen2ForCausalLM" if model_type == "qwen2" else "LlamaForCausalLM"],
            "model_type": model_type, "vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "hidden_act": "silu",
            "max_position_embeddings": 64, "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "rope_scaling": None,
            "tie_word_embeddings": tied, "attention_bias": False, "bos_token_id": 1, "eos_token_id": 2,
            "torch_dtype": "float32"}


def llama_fixture():
    folder = fresh("hf-tiny-llama")
    cfg = llama_config("llama", 64, False)
    first, layers, last = llama_spec(cfg)
    gen = torch.Generator().manual_seed(3)
    w1, shard1 = make_weights(first + layers[0], "F16", gen)
    w2, shard2 = make_weights(layers[1] + last, "F16", gen)
    w = {**w1, **w2}
    names = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    total = write_safetensors(os.path.join(folder, names[0]), shard1, {"format": "pt"})
    total += write_safetensors(os.path.join(folder, names[1]), shard2, {"format": "pt"})
    weight_map = {r[0]: names[0] for r in shard1}
    weight_map.update({r[0]: names[1] for r in shard2})
    dump(folder, "model.safetensors.index.json", {"metadata": {"total_size": total}, "weight_map": weight_map})
    dump(folder, "config.json", cfg)
    forward = lambda ids, mask: llama_forward(w, cfg, ids, mask)
    out = expected_outputs(forward, cfg["vocab_size"], torch.Generator().manual_seed(4))
    dump(folder, "expected.json", out)
    return w, cfg, out


def qwen2_fixture():
    folder = fresh("hf-tiny-qwen2")
    cfg = llama_config("qwen2", 259, True)
    first, layers, last = llama_spec(cfg)
    w, records = make_weights(first + layers[0] + layers[1] + last, "BF16", torch.Generator().manual_seed(5))
    write_safetensors(os.path.join(folder, "model.safetensors"), records, {"format": "pt"})
    dump(folder, "config.json", {**cfg, "bos_token_id": 258, "eos_token_id": 256})
    dump(folder, "tokenizer_config.json", {"tokenizer_class": "AlphaSpinByteTokenizer",
                                           "special_tokens": ["<|eos|>", "<|pad|>", "<|bos|>"],
                                           "bos_token": "<|bos|>", "eos_token": "<|eos|>", "pad_token": "<|pad|>"})
    forward = lambda ids, mask: llama_forward(w, cfg, ids, mask)
    out = expected_outputs(forward, cfg["vocab_size"], torch.Generator().manual_seed(6), length=8, padded=False)
    out["text_score"] = []
    for prompt, completion in [("Q: 2+2=", " 4"), ("héllo ", "wörld")]:
        p, c = list(prompt.encode("utf-8")), list(completion.encode("utf-8"))
        out["text_score"].append({"prompt": prompt, "completion": completion, "prompt_ids": p, "completion_ids": c,
                                  "logprob": sequence_logprob(forward, p, c), "tokens": len(c)})
    dump(folder, "expected.json", out)


def gemma_family_fixture(name, cfg, dtype, seed):
    """One folder: config.json, model.safetensors (dtype), expected.json from gemma_family_forward."""
    folder = fresh(name)
    first, layers, last = llama_spec(cfg)
    spec = first + [entry for layer in layers for entry in layer] + last
    if cfg["model_type"] in ("gemma", "gemma2"):
        # Gemma stores w of (1 + w) near 0: draw norm scales around 0 (0.1·noise), not around 1.
        spec = [(n, shape, "bias" if kind == "norm" else kind) for n, shape, kind in spec]
    w, records = make_weights(spec, dtype, torch.Generator().manual_seed(seed))
    write_safetensors(os.path.join(folder, "model.safetensors"), records, {"format": "pt"})
    dump(folder, "config.json", cfg)
    forward = lambda ids, mask: gemma_family_forward(w, cfg, ids, mask)
    out = expected_outputs(forward, cfg["vocab_size"], torch.Generator().manual_seed(seed + 1), length=12)
    dump(folder, "expected.json", out)


def gemma_config():
    """Gemma (v1) traits: head_dim 16 ≠ 32/4, one KV head (multi-query), GeGLU, tied head."""
    return {"architectures": ["GemmaForCausalLM"], "model_type": "gemma", "vocab_size": 64, "hidden_size": 32,
            "intermediate_size": 48, "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
            "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 64,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": True, "attention_bias": False,
            "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "torch_dtype": "float32"}


def gemma2_config():
    """Gemma 2 traits, with caps small enough that tanh bends the tiny model's scores and logits, a
    query_pre_attn_scalar ≠ head_dim, and a window of 4 on layers 0 and 2 (sequences are 7–12 long)."""
    return {"architectures": ["Gemma2ForCausalLM"], "model_type": "gemma2", "vocab_size": 64, "hidden_size": 32,
            "intermediate_size": 64, "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2,
            "head_dim": 16, "hidden_activation": "gelu_pytorch_tanh", "max_position_embeddings": 64,
            "rms_norm_eps": 1e-6, "rope_theta": 10000.0, "tie_word_embeddings": True, "attention_bias": False,
            "query_pre_attn_scalar": 24, "attn_logit_softcapping": 2.0, "final_logit_softcapping": 3.0,
            "sliding_window": 4, "bos_token_id": 2, "eos_token_id": 1, "pad_token_id": 0, "torch_dtype": "float32"}


def mistral_config():
    """Mistral: Llama's layout with a sliding window of 4 on every layer, untied head."""
    return {**llama_config("mistral", 64, False), "architectures": ["MistralForCausalLM"], "sliding_window": 4}


def peft_fixture(w, cfg, base_out):
    folder = fresh("peft-tiny-llama")
    r, alpha = 4, 8
    gen = torch.Generator().manual_seed(7)
    lora, records = {}, []
    for i in range(cfg["num_hidden_layers"]):
        for name in ["q_proj", "v_proj"]:
            module = f"model.layers.{i}.self_attn.{name}"
            out_features, in_features = w[module + ".weight"].shape
            a, a_bytes = stored(0.2 * torch.randn((r, in_features), generator=gen, dtype=torch.float32), "F32")
            b, b_bytes = stored(0.2 * torch.randn((out_features, r), generator=gen, dtype=torch.float32), "F32")
            lora[module] = (a, b, alpha / r)
            records.append((f"base_model.model.{module}.lora_A.weight", "F32", (r, in_features), a_bytes))
            records.append((f"base_model.model.{module}.lora_B.weight", "F32", (out_features, r), b_bytes))
    write_safetensors(os.path.join(folder, "adapter_model.safetensors"), records, {"format": "pt"})
    dump(folder, "adapter_config.json", {
        "peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "hf-tiny-llama", "revision": None,
        "r": r, "lora_alpha": alpha, "lora_dropout": 0.0, "target_modules": ["q_proj", "v_proj"], "bias": "none",
        "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True, "use_rslora": False,
        "use_dora": False, "modules_to_save": None, "layers_to_transform": None, "layers_pattern": None,
        "rank_pattern": {}, "alpha_pattern": {}})
    forward = lambda ids, mask: llama_forward(w, cfg, ids, mask, lora)
    pairs = [(s["prompt_ids"], s["completion_ids"]) for s in base_out["score"]]
    out = expected_outputs(forward, cfg["vocab_size"], torch.Generator().manual_seed(4), pairs=pairs)
    assert out["cases"]["full"]["input_ids"] == base_out["cases"]["full"]["input_ids"]
    dump(folder, "expected.json", out)


if __name__ == "__main__":
    # No options; --help says what the script writes, anything else is refused (exit 2).
    argparse.ArgumentParser(
        prog="/usr/bin/python3 scripts/make_hf_fixtures.py",
        description="Remake the tiny Hugging Face checkpoints under tests/fixtures/ and their expected outputs "
        "(hf-tiny-gpt2, hf-tiny-llama, hf-tiny-qwen2, peft-tiny-llama); fixed seeds, same bytes on every run.",
    ).parse_args()
    gpt2_fixture()
    w, cfg, out = llama_fixture()
    qwen2_fixture()
    peft_fixture(w, cfg, out)
    gemma_family_fixture("hf-tiny-gemma", gemma_config(), "F32", 8)
    gemma_family_fixture("hf-tiny-gemma2", gemma2_config(), "BF16", 10)
    gemma_family_fixture("hf-tiny-mistral", mistral_config(), "F16", 12)
    names = ("hf-tiny-gpt2", "hf-tiny-llama", "hf-tiny-qwen2", "peft-tiny-llama", "hf-tiny-gemma", "hf-tiny-gemma2",
             "hf-tiny-mistral")
    total = sum(os.path.getsize(os.path.join(dp, f)) for dp, _, fs in os.walk(ROOT) for f in fs
                if dp.split(os.sep)[-1] in names)
    print(f"wrote tests/fixtures/{{{','.join(names)}}} ({total // 1024} KiB)")
