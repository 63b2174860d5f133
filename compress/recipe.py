"""Recipes: YAML files that list passes and their settings, validated before any compute.

A recipe is plain data: `yaml.safe_load`, other recipes' passes included where an entry says
`include: file.yaml`, command-line overrides applied to the mapping, then pydantic models with
`extra="forbid"`. Every error names the key's path
(`passes.0.finetune.epochz`) so a user can find it in the file.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, SerializeAsAny, ValidationError

from compress.errors import CompressError, first_line
from compress.measure.settings import BenchmarkConfig
from compress.passes import REGISTRY, PassConfig, Stage, spec_for


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DataConfig(_Strict):
    """Where the labelled data is and which columns hold text and label."""

    path: str | None = None
    config: str | None = Field(None, description="a hub dataset's configuration (e.g. sst2 for glue)")
    text_column: str = "text"
    label_column: str = "label"
    max_length: int = Field(128, ge=8, le=8192)
    selection_fraction: float = Field(
        0.1, gt=0, lt=0.5, description="share of train held out for checkpoint selection when dev is the report split"
    )
    language: str | None = Field(None, description="ISO 639-1 code of the texts (mr, en, ...), for the model card")
    repair_encoding: bool = Field(
        False, description="repair texts whose UTF-8 bytes were mis-read as a legacy code page (mojibake), every split"
    )


class Recipe(_Strict):
    name: str
    description: str = ""
    seed: int = 42
    model: str | None = None
    data: DataConfig = DataConfig()
    passes: tuple[SerializeAsAny[PassConfig], ...] = Field(min_length=1)
    benchmark: BenchmarkConfig = BenchmarkConfig()

    def to_data(self) -> dict[str, Any]:
        """The recipe as plain data, in the same shape as the YAML file."""
        data = self.model_dump(mode="json", exclude={"passes"})
        data["passes"] = [{spec_for(p).name: p.model_dump(mode="json")} for p in self.passes]
        return data


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.safe_load, except that a key given twice in one mapping is an error, not a silent overwrite."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def load_recipe(path: str | Path, overrides: list[str] | None = None) -> Recipe:
    """Read, expand includes, override and validate a recipe file; raise CompressError naming every problem."""
    path = Path(path)
    raw = _read_mapping(path)
    raw["passes"] = _expand_includes(raw.get("passes"), path, (path.resolve(),), path.resolve().parent)
    for item in overrides or []:
        apply_override(raw, item)
    try:
        return parse_recipe(raw)
    except CompressError as exc:
        raise CompressError(f"{path}: {exc}") from None


def _read_mapping(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise CompressError(f"recipe not found: {path}")
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_UniqueKeyLoader)
    except UnicodeDecodeError as exc:
        raise CompressError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except yaml.MarkedYAMLError as exc:
        where = f" at line {exc.problem_mark.line + 1}" if exc.problem_mark else ""
        raise CompressError(f"{path}: invalid YAML: {exc.problem or first_line(exc)}{where}") from None
    except yaml.YAMLError as exc:
        raise CompressError(f"{path}: invalid YAML: {first_line(exc)}") from None
    if not isinstance(raw, dict):
        raise CompressError(f"{path}: a recipe is a mapping with at least 'name' and 'passes'")
    return raw


def _expand_includes(entries: Any, path: Path, chain: tuple[Path, ...], root: Path) -> Any:
    """Replace each `- include: other.yaml` entry by that recipe's passes (the path is relative
    to the including file), so a variant such as prune25-kd-int8 states only what it adds.
    Only the passes are taken; the including recipe's own name, seed and settings apply.
    Expansion comes before `--set`, so override indices count the expanded passes. Included files
    must lie in the top recipe's folder or below it: a recipe cannot reach for /etc or ../.."""
    if not isinstance(entries, list):
        return entries  # parse_recipe reports the shape
    expanded: list[Any] = []
    for index, entry in enumerate(entries):
        if not (isinstance(entry, dict) and set(entry) == {"include"}):
            expanded.append(entry)
            continue
        if not isinstance(entry["include"], str):
            raise CompressError(
                f"{path}: passes.{index}.include: expected a recipe file name, got {entry['include']!r}"
            )
        if Path(entry["include"]).is_absolute():
            raise CompressError(
                f"{path}: passes.{index}.include: give a path relative to the recipe, not {entry['include']}"
            )
        target = (path.parent / entry["include"]).resolve()
        if not target.is_relative_to(root):
            raise CompressError(
                f"{path}: passes.{index}.include: {entry['include']} lies outside the recipe's folder {root}"
            )
        if target in chain:
            cycle = " -> ".join(p.name for p in (*chain, target))
            raise CompressError(f"{path}: passes.{index}.include: recipes include each other ({cycle})")
        try:
            included = _read_mapping(target)
        except CompressError as exc:
            raise CompressError(f"{path}: passes.{index}.include: {exc}") from None
        passes = _expand_includes(included.get("passes"), target, (*chain, target), root)
        if not isinstance(passes, list):
            raise CompressError(f"{path}: passes.{index}.include: {target.name} has no list of passes")
        expanded += passes
    return expanded


def parse_recipe(raw: dict[str, Any]) -> Recipe:
    errors: list[str] = []
    passes = _parse_passes(raw.get("passes"), errors)
    try:
        recipe = Recipe.model_validate({**raw, "passes": passes or ()})
    except ValidationError as exc:
        errors += [_describe(err) for err in exc.errors() if not (err["loc"][:1] == ("passes",) and errors)]
        recipe = None
    if recipe is not None:
        errors += check_order(recipe.passes)
    if errors:
        raise CompressError("; ".join(dict.fromkeys(errors)))
    assert recipe is not None
    return recipe


def _parse_passes(entries: Any, errors: list[str]) -> list[PassConfig]:
    if entries is None:
        return []
    if not isinstance(entries, list):
        errors.append("passes: must be a list of {pass_name: settings}")
        return []
    configs: list[PassConfig] = []
    for index, entry in enumerate(entries):
        where = f"passes.{index}"
        if isinstance(entry, str):
            entry = {entry: {}}
        if not isinstance(entry, dict) or len(entry) != 1:
            errors.append(f"{where}: each pass is a mapping with exactly one pass name, got {entry!r}")
            continue
        ((name, settings),) = entry.items()
        if name == "include":
            errors.append(f"{where}: include is resolved only when a recipe is loaded from a file")
            continue
        if name not in REGISTRY:
            errors.append(f"{where}: unknown pass {name!r} (known: {', '.join(sorted(REGISTRY))})")
            continue
        try:
            configs.append(REGISTRY[name].config.model_validate(settings or {}))
        except ValidationError as exc:
            errors += [_describe(err, prefix=f"{where}.{name}") for err in exc.errors()]
    return configs


def check_order(passes: tuple[PassConfig, ...]) -> list[str]:
    """Torch passes first, then at most one export, then ONNX passes that need it."""
    errors: list[str] = []
    export_at: int | None = None
    cast_at: int | None = None
    for index, config in enumerate(passes):
        spec = spec_for(config)
        where = f"passes.{index}.{spec.name}"
        if cast_at is not None and spec.stage in (Stage.TORCH, Stage.EXPORT):
            errors.append(
                f"{where}: must come before the precision cast at passes.{cast_at} (it trains or exports fp32 weights)"
            )
        if spec.changes_dtype:
            cast_at = index
        if spec.stage is Stage.TORCH and export_at is not None:
            errors.append(f"{where}: a PyTorch pass cannot follow the ONNX export at passes.{export_at}")
        elif spec.stage is Stage.EXPORT:
            if export_at is not None:
                errors.append(f"{where}: the model is already exported at passes.{export_at}")
            export_at = index
        elif spec.stage is Stage.ONNX and export_at is None:
            errors.append(f"{where}: needs an earlier export_onnx pass")
    return errors


def _describe(error: Any, prefix: str = "") -> str:
    loc = ".".join(str(part) for part in error["loc"])
    where = ".".join(part for part in (prefix, loc) if part) or "recipe"
    if error["type"] == "extra_forbidden":
        return f"{where}: unknown key"
    return f"{where}: {error['msg']}"


def apply_override(raw: dict[str, Any], item: str) -> None:
    """Apply one `dotted.path=value` override; the value is parsed as YAML (so 1 is an int)."""
    key, sep, text = item.partition("=")
    if not sep or not key:
        raise CompressError(f"--set {item!r}: expected key=value, e.g. passes.0.finetune.epochs=1")
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        raise CompressError(f"--set {item!r}: the value is not valid YAML") from None
    parts = key.split(".")
    node: Any = raw
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        where = ".".join(parts[: depth + 1])
        if isinstance(node, list):
            if not part.isdigit() or int(part) >= len(node):
                raise CompressError(f"--set {key}: {where} is not an index of a list of {len(node)}")
            index = int(part)
            if isinstance(node[index], str) and not last:
                node[index] = {node[index]: {}}
            if last:
                node[index] = value
            node = node[index]
        elif isinstance(node, dict):
            if last:
                node[part] = value
            else:
                if node.get(part) is None:
                    node[part] = {}
                node = node[part]
        else:
            raise CompressError(f"--set {key}: {'.'.join(parts[:depth])} is a value, not a mapping or list")


def dump_recipe(recipe: Recipe) -> str:
    return yaml.safe_dump(recipe.to_data(), sort_keys=False, allow_unicode=True)
