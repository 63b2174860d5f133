"""Vocabulary trimming (TextPruner, Yang et al., ACL 2022 demo): keep the tokens the task's text
uses, drop the rest of the embedding matrix, and renumber the tokenizer to match.

Nothing else changes, so a text whose tokens were all kept gets the same tokens, the same
embeddings and the same logits. The gain is size and memory (MiniLM's 30,522 x 384 embedding
is half its parameters), not speed. Each tokenizer type is rebuilt by its own rule, on the
`tokenizers` JSON that holds all three: WordPiece keeps its vocabulary in order; BPE keeps the
merges that build kept tokens (and the pieces those merges start from); Unigram keeps its
pieces with their scores.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from compress.errors import CompressError

PREFIXES = ("##", "\u2581", "\u0120")  # WordPiece continuation, Metaspace word start, byte-level space


@dataclass(frozen=True)
class TrimResult:
    tokenizer: Any
    kept_ids: list[int]  # old ids, in new id order


def _script(character: str) -> str:
    name = unicodedata.name(character, "")
    return name.split(" ")[0] if name else ""


def _bare(token: str) -> str:
    for prefix in PREFIXES:
        if token.startswith(prefix) and len(token) > len(prefix):
            return token[len(prefix) :]
    return token


def tokens_to_keep(tokenizer: Any, texts: Sequence[str], keep_characters: bool) -> set[int]:
    """Ids the texts use, the special tokens, and (optionally) every one-character token of the
    scripts the texts are written in, so unseen words of those scripts still spell out."""
    keep = set(tokenizer.all_special_ids)
    for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]:
        keep.update(ids)
    if keep_characters:
        scripts = {_script(c) for t in texts for c in t if not c.isspace()}
        keep.update(
            i
            for token, i in tokenizer.get_vocab().items()
            if len(_bare(token)) == 1 and _script(_bare(token)) in scripts
        )
    return keep


def trim_tokenizer(tokenizer: Any, keep: Iterable[int]) -> TrimResult:
    """A tokenizer over only `keep` (old ids), renumbered densely in the old order."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is None:
        raise CompressError("trim_vocab: the tokenizer has no `tokenizers` vocabulary to remap (not a fast tokenizer)")
    spec = json.loads(backend.to_str())
    model = spec["model"]
    kind = model["type"]
    id_to_token = {i: t for t, i in tokenizer.get_vocab().items()}
    keep = set(keep)
    if kind == "BPE":
        keep |= _merge_closure(model, {id_to_token[i] for i in keep if i in id_to_token}, tokenizer.get_vocab())
    kept_ids = sorted(i for i in keep if i in id_to_token)
    new_id = {old: new for new, old in enumerate(kept_ids)}
    kept_tokens = {id_to_token[i] for i in kept_ids}
    if kind == "WordPiece":
        model["vocab"] = {id_to_token[i]: new_id[i] for i in kept_ids}
    elif kind == "BPE":
        model["vocab"] = {id_to_token[i]: new_id[i] for i in kept_ids}
        model["merges"] = [
            m for m in model["merges"] if _merged(m) in kept_tokens and all(p in kept_tokens for p in _parts(m))
        ]
    elif kind == "Unigram":
        if model.get("unk_id") is not None:
            model["unk_id"] = new_id[model["unk_id"]]
        model["vocab"] = [model["vocab"][i] for i in kept_ids]
    else:
        raise CompressError(f"trim_vocab: cannot rebuild a {kind} tokenizer (WordPiece, BPE and Unigram can be)")
    for added in spec.get("added_tokens") or []:
        added["id"] = new_id[added["id"]]
    if spec.get("padding"):
        spec["padding"]["pad_id"] = new_id.get(spec["padding"]["pad_id"], 0)
    _remap_post_processor(spec.get("post_processor"), tokenizer.get_vocab(), new_id)
    backend_new = Tokenizer.from_str(json.dumps(spec))
    specials = {k: v for k, v in tokenizer.special_tokens_map.items() if isinstance(v, str)}
    trimmed = PreTrainedTokenizerFast(
        tokenizer_object=backend_new,
        model_input_names=list(tokenizer.model_input_names),
        model_max_length=tokenizer.model_max_length,
        **specials,
    )
    return TrimResult(trimmed, kept_ids)


def _parts(merge: Any) -> list[str]:
    return merge.split(" ", 1) if isinstance(merge, str) else list(merge)


def _merged(merge: Any) -> str:
    return "".join(_parts(merge))


def _merge_closure(model: dict[str, Any], kept: set[str], vocab: dict[str, int]) -> set[int]:
    """Ids of every token a kept token is merged from, recursively: BPE reaches a token through them."""
    made_from: dict[str, list[str]] = {}
    for merge in model["merges"]:
        made_from.setdefault(_merged(merge), _parts(merge))
    extra: set[str] = set()
    stack = list(kept)
    while stack:
        for part in made_from.get(stack.pop(), []):
            if part not in kept and part not in extra:
                extra.add(part)
                stack.append(part)
    return {vocab[t] for t in extra if t in vocab}


def _remap_post_processor(processor: Any, vocab: dict[str, int], new_id: dict[int, int]) -> None:
    """Special-token ids written into post-processors (Template, Bert, Roberta; nested in a Sequence)."""
    if not isinstance(processor, dict):
        return
    for inner in processor.get("processors") or []:
        _remap_post_processor(inner, vocab, new_id)
    for entry in (processor.get("special_tokens") or {}).values():
        entry["ids"] = [new_id[i] for i in entry["ids"]]
    for role in ("sep", "cls"):
        if isinstance(processor.get(role), list):
            token, old = processor[role]
            processor[role] = [token, new_id[old]]


def trim_embeddings(model: Any, kept_ids: list[int], pad_token_id: int | None) -> None:
    """Keep only the rows of `kept_ids`, in that order (in place)."""
    import torch

    old = model.get_input_embeddings()
    rows = old.weight.detach()[torch.tensor(kept_ids)].clone()
    embedding = torch.nn.Embedding(len(kept_ids), rows.shape[1], padding_idx=pad_token_id, dtype=rows.dtype)
    with torch.no_grad():
        embedding.weight.copy_(rows)
    model.set_input_embeddings(embedding)
    model.config.vocab_size = len(kept_ids)
    model.config.pad_token_id = pad_token_id
