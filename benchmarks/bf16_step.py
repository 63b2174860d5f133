"""What one training step costs in fp32 and under bf16 autocast on this CPU (forward + backward,
one batch of random token ids), to decide whether a bf16 training row is worth running here: on
CPUs without avx512_bf16/amx_bf16, bf16 matrix products are emulated.

    python benchmarks/bf16_step.py --model runs/marathi-teacher/model [--batch 16 --tokens 26 --threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from compress.cpu_features import cpu_flags, cpu_model
from compress.training.mixed_precision import NATIVE_BF16_CPU_FLAGS


def main() -> None:
    from transformers import AutoModelForSequenceClassification

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--tokens", type=int, default=26)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = AutoModelForSequenceClassification.from_pretrained(args.model)
    generator = torch.Generator().manual_seed(0)
    ids = torch.randint(5, model.config.vocab_size, (args.batch, args.tokens), generator=generator)
    labels = torch.randint(0, model.config.num_labels, (args.batch,), generator=generator)

    def step(bf16: bool) -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, labels=labels).loss
        loss.backward()
        model.zero_grad(set_to_none=True)

    times: dict[str, list[float]] = {"fp32": [], "bf16": []}
    for _ in range(2):  # interleaved rounds
        for name in times:
            step(name == "bf16")  # warm-up
            started = time.perf_counter()
            for _ in range(args.steps):
                step(name == "bf16")
            times[name].append((time.perf_counter() - started) / args.steps * 1000)
    fp32, bf16 = (statistics.median(times[name]) for name in ("fp32", "bf16"))
    native = sorted(NATIVE_BF16_CPU_FLAGS & cpu_flags()) or "none"
    print(f"{cpu_model()}, {args.threads} thread(s), native bf16 instructions: {native}")
    print(f"training step, batch {args.batch} x {args.tokens} tokens: fp32 {fp32:.0f} ms, bf16 autocast {bf16:.0f} ms")
    print(f"bf16 / fp32 time: {bf16 / fp32:.1f}x")


if __name__ == "__main__":
    main()
