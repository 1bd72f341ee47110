#!/usr/bin/python3
"""Golden values of the `simpo` and Plackett–Luce losses, computed with Debian's PyTorch in float64
(torch's logsigmoid, log_softmax and cross_entropy, not the formulas of losses/), printed as the
TypeScript literals pasted into tests/losses.golden-cases.ts:

    /usr/bin/python3 scripts/make_loss_goldens.py

Inputs: the shared batch of tests/losses.golden-cases.ts (PC, PR, NW, NL) for SimPO, and a list
batch LIST_POLICY / LIST_REF / LIST_MASK ([3, 4]: the data answer and three generated answers; the
second prompt has one padded column) for Plackett–Luce with β = 0.5.
"""
import torch

torch.set_default_dtype(torch.float64)
F = torch.nn.functional

PC = [-12.5, -30.0, -8.0, -20.0, -5.0]
PR = [-14.0, -28.0, -9.5, -20.0, -45.0]
NW = [4, 10, 3, 7, 1]
NL = [6, 12, 3, 2, 9]

LIST_POLICY = [[-10.0, -12.0, -15.0, -9.0], [-30.0, -28.0, -35.0, 0.0], [-5.0, -5.0, -5.0, -5.0]]
LIST_REF = [[-11.0, -11.0, -14.0, -12.0], [-29.0, -31.0, -30.0, 0.0], [-7.0, -4.0, -6.0, -5.5]]
LIST_MASK = [[1, 1, 1, 1], [1, 1, 1, 0], [1, 1, 1, 1]]
BETA = 0.5


def simpo(beta, gamma):
    pc, pr, nw, nl = (torch.tensor(x, dtype=torch.float64) for x in (PC, PR, NW, NL))
    return (-F.logsigmoid(beta * pc / nw - beta * pr / nl - gamma)).tolist()


def pl_rewards():
    policy = torch.tensor(LIST_POLICY, requires_grad=True)
    r = BETA * (policy - torch.tensor(LIST_REF))
    return policy, r, torch.tensor(LIST_MASK, dtype=torch.bool)


def pl_top1():
    """−log P(y_0 first) as a cross-entropy with target class 0 over the present answers; and its gradient."""
    policy, r, mask = pl_rewards()
    logits = r.masked_fill(~mask, float("-inf"))
    loss = F.cross_entropy(logits, torch.zeros(len(LIST_MASK), dtype=torch.long), reduction="none")
    loss.sum().backward()
    return loss.tolist(), policy.grad.tolist()


def pl_ordered():
    """−log of the PL probability of the ranking y_0 ≻ y_1 ≻ … in list order, over the present answers."""
    _, r, mask = pl_rewards()
    out = []
    for row, m in zip(r, mask):
        items = row[m]
        out.append(float(-sum(F.log_softmax(items[i:], dim=0)[0] for i in range(len(items)))))
    return out


def fmt(xs):
    return "[" + ", ".join(repr(float(x)) for x in xs) + "]"


if __name__ == "__main__":
    print(f"export const SIMPO_GOLDEN = {fmt(simpo(2.0, 0.5))};")
    print(f"export const SIMPO_GOLDEN_B25_G14 = {fmt(simpo(2.5, 1.4))};")
    top1, grad = pl_top1()
    print(f"export const PL_TOP1_GOLDEN = {fmt(top1)};")
    print(f"export const PL_TOP1_GRAD_GOLDEN = [{', '.join(fmt(g) for g in grad)}];")
    print(f"export const PL_ORDERED_GOLDEN = {fmt(pl_ordered())};")
