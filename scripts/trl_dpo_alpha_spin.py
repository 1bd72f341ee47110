#!/usr/bin/env python3
"""Train one α-SPIN iteration with TRL's DPOTrainer on the pairs alpha-spin exported.

The pairs (``pairs.dpo.jsonl`` or ``pairs.dpo.parquet`` of an iteration folder) hold ``prompt``,
``chosen`` (the SFT answer), ``rejected`` (the opponent's answer) and the α-mixed reference
log-probs ``ref_chosen_logps`` / ``ref_rejected_logps`` = α·log π_{t−1}(y|x) + (1 − α)·log π_base(y|x),
summed over the completion tokens. DPO's loss with that reference is exactly α-SPIN's step: the
reference is the geometric mixture π_{t−1}^α·π_base^(1−α) (its normaliser cancels in the margin).

TRL cannot take those columns as they are. With ``precompute_ref_log_probs=False`` the trainer
ignores them and runs its own reference forward (the base model with adapters off, or a frozen copy
of the init adapter); with ``precompute_ref_log_probs=True`` ``DPOTrainer._precompute_ref_logps``
computes them again from its own reference and adds them next to ours (``concatenate_datasets(…,
axis=1)`` since v1.6.0, ``add_column`` in v0.29.1–v1.5.x: a duplicate column, refused or resolved
by one of the two, never ours alone).
``PrecomputedReferenceDPOTrainer`` below overrides that one method to keep the given columns, so
the loss reads them from each batch (``_compute_loss``: ``if self.precompute_ref_logps: … inputs[
"ref_chosen_logps"]``) and no reference forward ever runs.

Written against TRL's source at commit f2cd57710ae345ea6428ae95363267fcf38a3dc8 (2026-07-24,
version 1.10.0.dev0) and checked by reading the same method, signature and loss path in the
releases v0.29.1 through v1.9.0. NOT run here (the machine this was written on has no TRL, no GPU
and no network): run it once with ``--verify-ref 8`` before trusting it.

What must agree for the columns to be right (``--verify-ref N`` measures it): TRL tokenizes
``prompt`` and ``prompt + chosen`` with the tokenizer's special tokens (Gemma: a BOS), appends the
tokenizer's EOS text to ``chosen``/``rejected`` when missing, and sums log-probs over the completion
tokens after the prompt, EOS included; it keeps the first ``--max-length`` tokens of prompt + completion,
which is alpha-spin's rule (``maxLength``, default 1024 in both) as long as no prompt was longer than the
run's ``maxPromptLength`` (alpha-spin keeps a long prompt's end, TRL the start of the whole sequence).

Example (one iteration, t = 2, four GPUs):

    accelerate launch --num_processes 4 scripts/trl_dpo_alpha_spin.py \\
        --pairs runs/demo/iter-2/pairs.dpo.parquet --model google/gemma-2b \\
        --init-adapter runs/demo/iter-1/adapter --output-dir runs/demo/iter-2/trainer-output \\
        --beta 0.1 --alpha 0.5 --learning-rate 5e-5 --epochs 3 --lora-r 16 --lora-alpha 16 \\
        --lora-targets q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj --seed 2
"""

import argparse
import math
import sys

REF_COLUMNS = ("ref_chosen_logps", "ref_rejected_logps")
# TRL losses that see the reference only through the margin, where the mixture's unknown per-prompt
# log-normaliser log Z_t(x) cancels (docs/losses.md); the others need 0 < α < 1 excluded.
MARGIN_ONLY_LOSSES = ("sigmoid", "hinge", "robust", "exo_pair", "discopop")
TESTED_TRL = ("0.29.1", "1.10.0.dev0")  # the range of TRL versions whose source was read


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--pairs", required=True, help="pairs.dpo.jsonl or pairs.dpo.parquet")
    p.add_argument("--model", required=True, help="base model π_base: hub id or folder")
    p.add_argument("--init-adapter", default="", help="π_{t-1}'s PEFT adapter; empty at t = 1")
    p.add_argument("--output-dir", required=True, help="where the new adapter is saved")
    p.add_argument("--beta", type=float, required=True)
    p.add_argument("--learning-rate", type=float, default=5e-5)
    p.add_argument("--epochs", type=float, default=3)
    p.add_argument("--lora-r", type=int, default=16)
    p.add_argument("--lora-alpha", type=float, default=16)
    p.add_argument("--lora-dropout", type=float, default=0.05)
    p.add_argument("--lora-targets", default="q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj",
                   help="comma-separated module names, or all-linear")
    p.add_argument("--per-device-batch-size", type=int, default=4)
    p.add_argument("--gradient-accumulation", type=int, default=4)
    p.add_argument("--warmup-ratio", type=float, default=0.1)
    p.add_argument("--max-length", type=int, default=1024,
                   help="TRL's max_length (keep_start): the run's maxLength; 0: no truncation")
    p.add_argument("--loss-type", default="sigmoid", help="TRL loss_type; margin-only unless --alpha is 0 or 1")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--iteration", type=int, default=0, help="for the run name only")
    p.add_argument("--no-bf16", action="store_true", help="train in fp32 (bf16 by default)")
    p.add_argument("--no-gradient-checkpointing", action="store_true")
    p.add_argument("--attn-implementation", default=None, help="e.g. eager for gemma-2, sdpa")
    p.add_argument("--verify-ref", type=int, default=0,
                   help="recompute the reference of the first N pairs with TRL's tokenization and compare")
    p.add_argument("--alpha", type=float, default=None,
                   help="α of this iteration (needed by --verify-ref and by losses that are not margin-only)")
    p.add_argument("--verify-tol", type=float, default=0.5,
                   help="largest accepted |difference| in nats (bf16 forwards differ by a few tenths)")
    args = p.parse_args(argv)
    if args.alpha is not None and not 0 <= args.alpha <= 1:
        p.error("--alpha must be in [0, 1]")
    if args.verify_ref > 0 and args.alpha is None:
        p.error("--verify-ref needs --alpha")
    if args.loss_type not in MARGIN_ONLY_LOSSES and args.alpha not in (0, 1):
        p.error(f"--loss-type {args.loss_type} reads each reference log-prob on its own, so the mixture's "
                f"log Z_t(x) does not cancel: use one of {', '.join(MARGIN_ONLY_LOSSES)}, or give --alpha 0 or 1")
    return args


def load_pairs(path):
    """The pairs as a datasets.Dataset, refused with the row number when a reference log-prob is bad."""
    from datasets import load_dataset

    kind = "parquet" if path.endswith(".parquet") else "json"
    ds = load_dataset(kind, data_files=path, split="train")
    missing = [c for c in ("prompt", "chosen", "rejected", *REF_COLUMNS) if c not in ds.column_names]
    if missing:
        sys.exit(f"{path}: missing column(s) {', '.join(missing)}; export the pairs with their reference log-probs")
    for column in REF_COLUMNS:
        for i, v in enumerate(ds[column]):
            if v is None or not math.isfinite(v):
                sys.exit(f"{path} row {i + 1}: {column} is {v!r}, a finite number is needed")
    keep = ["prompt", "chosen", "rejected", *REF_COLUMNS]
    return ds.remove_columns([c for c in ds.column_names if c not in keep])


def make_trainer_class():
    from trl import DPOTrainer

    class PrecomputedReferenceDPOTrainer(DPOTrainer):
        """DPOTrainer that takes ref_chosen_logps / ref_rejected_logps from the dataset as given."""

        def _precompute_ref_logps(self, dataset, name, batch_size):
            absent = [c for c in REF_COLUMNS if c not in dataset.column_names]
            if absent:
                raise ValueError(f"the {name} dataset has no {', '.join(absent)}: this trainer never computes a reference")
            return dataset

    return PrecomputedReferenceDPOTrainer


def load_policy(args, targets):
    """The base model with π_{t-1}'s adapter (trainable) or None, and the LoraConfig for a fresh one."""
    import torch
    import transformers
    from packaging.version import Version
    from peft import LoraConfig, PeftModel

    dtype = torch.float32 if args.no_bf16 else torch.bfloat16
    key = "dtype" if Version(transformers.__version__) >= Version("4.56.0") else "torch_dtype"
    kwargs = {key: dtype}
    if args.attn_implementation:
        kwargs["attn_implementation"] = args.attn_implementation
    model = transformers.AutoModelForCausalLM.from_pretrained(args.model, **kwargs)
    if not args.init_adapter:
        config = LoraConfig(r=args.lora_r, lora_alpha=args.lora_alpha, lora_dropout=args.lora_dropout,
                            target_modules=targets, bias="none", task_type="CAUSAL_LM")
        return model, config
    model = PeftModel.from_pretrained(model, args.init_adapter, is_trainable=True)
    got = model.peft_config["default"]
    got_targets = got.target_modules if isinstance(got.target_modules, str) else sorted(got.target_modules)
    want_targets = targets if isinstance(targets, str) else sorted(targets)
    wrong = [f"{name} is {a!r}, --{flag} says {b!r}" for name, flag, a, b in (
        ("r", "lora-r", got.r, args.lora_r),
        ("lora_alpha", "lora-alpha", got.lora_alpha, args.lora_alpha),
        ("target_modules", "lora-targets", got_targets, want_targets),
    ) if a != b]
    if wrong:
        sys.exit(f"{args.init_adapter}: the init adapter does not match this run: " + "; ".join(wrong))
    return model, None


def completion_logps(model, batch):
    """Summed completion log-probs of a collated batch ([chosen…, rejected…]), as TRL sums them."""
    import torch

    device = next(model.parameters()).device
    sums = []
    for i in range(batch["input_ids"].shape[0]):  # one sequence at a time: Gemma's logits are 256k wide
        inputs = {k: batch[k][i : i + 1].to(device) for k in ("input_ids", "attention_mask")}
        with torch.no_grad():
            logits = model(**inputs, use_cache=False).logits[0, :-1, :].float()
        labels = inputs["input_ids"][0, 1:]
        mask = batch["completion_mask"][i, 1:].to(device)
        per_token = logits.gather(-1, labels.unsqueeze(-1)).squeeze(-1) - torch.logsumexp(logits, dim=-1)
        sums.append(float((per_token * mask).sum()))
    return torch.tensor(sums, dtype=torch.float64)


def verify_reference(trainer, n, alpha, tol):
    """α·lp_prev + (1 − α)·lp_base of the first n pairs, through TRL's own tokenization and collator,
    against the exported columns. At this point the trainable adapter is still π_{t-1}'s (or a fresh
    one, B = 0, which is π_base)."""
    import torch

    model = trainer.accelerator.unwrap_model(trainer.model)
    rows = [trainer.train_dataset[i] for i in range(min(n, len(trainer.train_dataset)))]
    batch = trainer.data_collator(rows)
    was_training = model.training
    model.eval()
    lp_prev = completion_logps(model, batch)
    with model.disable_adapter():
        lp_base = completion_logps(model, batch)
    model.train(was_training)
    mixed = alpha * lp_prev + (1 - alpha) * lp_base
    given = torch.tensor([[r[c] for c in REF_COLUMNS] for r in rows], dtype=torch.float64).T.reshape(-1)
    diff = (mixed - given).abs()
    if trainer.accelerator.is_main_process:
        print(f"verify-ref: {len(rows)} pairs, |recomputed − exported| max {diff.max():.4f}, "
              f"mean {diff.mean():.4f} nats (tolerance {tol})")
    if diff.max() > tol:
        worst = int(diff.argmax()) % len(rows)
        sys.exit(f"verify-ref: pair {worst + 1}'s reference differs by {diff.max():.3f} nats: the export and TRL "
                 "tokenize differently (BOS, EOS, chat template, truncation); see docs/scale-out.md, "Training on TRL"")


def main(argv=None):
    args = parse_args(argv)
    import trl
    from accelerate import PartialState
    from packaging.version import Version
    from transformers import AutoTokenizer
    from trl import DPOConfig

    if not Version(TESTED_TRL[0]) <= Version(trl.__version__) <= Version(TESTED_TRL[1]):
        print(f"warning: TRL {trl.__version__} is outside {TESTED_TRL[0]}…{TESTED_TRL[1]}, the versions whose "
              "DPOTrainer._precompute_ref_logps this script overrides; check that method still exists", file=sys.stderr)
    targets = "all-linear" if args.lora_targets == "all-linear" else args.lora_targets.split(",")
    pairs = load_pairs(args.pairs)
    tokenizer = AutoTokenizer.from_pretrained(args.model)
    model, peft_config = load_policy(args, targets)

    world = PartialState().num_processes
    per_step = args.per_device_batch_size * args.gradient_accumulation * world
    total_steps = math.ceil(len(pairs) / per_step) * math.ceil(args.epochs)
    config = DPOConfig(
        output_dir=args.output_dir,
        run_name=f"alpha-spin-iter-{args.iteration}",
        beta=args.beta,
        loss_type=[args.loss_type],
        precompute_ref_log_probs=True,  # the loss reads the reference from the batch; nothing keeps a ref model
        max_length=args.max_length or None,
        learning_rate=args.learning_rate,
        num_train_epochs=args.epochs,
        per_device_train_batch_size=args.per_device_batch_size,
        gradient_accumulation_steps=args.gradient_accumulation,
        lr_scheduler_type="linear",
        warmup_steps=math.ceil(args.warmup_ratio * total_steps),  # warmup_ratio is deprecated in recent transformers
        bf16=not args.no_bf16,
        gradient_checkpointing=not args.no_gradient_checkpointing,
        seed=args.seed,
        logging_steps=10,
        save_strategy="no",
        report_to="none",
    )
    if config.ld_alpha is not None or config.use_weighting:
        sys.exit("ld_alpha and use_weighting change TRL's logps; the exported reference is a plain sum")
    trainer = make_trainer_class()(model=model, args=config, train_dataset=pairs,
                                   processing_class=tokenizer, peft_config=peft_config)
    if trainer.ref_model is not None:
        sys.exit("TRL kept a reference model; the α-mixed reference must come from the pairs only")
    if args.verify_ref > 0:
        verify_reference(trainer, args.verify_ref, args.alpha, args.verify_tol)
    trainer.train()

    trainer.accelerator.wait_for_everyone()
    if trainer.accelerator.is_main_process:
        trained = trainer.accelerator.unwrap_model(trainer.model)
        trained.peft_config["default"].base_model_name_or_path = args.model
        # With an init adapter TRL adds a frozen copy named "ref"; only the trained one is π_t.
        trained.save_pretrained(args.output_dir, selected_adapters=["default"], safe_serialization=True)
        print(f"saved π_{args.iteration or 't'}'s adapter to {args.output_dir}")


if __name__ == "__main__":
    main()
