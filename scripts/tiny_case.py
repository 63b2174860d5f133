"""Write a tiny random BERT classifier and a toy labelled dataset into a folder (for CI's regress step).

    python scripts/tiny_case.py DIR   ->  DIR/model (config, safetensors, tokenizer), DIR/data/{train,dev}.csv
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import TOPICS, make_rows, tiny_model, tiny_tokenizer, write_csv  # noqa: E402

folder = Path(sys.argv[1])
tokenizer = tiny_tokenizer(folder / "vocab")
model = tiny_model("bert", sorted(TOPICS), vocab_size=len(tokenizer))
model.save_pretrained(folder / "model", safe_serialization=True)
tokenizer.save_pretrained(folder / "model")
write_csv(folder / "data" / "train.csv", make_rows(240, seed=1))
write_csv(folder / "data" / "dev.csv", make_rows(120, seed=2))
print(f"tiny classifier and toy data in {folder}")
