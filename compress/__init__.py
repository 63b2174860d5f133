"""compress: make fine-tuned transformer text classifiers smaller and faster.

Importing the package is deliberately cheap: torch, onnxruntime and datasets are
imported only by the modules that need them.
"""

__version__ = "0.1.0"
