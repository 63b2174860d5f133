"""PyTorch inference on a GPU: each model in fp32, fp16 and bf16, against the first model in fp32,
through the project's own loader, tokenizers and measurement core (interleaved rounds; a
predictor's logits come back to the host, so every timed call has finished on the GPU).

    python benchmarks/gpu_bench.py TEACHER/model RUN/model ... --data DATA [--device cuda] [--out FILE.md]

Accuracy is on the data's held-out split, each model and dtype scored on the same examples; the
change is against the first model in fp32 with a paired bootstrap 95% interval. `compress bench`
measures on the CPU (and ONNX Runtime); this is its GPU counterpart for `benchmarks/gpu_check.sh`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from compress.batching import encode
from compress.data import load_task_data
from compress.loading import load_model
from compress.measure.metrics import accuracy, non_inferior, paired_change
from compress.measure.timing import latency_and_throughput
from compress.predictors import TorchPredictor, predict_logits
from compress.report.markdown import change

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="+", help="model folders or run outputs; the first is the baseline")
    parser.add_argument("--data", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--dtypes", nargs="+", default=list(DTYPES), choices=list(DTYPES))
    parser.add_argument("--min-seconds", type=float, default=4.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--margin", type=float, default=1.0)
    parser.add_argument("--out", type=Path, help="also write the table here (Markdown)")
    args = parser.parse_args()
    device = torch.device(args.device)
    data = load_task_data(args.data)
    models = [load_model(reference, tuple(data.label_map.names)) for reference in args.models]
    if any(m.label_order != models[0].label_order for m in models):
        raise SystemExit("the models order their labels differently; compare models of one training lineage")
    split = data.with_label_order(models[0].label_order).evaluation  # label ids in the models' own order
    labels = split.labels
    predictors, encoded, predictions, names = [], {}, {}, []
    for reference, loaded in zip(args.models, models, strict=True):
        tokens = encode(loaded.tokenizer, split.texts, 128)
        for dtype in args.dtypes:
            name = f"{reference} [{dtype}]"
            model = loaded.model if dtype == "fp32" else _copy(loaded.model)
            predictor = TorchPredictor(name, model.to(device=device, dtype=DTYPES[dtype]))
            predictions[name] = predict_logits(predictor, tokens).argmax(axis=1)
            predictors.append(predictor)
            encoded[name] = tokens
            names.append(name)
    latency, throughput, _ = latency_and_throughput(
        predictors,
        encoded,
        batch_size=32,
        warmup=10,
        min_iterations=100,
        min_seconds=args.min_seconds,
        rounds=args.rounds,
        log=lambda line: print(f"[gpu_bench] {line}", flush=True),
    )
    base = names[0]
    base_p50 = latency[base].percentiles_ms()["p50"]
    base_rate = _rate(throughput[base])
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    lines = [
        f"Device: {gpu}; torch {torch.__version__}; {len(labels)} held-out examples; baseline {base}.",
        "",
        "| model [dtype] | accuracy % | change, points [paired 95% CI] | non-inferior at δ | batch-1 p50 ms "
        "| batch-1 speedup | batch-32/s | batch-32 speedup |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in names:
        found = paired_change(labels, predictions[base], [predictions[name]])
        p50 = latency[name].percentiles_ms()["p50"]
        rate = _rate(throughput[name])
        lines.append(
            f"| {name} | {100 * accuracy(labels, predictions[name]):.1f} | "
            f"{'-' if name == base else change(found)} | "
            f"{'-' if name == base else ('yes' if non_inferior(found, args.margin) else 'no')} | {p50:.2f} | "
            f"{base_p50 / p50:.2f}x | {rate:.0f} | {rate / base_rate:.2f}x |"
        )
    text = "\n".join(lines)
    print(text)
    if args.out is not None:
        args.out.write_text(text + "\n", encoding="utf-8")


def _copy(model: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(model)


def _rate(timings) -> float:
    """Examples per second: the median over rounds."""
    return float(np.median(timings.round_throughputs()))


if __name__ == "__main__":
    main()
