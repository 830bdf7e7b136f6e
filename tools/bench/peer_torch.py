#!/usr/bin/env python3
"""The PyTorch peer of `deno task bench --peer torch`.

The same model as lib/models/transformer.ts and causal_lm.ts, written the way a PyTorch
user would (nanoGPT's shape): token + position embeddings, pre-LayerNorm blocks of causal
self-attention and a tanh-GELU MLP, a final LayerNorm, logits through the tied token
embedding; GPT-2 initialisation (N(0, 0.02), residual projections N(0, 0.02/sqrt(2L)),
positions N(0, 0.01)). It times the same two workloads as the deno side:

- train: one step = forward, mean token cross-entropy, backward, global-norm clipping,
  AdamW (decoupled weight decay on matrices only), on a [B, T+1] batch of random tokens;
- sample: B prompts of P tokens, a prefill that fills a KV cache, then one position per
  new token, n tokens per row drawn at temperature 1 (log-probabilities kept, as the kit's
  sampler does), logits only for the last position.

Usage: peer_torch.py '<job JSON>' prints one JSON object on stdout. The job names the
model (vocabSize, dModel, nLayers, nHeads, context, mlpRatio), the workload (trainBatch,
trainLength, sampleBatch, promptLength, newTokens), the step (lr, beta1, beta2, eps,
weightDecay, gradClip), threads, warmup, repeats and seed. With "probe": true it only
reports its version, threads and parameter count. With "check": {"weights": path,
"tokens": [[...]], "lr": x} it instead loads the deno model's weights (a JSON file
{name: {shape, values}}, deno's names and layouts) and returns the loss and gradient norm
of one step and the loss after it, so a test can hold both sides to the same numbers.

Exit codes: 0 with figures; 3 with {"error": "torch-missing"} when torch cannot be
imported; 2 with {"error": "bad-job"} for a malformed job.
"""
import json
import math
import sys
import time


def fail(kind, message, code):
    print(json.dumps({"error": kind, "message": message}))
    return code


def build(torch, cfg):
    """The GPT model class for `cfg` (torch is imported lazily, so the class is too)."""
    nn = torch.nn
    F = torch.nn.functional
    d, h, n_layers = cfg["dModel"], cfg["nHeads"], cfg["nLayers"]
    hidden = cfg["mlpRatio"] * d
    hd = d // h

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(d, eps=1e-5)
            self.qkv = nn.Linear(d, 3 * d)
            self.proj = nn.Linear(d, d)
            self.ln2 = nn.LayerNorm(d, eps=1e-5)
            self.fc1 = nn.Linear(d, hidden)
            self.fc2 = nn.Linear(hidden, d)

        def forward(self, x, bias, past):
            b, t, _ = x.shape  # [B, T, D]
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q = q.view(b, t, h, hd).transpose(1, 2)  # [B, H, T, hd]
            k = k.view(b, t, h, hd).transpose(1, 2)
            v = v.view(b, t, h, hd).transpose(1, 2)
            if past is not None:
                k = torch.cat([past[0], k], dim=2)  # [B, H, S, hd]
                v = torch.cat([past[1], v], dim=2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))  # [B, H, T, S]
            if bias is not None:
                att = att + bias
            y = F.softmax(att, dim=-1) @ v  # [B, H, T, hd]
            x = x + self.proj(y.transpose(1, 2).reshape(b, t, d))
            x = x + self.fc2(F.gelu(self.fc1(self.ln2(x)), approximate="tanh"))
            return x, (k, v)

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(cfg["vocabSize"], d)
            self.wpe = nn.Embedding(cfg["context"], d)
            self.blocks = nn.ModuleList([Block() for _ in range(n_layers)])
            self.lnf = nn.LayerNorm(d, eps=1e-5)
            c = cfg["context"]
            # Additive causal mask as the kit's: 0 on and below the diagonal, -1e9 above.
            self.register_buffer("causal", torch.triu(torch.full((c, c), -1e9), diagonal=1))
            for name, p in self.named_parameters():
                if name.endswith("bias") or ".ln" in name or name.startswith("lnf"):
                    continue  # LayerNorm gains 1 and every bias 0: PyTorch's defaults
                std = 0.01 if name == "wpe.weight" else 0.02
                if name.endswith("proj.weight") or name.endswith("fc2.weight"):
                    std = 0.02 / math.sqrt(2 * n_layers)
                nn.init.normal_(p, 0.0, std)
            for name, p in self.named_parameters():
                if name.endswith("bias"):
                    nn.init.zeros_(p)

        def trunk(self, ids, past=None, offset=0):
            """Hidden states [B, T, D] of ids [B, T] at positions offset..offset+T-1."""
            t = ids.shape[1]
            pos = torch.arange(offset, offset + t)
            x = self.wte(ids) + self.wpe(pos)  # [B, T, D]
            bias = self.causal[:t, :t] if past is None else None  # one new position: no mask
            cache = []
            for i, block in enumerate(self.blocks):
                x, kv = block(x, bias, None if past is None else past[i])
                cache.append(kv)
            return self.lnf(x), cache

        def loss(self, tokens):
            """Mean negative log-likelihood of tokens[:, 1:] given tokens[:, :-1]."""
            h_, _ = self.trunk(tokens[:, :-1])
            logits = h_ @ self.wte.weight.t()  # [B, T, V]
            return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tokens[:, 1:].reshape(-1))

    return GPT


def blas_library(torch):
    """Which BLAS the process loaded: Debian's torch calls whatever libblas.so.3 points to."""
    torch.ones(2, 2) @ torch.ones(2, 2)  # loads the library if it is loaded lazily
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.lower() or "mkl" in line}
    except OSError:
        return "unknown"
    names = sorted(p.rsplit("/", 1)[-1] for p in paths if p.startswith("/"))
    for key, name in (("openblas", "OpenBLAS"), ("mkl", "MKL"), ("blis", "BLIS"),
                      ("atlas", "ATLAS")):
        if any(key in n.lower() for n in names):
            return name
    if any(n.startswith("libblas.so") for n in names):
        return "reference BLAS (netlib, unoptimised)"
    return "built in" if not names else ", ".join(names)


def optimizer(torch, model, step):
    """AdamW as lib/train/adamw.ts: weight decay on matrices (rank >= 2) only."""
    params = list(model.parameters())
    groups = [
        {"params": [p for p in params if p.dim() >= 2], "weight_decay": step["weightDecay"]},
        {"params": [p for p in params if p.dim() < 2], "weight_decay": 0.0},
    ]
    return torch.optim.AdamW(
        groups, lr=step["lr"], betas=(step["beta1"], step["beta2"]), eps=step["eps"]
    )


def train_step(torch, model, opt, tokens, clip):
    """Forward, backward, clip, AdamW; returns (loss, pre-clip gradient norm)."""
    opt.zero_grad(set_to_none=True)
    loss = model.loss(tokens)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
    opt.step()
    return loss.item(), float(norm)


def sample(torch, model, prompts, n, gen):
    """n new tokens per row with a KV cache; returns tokens [B, n] and their log-probs."""
    with torch.inference_mode():
        wte_t = model.wte.weight.t()  # [D, V]
        h_, cache = model.trunk(prompts)  # prefill
        p = prompts.shape[1]
        logits = h_[:, -1] @ wte_t  # [B, V]
        out, logps = [], []
        for step in range(n):
            logp = torch.log_softmax(logits, dim=-1)
            tok = torch.multinomial(logp.exp(), 1, generator=gen)  # [B, 1]
            out.append(tok)
            logps.append(logp.gather(1, tok))
            if step == n - 1:
                break
            h_, cache = model.trunk(tok, past=cache, offset=p + step)
            logits = h_[:, -1] @ wte_t
        return torch.cat(out, 1), torch.cat(logps, 1)


def timed(fn, warmup, repeats):
    for _ in range(warmup):
        fn()
    ms = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ms.append((time.perf_counter() - t0) * 1000)
    return ms


def load_deno_weights(torch, model, path, n_layers):
    """Copy deno's named parameters (lib/models/transformer.ts layout) into the model."""
    with open(path) as f:
        w = json.load(f)

    def t(name, transpose=False):
        x = torch.tensor(w[name]["values"], dtype=torch.float32).view(*w[name]["shape"])
        return x.t().contiguous() if transpose else x  # deno stores x·W; Linear stores W^T

    pairs = [("wte.weight", t("wte")), ("wpe.weight", t("wpe")),
             ("lnf.weight", t("lnf.g")), ("lnf.bias", t("lnf.b"))]
    for i in range(n_layers):
        src, dst = f"h.{i}", f"blocks.{i}"
        pairs += [
            (f"{dst}.ln1.weight", t(f"{src}.ln1.g")), (f"{dst}.ln1.bias", t(f"{src}.ln1.b")),
            (f"{dst}.qkv.weight", t(f"{src}.attn.wqkv", True)),
            (f"{dst}.qkv.bias", t(f"{src}.attn.bqkv")),
            (f"{dst}.proj.weight", t(f"{src}.attn.wo", True)),
            (f"{dst}.proj.bias", t(f"{src}.attn.bo")),
            (f"{dst}.ln2.weight", t(f"{src}.ln2.g")), (f"{dst}.ln2.bias", t(f"{src}.ln2.b")),
            (f"{dst}.fc1.weight", t(f"{src}.mlp.w1", True)),
            (f"{dst}.fc1.bias", t(f"{src}.mlp.b1")),
            (f"{dst}.fc2.weight", t(f"{src}.mlp.w2", True)),
            (f"{dst}.fc2.bias", t(f"{src}.mlp.b2")),
        ]
    state = dict(pairs)
    missing = set(dict(model.named_parameters())) - set(state)
    if missing or len(w) != len(state):
        raise ValueError(f"weights do not match the model: missing {sorted(missing)}")
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(state[name])


def main(argv):
    if len(argv) != 2:
        return fail("bad-job", "usage: peer_torch.py '<job JSON>'", 2)
    try:
        job = json.loads(argv[1])
        cfg, step = job["model"], job["step"]
    except (ValueError, KeyError) as e:
        return fail("bad-job", f"malformed job: {e}", 2)
    try:
        import torch
    except ImportError as e:
        return fail("torch-missing", str(e), 3)

    threads = int(job.get("threads", 1))
    torch.set_num_threads(threads)
    torch.set_num_interop_threads(1)
    torch.manual_seed(job.get("seed", 0))
    model = build(torch, cfg)()
    n_params = sum(p.numel() for p in model.parameters())
    info = {
        "peer": "torch",
        "version": torch.__version__,
        "threads": torch.get_num_threads(),
        "params": n_params,
        "blas": blas_library(torch),
    }

    if job.get("probe"):
        print(json.dumps(info))
        return 0

    if "check" in job:
        check = job["check"]
        load_deno_weights(torch, model, check["weights"], cfg["nLayers"])
        tokens = torch.tensor(check["tokens"], dtype=torch.long)
        opt = optimizer(torch, model, {**step, "lr": check.get("lr", step["lr"])})
        loss0, norm0 = train_step(torch, model, opt, tokens, step["gradClip"])
        with torch.no_grad():
            loss1 = model.loss(tokens).item()
        print(json.dumps({**info, "loss": loss0, "gradNorm": norm0, "lossAfter": loss1}))
        return 0

    w = job["workload"]
    v = cfg["vocabSize"]
    gen = torch.Generator().manual_seed(job.get("seed", 0))
    warmup, repeats = int(job.get("warmup", 1)), int(job.get("repeats", 3))

    opt = optimizer(torch, model, step)
    tokens = torch.randint(4, v, (w["trainBatch"], w["trainLength"] + 1), generator=gen)
    train_ms = timed(lambda: train_step(torch, model, opt, tokens, step["gradClip"]),
                     warmup, repeats)

    prompts = torch.randint(4, v, (w["sampleBatch"], w["promptLength"]), generator=gen)
    prompts[:, 0] = 1  # BOS
    n = w["newTokens"]
    sample_ms = timed(lambda: sample(torch, model, prompts, n, gen), warmup, repeats)

    print(json.dumps({**info, "train": {"ms": train_ms}, "sample": {"ms": sample_ms}}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
