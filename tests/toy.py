"""Toy data shared by the model tests: a random padded batch and a small translation task."""

import torch
import torch.nn.functional as F

from models.search import greedy_search

PAD, BOS, EOS = 0, 2, 3
V = 20


def random_batch(seed: int = 0, V: int = V):
    """src with lengths 7, 4, 2 (incl. eos) and tgt_in with 6, 3, 5 real positions."""
    g = torch.Generator().manual_seed(seed)
    src_lengths, tgt_lengths = torch.tensor([7, 4, 2]), torch.tensor([6, 3, 5])
    src_mask = torch.arange(7)[None] < src_lengths[:, None]
    src = torch.randint(4, V, (3, 7), generator=g).masked_fill(~src_mask, PAD)
    src[torch.arange(3), src_lengths - 1] = EOS
    tgt_mask = torch.arange(6)[None] < tgt_lengths[:, None]
    tgt_in = torch.randint(4, V, (3, 6), generator=g).masked_fill(~tgt_mask, PAD)
    tgt_in[:, 0] = BOS
    return src, src_mask, tgt_in, tgt_mask


def toy_task(n_pairs: int = 16, seed: int = 0, V: int = V):
    """Reverse the source and shift every symbol by 5 (mod 16): needs word order and a lookup."""
    g = torch.Generator().manual_seed(seed)
    pairs = []
    for _ in range(n_pairs):
        n = int(torch.randint(3, 7, (1,), generator=g))
        source = torch.randint(4, V, (n,), generator=g).tolist()
        pairs.append((source, [4 + (s - 4 + 5) % 16 for s in reversed(source)]))
    S, T = max(len(s) for s, _ in pairs) + 1, max(len(t) for _, t in pairs) + 1
    src = torch.full((n_pairs, S), PAD)
    tgt_in, tgt_out = torch.full((n_pairs, T), PAD), torch.full((n_pairs, T), PAD)
    for i, (s, t) in enumerate(pairs):
        src[i, :len(s) + 1] = torch.tensor(s + [EOS])
        tgt_in[i, :len(t) + 1] = torch.tensor([BOS] + t)
        tgt_out[i, :len(t) + 1] = torch.tensor(t + [EOS])
    return src, src != PAD, tgt_in, tgt_out, [t + [EOS] for _, t in pairs]


def overfit(model, max_steps: int = 400, lr: float = 1e-2) -> bool:
    """Adam on the toy task until greedy search translates every pair exactly."""
    torch.manual_seed(0)
    src, src_mask, tgt_in, tgt_out, expected = toy_task()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(1, max_steps + 1):
        model.train()
        logits, _ = model(src, src_mask, tgt_in)
        loss = F.cross_entropy(logits.flatten(0, 1), tgt_out.flatten(), ignore_index=PAD)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 20 == 0:
            hyps = greedy_search(model, src, src_mask, BOS, EOS, need_weights=False)
            if [h.tokens for h in hyps] == expected:
                return True
    return False
