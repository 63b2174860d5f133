"""Write a tiny random BERT classifier and a toy labelled dataset into a folder (for CI's smoke steps).

python scripts/tiny_case.py DIR   ->  DIR/model (config, safetensors, tokenizer), DIR/data/{train,dev}.csv
"""

import sys
from pathlib import Path

from compress.testing import write_tiny_case

print(f"tiny classifier and toy data in {write_tiny_case(Path(sys.argv[1]))}")
