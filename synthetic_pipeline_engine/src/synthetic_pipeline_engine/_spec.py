"""Pipeline declarations: YAML files, Python modules, and the builder behind both.

A pipeline is a named set of typed stages.  Every way of declaring one (a YAML
file, a Python module exposing ``pipeline``, or the :class:`Pipeline` builder)
goes through :func:`parse_stage`, so the same rules and the same error
messages apply whichever a user picks.  Parsing checks each stage on its own
(its kind, its keys, their types); the graph as a whole is checked in
``_dag``.
"""

from __future__ import annotations

import functools
import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from synthetic_pipeline_engine._partitions import PartitionSpec, parse_partitions
from synthetic_pipeline_engine._types import Schema, parse_schema
from synthetic_pipeline_engine.errors import PipelineSpecError

__all__ = ["KINDS", "Pipeline", "PipelineSpec", "StageSpec", "load_pipeline", "parse_pipeline"]

KINDS = ("source", "transform", "validate", "sink", "generate", "synthesize")
SOURCE_FORMATS = ("csv", "parquet", "jsonl", "sqlite", "duckdb")
SINK_FORMATS = ("csv", "parquet", "jsonl", "sqlite", "duckdb")

_COMMON_KEYS = {"name", "kind", "inputs", "schema", "retries", "backoff", "timeout", "description"}
_KIND_KEYS: dict[str, set[str]] = {
    "source": {"format", "path", "query"},
    "transform": {"sql", "function", "params"},
    "validate": {"expectations", "on_failure"},
    "sink": {"format", "path", "table", "mode"},
    "generate": {"generator", "table", "rows", "seed"},
    "synthesize": {"rows", "seed", "preset", "ids"},
}

TransformFunc = Callable[..., Any]


@dataclass(frozen=True)
class StageSpec:
    """One stage, checked on its own.

    Attributes:
        name: unique within the pipeline; also the table name SQL sees.
        kind: one of :data:`KINDS`.
        inputs: names of the stages whose outputs this stage reads.
        config: the kind-specific settings, plain data (hashed for caching).
        schema: the declared output schema, if any (checked before the run).
        function: the Python callable of a function transform.
        code_hash: digest of the code behind the stage (function module source).
    """

    name: str
    kind: str
    inputs: tuple[str, ...] = ()
    config: Mapping[str, Any] = field(default_factory=dict)
    schema: Schema | None = None
    retries: int = 0
    backoff: float = 0.5
    timeout: float | None = None
    function: TransformFunc | None = None
    code_hash: str = ""

    @functools.cached_property
    def _fingerprint(self) -> str:
        return self._digest()

    def fingerprint(self) -> str:
        """A digest of everything that defines the stage's behaviour (not its inputs' data)."""
        return self._fingerprint

    def _digest(self) -> str:
        """A digest of everything that defines the stage's behaviour (not its inputs' data)."""
        payload = {
            "kind": self.kind,
            "inputs": list(self.inputs),
            "config": self.config,
            "schema": self.schema,
            "code": self.code_hash,
        }
        text = json.dumps(payload, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()


FunctionRef = tuple[str, str, str | None]  # module name, qualified name, module file


def function_ref(func: TransformFunc) -> FunctionRef:
    """Where ``func`` lives, as plain data another process can resolve."""
    module = inspect.getmodule(func)
    name = getattr(func, "__qualname__", getattr(func, "__name__", repr(func)))
    return (
        getattr(func, "__module__", None) or "__main__",
        name,
        getattr(module, "__file__", None) if module is not None else None,
    )


def resolve_function_ref(ref: FunctionRef, *, stage: str, code_hash: str) -> TransformFunc:
    """The function ``ref`` names, importing or loading its module file when needed.

    Raises:
        PipelineStageError: the function cannot be found here, or its
            module's source differs from the one the run was planned with.
    """
    from synthetic_pipeline_engine.errors import PipelineStageError

    module_name, qualname, file = ref
    if "<locals>" in qualname:
        raise PipelineStageError(
            f"stage {stage!r}: function {qualname!r} is local to another function and cannot run in a worker process",
            stage=stage,
            hint="define it at module level, or run with the local or paf:threads executor",
        )

    def lookup(module: Any) -> Any:
        found: Any = module
        for part in qualname.split("."):
            found = getattr(found, part)
        return found

    try:
        module = sys.modules.get(module_name)
        if module is None:
            try:
                module = importlib.import_module(module_name)
            except ImportError:
                if file is None:
                    raise
                module = _exec_file(module_name, Path(file))
        found = lookup(module)
        if code_hash and file is not None and module_code_hash(found) != code_hash:
            # A worker that ran an earlier version of this file: load it again.
            found = lookup(_exec_file(module_name, Path(file)))
    except Exception as exc:
        raise PipelineStageError(
            f"stage {stage!r}: cannot load function {module_name}:{qualname} in this process: {type(exc).__name__}: {exc}",
            stage=stage,
            hint="the module must import (or its file load) on its own",
        ) from exc
    if code_hash and module_code_hash(found) != code_hash:
        raise PipelineStageError(
            f"stage {stage!r}: the source of {module_name}:{qualname} changed during the run",
            stage=stage,
            hint="run again; the new code gets a new cache key",
        )
    return found  # type: ignore[no-any-return]  # resolved attribute of a module


def stage_state(stage: StageSpec) -> tuple[tuple[Any, ...], FunctionRef | None]:
    """``stage`` as plain data for another process, its function as a reference.

    Functions from ``file.py:name`` or a Python pipeline file live in modules
    this process made up (``_spe_stage_*``) that another interpreter cannot
    import by name; the reference names the file so a worker loads it the
    same way (see :func:`resolve_function_ref`).
    """
    ref = function_ref(stage.function) if stage.function is not None else None
    fields = (
        stage.name,
        stage.kind,
        stage.inputs,
        dict(stage.config),
        stage.schema,
        stage.retries,
        stage.backoff,
        stage.timeout,
        stage.code_hash,
    )
    return fields, ref


def restore_stage(state: tuple[tuple[Any, ...], FunctionRef | None]) -> StageSpec:
    """The inverse of :func:`stage_state`; raises ``PipelineStageError`` if the function is not found."""
    fields, ref = state
    name, kind, inputs, config, schema, retries, backoff, timeout, code_hash = fields
    function = (
        resolve_function_ref(ref, stage=name, code_hash=code_hash) if ref is not None else None
    )
    return StageSpec(
        name=name,
        kind=kind,
        inputs=inputs,
        config=config,
        schema=schema,
        retries=retries,
        backoff=backoff,
        timeout=timeout,
        function=function,
        code_hash=code_hash,
    )


@dataclass(frozen=True)
class PipelineSpec:
    """A whole pipeline: its stages in declaration order and its partitioning."""

    name: str
    stages: Mapping[str, StageSpec]
    partitions: PartitionSpec | None = None
    base_dir: Path = field(default_factory=Path.cwd)
    source_path: Path | None = None


def _fail(message: str, stage: str | None, hint: str, **context: Any) -> PipelineSpecError:
    return PipelineSpecError(message, stage=stage, hint=hint, **context)


def _number(raw: Mapping[str, Any], key: str, default: float | None, stage: str) -> float | None:
    value = raw.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise _fail(
            f"stage {stage!r}: {key} must be a non-negative number, not {value!r}",
            stage,
            f"write e.g. {key}: 3",
        )
    return float(value)


def _string(raw: Mapping[str, Any], key: str, stage: str, *, required: bool = True) -> str | None:
    value = raw.get(key)
    if value is None:
        if required:
            raise _fail(
                f"stage {stage!r} needs '{key}'", stage, f"add '{key}:' to the stage", key=key
            )
        return None
    if not isinstance(value, str) or not value.strip():
        raise _fail(
            f"stage {stage!r}: '{key}' must be a non-empty string, not {value!r}",
            stage,
            f"quote the value of '{key}'",
            key=key,
        )
    return value


def module_code_hash(func: TransformFunc) -> str:
    """Digest of the source of the module defining ``func`` (helpers included)."""
    module = inspect.getmodule(func)
    cached = _CODE_HASHES.get(id(module)) if module is not None else None
    if cached is not None and cached[0] is module:
        return cached[1]
    digest = _source_digest(func, module)
    if module is not None:
        _CODE_HASHES[id(module)] = (module, digest)
    return digest


_CODE_HASHES: dict[int, tuple[Any, str]] = {}


def _source_digest(func: TransformFunc, module: Any) -> str:
    try:
        source = inspect.getsource(module) if module is not None else inspect.getsource(func)
    except (OSError, TypeError):
        code = getattr(func, "__code__", None)
        source = repr(code.co_code) if code is not None else repr(func)
    return hashlib.sha256(source.encode()).hexdigest()


_MODULES: dict[tuple[str, int, int], Any] = {}


def _exec_file(mod_name: str, path: Path) -> Any:
    """Import a Python file as module ``mod_name`` (once per file version per process)."""
    stat = path.stat()
    key = (str(path), stat.st_mtime_ns, stat.st_size)
    if key in _MODULES:
        module = _MODULES[key]
        sys.modules[mod_name] = module  # inspect.getmodule (code hashes) looks it up there
        return module
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module
    spec.loader.exec_module(module)
    _MODULES[key] = module
    return module


def _resolve_function(ref: str, stage: str, base_dir: Path) -> TransformFunc:
    """``module:function`` or ``file.py:function`` (relative to the pipeline file)."""
    target, sep, attr = ref.rpartition(":")
    if not sep or not target or not attr:
        raise _fail(
            f"stage {stage!r}: function {ref!r} is not 'module:function' or 'file.py:function'",
            stage,
            "write e.g. function: transforms.py:clean",
        )
    path = (base_dir / target).resolve()
    if target.endswith(".py") and not path.is_file():
        raise _fail(
            f"stage {stage!r}: function file {str(path)!r} does not exist",
            stage,
            "paths are relative to the pipeline file",
            path=str(path),
        )
    try:
        if target.endswith(".py"):
            mod_name = f"_spe_stage_{hashlib.sha256(str(path).encode()).hexdigest()[:12]}"
            module = _exec_file(mod_name, path)
        else:
            module = importlib.import_module(target)
    except Exception as exc:
        raise _fail(
            f"stage {stage!r}: cannot import {target!r}: {type(exc).__name__}: {exc}",
            stage,
            "check that the module imports on its own",
        ) from exc
    func = getattr(module, attr, None)
    if not callable(func):
        raise _fail(
            f"stage {stage!r}: {target!r} has no function {attr!r}",
            stage,
            "check the name after the colon",
        )
    return func  # type: ignore[no-any-return]  # checked callable just above


def parse_stage(
    raw: object,
    *,
    base_dir: Path,
    defaults: Mapping[str, Any] | None = None,
    function: TransformFunc | None = None,
) -> StageSpec:
    """Check one stage declaration and return its :class:`StageSpec`.

    Raises:
        PipelineSpecError: naming the stage and the offending key.
    """
    if not isinstance(raw, Mapping):
        raise _fail("a stage must be a mapping", None, "write each stage as 'name: ..., kind: ...'")
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise _fail(
            f"stage name {name!r} is not an identifier",
            None,
            "use letters, digits and underscores (the name is also a SQL table name)",
        )
    kind = raw.get("kind")
    if kind not in KINDS:
        raise _fail(
            f"stage {name!r} has unknown kind {kind!r}", name, f"use one of {', '.join(KINDS)}"
        )
    unknown = set(raw) - _COMMON_KEYS - _KIND_KEYS[kind]
    if unknown:
        raise _fail(
            f"stage {name!r} ({kind}) has unknown key(s) {', '.join(sorted(map(str, unknown)))}",
            name,
            f"a {kind} stage takes {', '.join(sorted(_KIND_KEYS[kind] | _COMMON_KEYS))}",
        )
    inputs_raw = raw.get("inputs", [])
    if isinstance(inputs_raw, str):
        inputs_raw = [inputs_raw]
    if not isinstance(inputs_raw, list) or not all(isinstance(i, str) for i in inputs_raw):
        raise _fail(
            f"stage {name!r}: inputs must be a list of stage names",
            name,
            "write inputs: [a, b]",
        )
    inputs = tuple(inputs_raw)
    if len(set(inputs)) != len(inputs):
        raise _fail(f"stage {name!r} lists an input twice", name, "list each input once")
    merged = dict(defaults or {})
    schema = parse_schema(raw["schema"], stage=name) if raw.get("schema") is not None else None
    config: dict[str, Any] = {}
    func: TransformFunc | None = function
    code_hash = ""
    if kind == "source":
        fmt = _string(raw, "format", name)
        if fmt not in SOURCE_FORMATS:
            raise _fail(
                f"stage {name!r}: unknown source format {fmt!r}",
                name,
                f"use one of {', '.join(SOURCE_FORMATS)}",
            )
        config["format"] = fmt
        config["path"] = _string(raw, "path", name, required=fmt != "duckdb")
        config["query"] = _string(raw, "query", name, required=fmt in {"sqlite", "duckdb"})
        if inputs:
            raise _fail(f"source {name!r} cannot have inputs", name, "remove 'inputs'")
    elif kind == "transform":
        sql = _string(raw, "sql", name, required=False)
        ref = raw.get("function")
        if (sql is None) == (ref is None and func is None):
            raise _fail(
                f"transform {name!r} needs exactly one of 'sql' or 'function'",
                name,
                "write sql: SELECT ... or function: module.py:name",
            )
        params = raw.get("params", {})
        if not isinstance(params, Mapping):
            raise _fail(f"stage {name!r}: params must be a mapping", name, "write params: {k: v}")
        config["params"] = dict(params)
        if sql is not None:
            config["sql"] = sql
        else:
            if func is None:
                if not isinstance(ref, str):
                    raise _fail(
                        f"stage {name!r}: function must be a string", name, "write module:function"
                    )
                func = _resolve_function(ref, name, base_dir)
            config["function"] = f"{getattr(func, '__module__', '?')}:{func.__qualname__}"
            code_hash = module_code_hash(func)
    elif kind == "validate":
        if len(inputs) != 1:
            raise _fail(
                f"validator {name!r} needs exactly one input", name, "write inputs: [stage]"
            )
        from synthetic_pipeline_engine._expectations import parse_expectations

        expectations = parse_expectations(raw.get("expectations", []), stage=name)
        config["expectations"] = [e.as_dict() for e in expectations]
        on_failure = raw.get("on_failure", "fail")
        if on_failure not in ("fail", "warn"):
            raise _fail(f"stage {name!r}: on_failure must be fail or warn", name, "fail | warn")
        config["on_failure"] = on_failure
    elif kind == "sink":
        if len(inputs) != 1:
            raise _fail(f"sink {name!r} needs exactly one input", name, "write inputs: [stage]")
        fmt = _string(raw, "format", name)
        if fmt not in SINK_FORMATS:
            raise _fail(
                f"stage {name!r}: unknown sink format {fmt!r}",
                name,
                f"use one of {', '.join(SINK_FORMATS)}",
            )
        config["format"] = fmt
        config["path"] = _string(raw, "path", name)
        config["table"] = _string(raw, "table", name, required=fmt in {"sqlite", "duckdb"})
        mode = raw.get("mode", "replace")
        if mode not in ("replace", "append"):
            raise _fail(f"stage {name!r}: mode must be replace or append", name, "replace|append")
        config["mode"] = mode
    elif kind == "generate":
        generator = raw.get("generator")
        if isinstance(generator, str):
            gen_path = (base_dir / generator).resolve()
            try:
                generator = yaml.safe_load(gen_path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise _fail(
                    f"stage {name!r}: cannot read generator schema {str(gen_path)!r}",
                    name,
                    "paths are relative to the pipeline file",
                    path=str(gen_path),
                ) from exc
            except yaml.YAMLError as exc:
                raise _fail(
                    f"stage {name!r}: generator schema is not valid YAML: {exc}",
                    name,
                    "check the YAML syntax",
                ) from exc
        from synthetic_pipeline_engine._schema import parse_generator_schema

        parsed = parse_generator_schema(generator)
        table = raw.get("table") or next(iter(parsed.tables))
        if table not in parsed.tables:
            raise _fail(
                f"stage {name!r}: generator schema has no table {table!r}",
                name,
                f"tables are {', '.join(parsed.tables)}",
            )
        config["generator"] = generator
        config["table"] = table
        config["rows"] = raw.get("rows")
        config["seed"] = raw.get("seed", 0)
    elif kind == "synthesize":
        if len(inputs) != 1:
            raise _fail(f"synthesizer {name!r} needs one input", name, "write inputs: [stage]")
        config["rows"] = raw.get("rows")
        config["seed"] = raw.get("seed", 0)
        preset = raw.get("preset", "fidelity")
        if preset not in ("fidelity", "private"):
            raise _fail(
                f"stage {name!r}: preset must be fidelity or private", name, "preset: fidelity"
            )
        config["preset"] = preset
        ids = raw.get("ids", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise _fail(
                f"stage {name!r}: ids must be a list of column names", name, "ids: [customer_id]"
            )
        config["ids"] = ids
    for key in ("rows",):
        if key in config and config[key] is not None:
            value = config[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise _fail(
                    f"stage {name!r}: rows must be a non-negative integer", name, "rows: 1000"
                )
    if "seed" in config and (
        isinstance(config["seed"], bool) or not isinstance(config["seed"], int)
    ):
        raise _fail(f"stage {name!r}: seed must be an integer", name, "seed: 42")
    retries = _number(raw, "retries", merged.get("retries", 0), name)
    return StageSpec(
        name=name,
        kind=kind,
        inputs=inputs,
        config=config,
        schema=schema,
        retries=int(retries or 0),
        backoff=float(_number(raw, "backoff", merged.get("backoff", 0.5), name) or 0.0),
        timeout=_number(raw, "timeout", merged.get("timeout"), name),
        function=func,
        code_hash=code_hash,
    )


def parse_pipeline(
    raw: object,
    *,
    base_dir: Path | None = None,
    source_path: Path | None = None,
    functions: Mapping[str, TransformFunc] | None = None,
) -> PipelineSpec:
    """Check a whole pipeline document (the YAML's top-level mapping).

    Raises:
        PipelineSpecError: the document or one of its stages is malformed.
    """
    base = base_dir or Path.cwd()
    if not isinstance(raw, Mapping):
        raise _fail(
            "a pipeline must be a mapping with 'name' and 'stages'",
            None,
            "start the file with 'name: my_pipeline' and 'stages:'",
        )
    unknown = set(raw) - {"name", "stages", "partitions", "defaults", "description"}
    if unknown:
        raise _fail(
            f"unknown top-level key(s) {', '.join(sorted(map(str, unknown)))}",
            None,
            "top-level keys are name, description, partitions, defaults, stages",
        )
    name = raw.get("name", "pipeline")
    if not isinstance(name, str) or not name:
        raise _fail("pipeline 'name' must be a non-empty string", None, "name: my_pipeline")
    defaults = raw.get("defaults", {})
    if not isinstance(defaults, Mapping) or set(defaults) - {"retries", "backoff", "timeout"}:
        raise _fail(
            "defaults must be a mapping of retries, backoff, timeout",
            None,
            "write defaults: {retries: 2, backoff: 0.5, timeout: 60}",
        )
    stages_raw = raw.get("stages")
    if not isinstance(stages_raw, Sequence) or isinstance(stages_raw, str) or not stages_raw:
        raise _fail("'stages' must be a non-empty list", None, "list the stages under 'stages:'")
    stages: dict[str, StageSpec] = {}
    for item in stages_raw:
        fn = None
        if functions and isinstance(item, Mapping):
            fn = functions.get(str(item.get("name")))
        stage = parse_stage(item, base_dir=base, defaults=defaults, function=fn)
        if stage.name in stages:
            raise _fail(f"stage {stage.name!r} is declared twice", stage.name, "rename one")
        stages[stage.name] = stage
    partitions = parse_partitions(raw.get("partitions"))
    return PipelineSpec(name, stages, partitions, base, source_path)


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Load a pipeline from a YAML file or a Python file defining ``pipeline``.

    Raises:
        PipelineSpecError: the file is missing, unreadable or malformed.
    """
    file = Path(path)
    if not file.is_file():
        raise PipelineSpecError(
            f"pipeline file {str(file)!r} does not exist", path=str(file), hint="check the path"
        )
    base = file.resolve().parent
    if file.suffix == ".py":
        mod_name = f"_spe_pipeline_{hashlib.sha256(str(file.resolve()).encode()).hexdigest()[:12]}"
        spec = importlib.util.spec_from_file_location(mod_name, file.resolve())
        if spec is None or spec.loader is None:
            raise PipelineSpecError(f"cannot load {str(file)!r}", path=str(file), hint="check it")
        module = importlib.util.module_from_spec(spec)
        sys.modules[mod_name] = module
        try:
            spec.loader.exec_module(module)
        except PipelineSpecError:
            raise
        except Exception as exc:
            raise PipelineSpecError(
                f"pipeline module raised {type(exc).__name__}: {exc}",
                path=str(file),
                hint="run the module with python to see the traceback",
            ) from exc
        found = getattr(module, "pipeline", None)
        if isinstance(found, Pipeline):
            return found.build(base_dir=base, source_path=file)
        if isinstance(found, PipelineSpec):
            return found
        raise PipelineSpecError(
            "the module defines no 'pipeline' (a Pipeline or PipelineSpec)",
            path=str(file),
            hint="assign pipeline = Pipeline('name') at module level",
        )
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PipelineSpecError(
            f"cannot read pipeline file: {exc}", path=str(file), hint="save it as UTF-8 text"
        ) from exc
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PipelineSpecError(
            f"pipeline file is not valid YAML: {getattr(exc, 'problem', exc)}",
            path=str(file),
            line=mark.line + 1 if mark is not None else None,
            hint="check the indentation and quoting near that line",
        ) from exc
    return parse_pipeline(document, base_dir=base, source_path=file)


class Pipeline:
    """Declare a pipeline in Python; :meth:`build` checks it like a YAML file.

    Example::

        pipeline = Pipeline("orders")
        pipeline.source("raw", format="csv", path="orders.csv")

        @pipeline.transform(inputs=["raw"])
        def paid(raw: pl.DataFrame) -> pl.DataFrame:
            return raw.filter(pl.col("status") == "paid")
    """

    def __init__(
        self,
        name: str,
        *,
        partitions: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> None:
        self.name = name
        self._stages: list[dict[str, Any]] = []
        self._functions: dict[str, TransformFunc] = {}
        self._partitions = dict(partitions) if partitions else None
        self._defaults = dict(defaults) if defaults else {}

    def _add(self, name: str, kind: str, **settings: Any) -> Pipeline:
        self._stages.append(
            {"name": name, "kind": kind, **{k: v for k, v in settings.items() if v is not None}}
        )
        return self

    def source(self, name: str, *, format: str, path: str | None = None, **kw: Any) -> Pipeline:
        """Add a source stage (csv, parquet, jsonl, sqlite, duckdb)."""
        return self._add(name, "source", format=format, path=path, **kw)

    def sql(self, name: str, sql: str, *, inputs: Sequence[str], **kw: Any) -> Pipeline:
        """Add a SQL transform; each input is visible as a table of its stage name."""
        return self._add(name, "transform", sql=sql, inputs=list(inputs), **kw)

    def transform(
        self, name: str | None = None, *, inputs: Sequence[str] = (), **kw: Any
    ) -> Callable[[TransformFunc], TransformFunc]:
        """Decorate a function as a transform; inputs arrive as Polars DataFrames."""

        def register(func: TransformFunc) -> TransformFunc:
            stage = name or func.__name__
            self._functions[stage] = func
            self._add(stage, "transform", inputs=list(inputs), **kw)
            return func

        return register

    def validate(self, name: str, *, input: str, **kw: Any) -> Pipeline:
        """Add a validator over one input (schema and expectations)."""
        return self._add(name, "validate", inputs=[input], **kw)

    def sink(self, name: str, *, input: str, format: str, path: str, **kw: Any) -> Pipeline:
        """Add a sink writing one input to a file or database."""
        return self._add(name, "sink", inputs=[input], format=format, path=path, **kw)

    def generate(self, name: str, *, generator: Any, **kw: Any) -> Pipeline:
        """Add a synthetic-data stage from a generator schema (mapping or file)."""
        return self._add(name, "generate", generator=generator, **kw)

    def synthesize(self, name: str, *, input: str, **kw: Any) -> Pipeline:
        """Add a Gaussian-copula synthesizer fitted on its input."""
        return self._add(name, "synthesize", inputs=[input], **kw)

    def build(
        self, *, base_dir: Path | None = None, source_path: Path | None = None
    ) -> PipelineSpec:
        """Check the declaration and return the :class:`PipelineSpec`."""
        document: dict[str, Any] = {"name": self.name, "stages": self._stages}
        if self._partitions:
            document["partitions"] = self._partitions
        if self._defaults:
            document["defaults"] = self._defaults
        return parse_pipeline(
            document, base_dir=base_dir, source_path=source_path, functions=self._functions
        )
