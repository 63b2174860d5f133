"""The vocabulary lever: the tokenizer audit, tokenizer training, fast vocabulary transfer, and
models that keep their own tokenizer through training, distillation and measurement."""

from __future__ import annotations

import json

import pytest
import torch
from conftest import run_args, run_inline_recipe, tiny_model, tiny_tokenizer

from compress.artifact import Artifact
from compress.cli import main
from compress.data import load_task_data
from compress.errors import CompressError
from compress.passes.vocab_transfer import VocabTransferConfig, vocab_transfer
from compress.vocab.audit import audit_tokenizer
from compress.vocab.transfer import train_tokenizer, transfer_embeddings

ARCHITECTURES = ["bert", "roberta", "distilbert"]
ACCENTED = ["café crème brûlée", "naïve façade", "crème café", "brûlée naïve"] * 5


def stripping_tokenizer(folder):
    """A letter-by-letter BERT tokenizer that lowercases and strips accents, as bert-base-uncased does
    with Devanagari; and the tiny word-level tokenizer of the shared fixtures."""
    from transformers import BertTokenizerFast

    base = tiny_tokenizer(folder / "words")
    letters = [chr(c) for c in range(ord("a"), ord("z") + 1)]
    (folder / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters)])
    )
    return BertTokenizerFast(vocab_file=str(folder / "vocab.txt"), do_lower_case=True, strip_accents=True), base


def test_audit_counts_what_the_normalizer_deletes_and_what_comes_back_unknown(tmp_path):
    from transformers import BertTokenizerFast

    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "cafe", "x", "##y", "##z"])
    )
    tokenizer = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), do_lower_case=True, strip_accents=True)
    audit = audit_tokenizer(tokenizer, ["café", "xyz!"], max_length=4)
    # "café" -> cafe: the accent is stripped (1 char); "xyz!" -> x ##y ##z [UNK]: "!" is lost (1 char)
    assert audit.characters == 8 and audit.characters_lost == 2 and audit.characters_normalized_away == 1
    assert audit.unk_tokens == 1 and audit.examples_with_unk == 1 and audit.tokens == 5
    assert audit.truncated_share == 0.5 and audit.tokens_per_example_mean == pytest.approx((3 + 6) / 2)
    assert audit.vocabulary_used == 5 and audit.vocabulary_size == 9
    assert any("deletes 25.0%" in w for w in audit.warnings()) and any("unknown" in w for w in audit.warnings())


def test_a_trained_tokenizer_keeps_the_script_and_shortens_examples(tmp_path):
    old, _ = stripping_tokenizer(tmp_path / "v")
    new = train_tokenizer(ACCENTED, old, "wordpiece", vocab_size=200, min_frequency=1)
    before, after = audit_tokenizer(old, ACCENTED), audit_tokenizer(new, ACCENTED)
    assert before.lost_share > 0.1 and after.lost_share == 0 and after.unk_tokens == 0
    assert after.tokens_per_example_mean < before.tokens_per_example_mean
    assert new.pad_token_id == 0 and new.cls_token == old.cls_token  # special tokens as the model knows them


@pytest.mark.parametrize("algorithm", ["wordpiece", "bpe", "unigram"])
def test_every_algorithm_round_trips_text_without_loss(tmp_path, algorithm):
    old, _ = stripping_tokenizer(tmp_path / "v")
    new = train_tokenizer(ACCENTED, old, algorithm, vocab_size=200, min_frequency=1)
    assert audit_tokenizer(new, ACCENTED).characters_lost == 0
    new.save_pretrained(tmp_path / "saved")
    from transformers import AutoTokenizer

    reloaded = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert reloaded("café crème")["input_ids"] == new("café crème")["input_ids"]


TIED = [" ".join(w[i : i + 3] for i in range(len(w) - 2)) for w in ("abcdefgh", "hgfedcba", "acegbdfh")] * 2


@pytest.mark.parametrize("algorithm", ["wordpiece", "bpe"])
def test_tokenizer_training_gives_the_same_vocabulary_every_time(tmp_path, algorithm):
    """Words of equal frequency everywhere: the trainer must break its ties the same way in every call
    (tokenizers' own WordPiece trainer does not: huggingface/tokenizers#1794)."""
    old, _ = stripping_tokenizer(tmp_path / "v")
    vocabularies = {
        json.dumps(
            train_tokenizer(TIED, old, algorithm, vocab_size=60, min_frequency=1, complete_scripts=False).get_vocab(),
            sort_keys=True,
        )
        for _ in range(12)
    }
    assert len(vocabularies) == 1


@pytest.mark.parametrize(
    "texts, vocab_size, message",
    [
        (ACCENTED, 10, "below the special tokens plus the alphabet"),
        (["one text"], 100, "1 training text"),
        ([], 100, "0 training text"),
    ],
)
def test_bad_tokenizer_settings_are_one_line_errors(tmp_path, texts, vocab_size, message):
    old, _ = stripping_tokenizer(tmp_path / "v")
    with pytest.raises(CompressError, match=message):
        train_tokenizer(texts, old, "wordpiece", vocab_size=vocab_size)


@pytest.mark.parametrize("old_kind", ["words", "letters"])
def test_transfer_copies_known_tokens_and_averages_new_ones(tmp_path, old_kind):
    letters, words = stripping_tokenizer(tmp_path / "v")
    old = words if old_kind == "words" else letters
    new = train_tokenizer(
        ["ball chip rice", "chipball riceball", "ball ball chip"] * 3, old, "wordpiece", vocab_size=200, min_frequency=1
    )
    model = tiny_model("bert", ["a", "b"], vocab_size=len(old))
    before = model.get_input_embeddings().weight.detach().clone()
    stats = transfer_embeddings(model, old, new)
    after = model.get_input_embeddings().weight.detach()
    assert after.shape[0] == len(new) == model.config.vocab_size
    vocab_old, vocab_new = old.get_vocab(), new.get_vocab()
    assert torch.equal(after[new.cls_token_id], before[old.cls_token_id])  # special tokens by role
    if old_kind == "words":
        assert torch.equal(after[vocab_new["ball"]], before[vocab_old["ball"]])  # in both vocabularies: copied
    else:
        pieces = [vocab_old[p] for p in ("b", "##a", "##l", "##l")]  # the old tokenizer's pieces, averaged
        assert torch.allclose(after[vocab_new["ball"]], before[pieces].mean(dim=0))
    assert stats.copied + stats.averaged + stats.fallback == len(new) and stats.averaged > 0


def test_a_word_with_a_letter_the_old_vocabulary_lacks_is_built_from_the_letters_it_has(tmp_path):
    """WordPiece calls the whole word unknown for one missing letter; its known letters still say something."""
    from transformers import BertTokenizerFast

    letters = [c for c in "abcdefghijklmnopqrstuvwyz"]  # no "x"
    (tmp_path / "vocab.txt").write_text(
        "\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", *letters, *(f"##{c}" for c in letters)])
    )
    old = BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"), do_lower_case=True)
    assert old.tokenize("box") == ["[UNK]"]
    texts = ["box fox", "boxes foxes", "box box fox"] * 3
    new = train_tokenizer(texts, old, "wordpiece", vocab_size=200, min_frequency=1)
    assert "box" in new.get_vocab()
    model = tiny_model("bert", ["a", "b"], vocab_size=len(old))
    before = model.get_input_embeddings().weight.detach().clone()
    transfer_embeddings(model, old, new)
    after = model.get_input_embeddings().weight.detach()
    vocab_old = old.get_vocab()
    expected = before[[vocab_old["b"], vocab_old["##o"]]].mean(dim=0)  # b ##o, and the unknown x left out
    assert torch.allclose(after[new.get_vocab()["box"]], expected)
    assert not torch.allclose(after[new.get_vocab()["box"]], before[old.unk_token_id])


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_vocab_transfer_pass_gives_a_model_fed_by_its_new_tokenizer(tmp_path, toy_data, arch):
    data = load_task_data(str(toy_data))
    tokenizer = tiny_tokenizer(tmp_path / "vocab")
    model = tiny_model(arch, list(data.label_map.names), vocab_size=len(tokenizer))
    artifact = Artifact(model, tokenizer, data, tmp_path, max_length=32, seed=0)
    result, details = vocab_transfer(VocabTransferConfig(vocab_size=200, min_frequency=1), artifact)
    assert result.tokenizer is not tokenizer and result.model_changed
    assert details["new_vocabulary"] == len(result.tokenizer) == result.model.get_input_embeddings().num_embeddings
    batch = result.tokenizer(list(data.train.texts[:4]), padding=True, return_tensors="pt")
    accepted = {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}
    assert result.model(**accepted).logits.shape == (4, len(data.label_map.names))


def test_marathi_teacher_style_recipe_runs_and_measures_each_model_with_its_own_tokenizer(
    tiny_classifier_dir, toy_data, tmp_path
):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        "name: vt\npasses:\n  - vocab_transfer: {vocab_size: 60, min_frequency: 1, complete_scripts: false}\n"
        "  - finetune: {epochs: 1, embedding_learning_rate: 0.001}\n  - export_onnx: {}\n"
        "benchmark: {rounds: 2, min_iterations: 4, min_seconds: 0.05, warmup: 1, bootstrap: 50, memory: false}\n"
    )
    out = tmp_path / "out"
    assert (
        main(["run", str(recipe), "--model", str(tiny_classifier_dir), "--data", str(toy_data), "--out", str(out)]) == 0
    )
    report = json.loads((out / "report.json").read_text())
    baseline, *candidates = [report["benchmark"]["baseline"], *report["benchmark"]["candidates"][:-1]]
    assert baseline["tokenizer"]["vocabulary_size"] == len(AutoTokenizer.from_pretrained(tiny_classifier_dir))
    for candidate in candidates:
        assert candidate["tokenizer"]["vocabulary_size"] == len(AutoTokenizer.from_pretrained(out / "model"))
        assert candidate["tokens_per_example"] != baseline["tokens_per_example"]
    assert report["benchmark"]["candidates"][1]["agreement_with_baseline"] >= 0  # the ONNX graph was fed its own ids
    loaded = AutoModelForSequenceClassification.from_pretrained(out / "model")
    assert loaded.get_input_embeddings().num_embeddings == len(AutoTokenizer.from_pretrained(out / "model"))


def test_distillation_from_a_teacher_with_another_tokenizer(tiny_classifier_dir, toy_data, tmp_path):
    recipe = tmp_path / "r.yaml"
    recipe.write_text(
        f"name: vt-kd\npasses:\n  - vocab_transfer: {{vocab_size: 200, min_frequency: 1}}\n"
        f"  - distill: {{epochs: 1, teacher: {tiny_classifier_dir}}}\nbenchmark: {{enabled: false}}\n"
    )
    out = tmp_path / "out"
    assert (
        main(["run", str(recipe), "--model", str(tiny_classifier_dir), "--data", str(toy_data), "--out", str(out)]) == 0
    )
    details = json.loads((out / "report.json").read_text())["passes"][1]["details"]
    assert details["teacher_tokenizer"] == "its own" and details["teacher_logits"] == "cached"
    live = tmp_path / "live.yaml"
    live.write_text(recipe.read_text().replace("epochs: 1,", "epochs: 1, cache_teacher_logits: false,"))
    assert main(run_args(str(live), str(tiny_classifier_dir), str(toy_data), str(tmp_path / "o2"))) == 2


def test_audit_command_prints_a_row_per_model(tiny_classifier_dir, toy_data, tmp_path, capsys):
    assert (
        main(
            [
                "audit",
                "--model",
                str(tiny_classifier_dir),
                "--model",
                str(tiny_classifier_dir),
                "--data",
                str(toy_data),
                "--json",
                str(tmp_path / "a.json"),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert out.count("0.0%") >= 2 and "examples of 'train'" in out
    assert json.loads((tmp_path / "a.json").read_text())["examples"] > 0


TRIM_TEXTS = ["ball chip rice", "quick green stone", "alpha beta ball", "river cloud chip"] * 4


@pytest.mark.parametrize("algorithm", ["original", "wordpiece", "bpe", "unigram"])
@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_trim_vocab_keeps_logits_for_texts_whose_tokens_were_kept(tmp_path, arch, algorithm):
    from transformers import AutoTokenizer

    from compress.vocab.trim import tokens_to_keep, trim_embeddings, trim_tokenizer

    _, tokenizer = stripping_tokenizer(tmp_path / "v")
    if algorithm != "original":
        tokenizer = train_tokenizer(
            TRIM_TEXTS + ["gamma delta north south slow"] * 3, tokenizer, algorithm, vocab_size=200, min_frequency=1
        )
    model = tiny_model(arch, ["a", "b", "c"], vocab_size=len(tokenizer))
    seen = ["ball chip", "green stone rice", "alpha river"]
    unseen = ["gamma delta north"]
    before = {t: model(**_ids(tokenizer, t)).logits for t in seen}
    result = trim_tokenizer(tokenizer, tokens_to_keep(tokenizer, TRIM_TEXTS, keep_characters=False))
    trim_embeddings(model, result.kept_ids, result.tokenizer.pad_token_id)
    assert len(result.tokenizer) < len(tokenizer) == max(result.kept_ids) + 1 or len(result.tokenizer) < len(tokenizer)
    assert model.get_input_embeddings().num_embeddings == len(result.tokenizer)
    for text, logits in before.items():
        assert torch.equal(model(**_ids(result.tokenizer, text)).logits, logits), text
    result.tokenizer.save_pretrained(tmp_path / "saved")
    reloaded = AutoTokenizer.from_pretrained(tmp_path / "saved")
    assert reloaded(seen[0])["input_ids"] == result.tokenizer(seen[0])["input_ids"]
    assert result.tokenizer.unk_token_id in result.tokenizer(unseen[0])["input_ids"] or algorithm == "bpe"


def _ids(tokenizer, text):
    batch = tokenizer(text, return_tensors="pt")
    return {k: v for k, v in batch.items() if k in ("input_ids", "attention_mask")}


def test_keep_characters_keeps_the_script_s_letters(tmp_path):
    from compress.vocab.trim import tokens_to_keep

    old, _ = stripping_tokenizer(tmp_path / "v")
    kept = tokens_to_keep(old, ["ab"], keep_characters=True)
    assert {old.convert_tokens_to_ids(t) for t in ("z", "##z", "q")} <= kept  # LATIN letters never seen
    assert old.convert_tokens_to_ids("z") not in tokens_to_keep(old, ["ab"], keep_characters=False)


def test_trim_vocab_refuses_a_tokenizer_without_a_vocabulary_to_remap(tmp_path):
    from transformers import BertTokenizer

    from compress.vocab.trim import trim_tokenizer

    stripping_tokenizer(tmp_path / "v")
    slow = BertTokenizer(vocab_file=str(tmp_path / "v" / "vocab.txt"))
    with pytest.raises(CompressError, match="no `tokenizers` vocabulary to remap"):
        trim_tokenizer(slow, {0, 1})


def test_trim_vocab_pass_in_a_recipe_makes_a_smaller_model_that_agrees(tiny_classifier_dir, toy_data, tmp_path):
    out = tmp_path / "out"
    recipe = (
        "name: trim\npasses:\n  - trim_vocab: {keep_characters: false}\n  - export_onnx: {}\n"
        "benchmark: {rounds: 2, min_iterations: 4, min_seconds: 0.05, warmup: 1, bootstrap: 50, memory: false}\n"
    )
    assert run_inline_recipe(recipe, tiny_classifier_dir, toy_data, out) == 0
    report = json.loads((out / "report.json").read_text())
    details = report["passes"][0]["details"]
    assert details["tokens_removed"] > 0 and details["parameters_removed"] == details["tokens_removed"] * 32
    torch_output, onnx_output = report["benchmark"]["candidates"][:2]
    assert torch_output["vs_baseline"]["size_reduction"] > 1
    assert torch_output["agreement_with_baseline"] == onnx_output["agreement_with_baseline"] == 1.0


def test_a_resumed_run_reads_the_tokenizer_it_trained_instead_of_training_another(tmp_path, toy_data, monkeypatch):
    """tokenizers' WordPiece trainer breaks ties differently in each process: retraining on resume
    would hand the restored embeddings another vocabulary."""
    import compress.vocab.transfer as transfer

    data = load_task_data(str(toy_data))
    tokenizer = tiny_tokenizer(tmp_path / "vocab")

    def artifact(resume: bool) -> Artifact:
        model = tiny_model("bert", list(data.label_map.names), vocab_size=len(tokenizer))
        return Artifact(model, tokenizer, data, tmp_path, 32, 0, checkpoint_dir=tmp_path / "ckpt", resume=resume)

    first, _ = vocab_transfer(VocabTransferConfig(vocab_size=200, min_frequency=1), artifact(resume=False))
    assert (tmp_path / "ckpt" / "tokenizer" / "tokenizer.json").is_file()

    def refuse(*args, **kwargs):
        raise AssertionError("trained a second tokenizer on resume")

    monkeypatch.setattr(transfer, "train_tokenizer", refuse)
    again, _ = vocab_transfer(VocabTransferConfig(vocab_size=200, min_frequency=1), artifact(resume=True))
    assert again.tokenizer.get_vocab() == first.tokenizer.get_vocab()


def test_trim_vocab_keeps_the_tokens_of_an_unlabeled_corpus_too(tmp_path, toy_data):
    from compress.passes.trim_vocab import TrimVocabConfig, trim_vocab
    from compress.testing import tiny_artifact

    corpus = tmp_path / "corpus.txt"
    corpus.write_text("q\n\nz q\n")
    plain, _ = trim_vocab(TrimVocabConfig(keep_characters=False), tiny_artifact(tmp_path / "a", toy_data))
    with_corpus, details = trim_vocab(
        TrimVocabConfig(keep_characters=False, corpus=corpus), tiny_artifact(tmp_path / "b", toy_data)
    )
    assert "q" not in plain.tokenizer.get_vocab() and {"q", "z"} <= set(with_corpus.tokenizer.get_vocab())
    assert details["tokens"][1] == len(plain.tokenizer) + 2
    with pytest.raises(CompressError, match="corpus not found"):
        trim_vocab(TrimVocabConfig(corpus=tmp_path / "missing.txt"), tiny_artifact(tmp_path / "c", toy_data))
