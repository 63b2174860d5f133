"""The vocabulary as a compression lever: audit a tokenizer on data, train one for the data, move a model onto it."""
