"""The plumbing every system's command line shares.

A system builds one :class:`CliApp`, registers its commands and exposes
``main(argv) -> int`` and ``run()``.  The app owns what every CLI must do the
same way: the common flags (``--version``, ``--config``, ``--log-format``,
``--log-level``, ``--json``, ``--debug``, plus one flag per scalar setting,
derived from the settings model), loading settings in precedence order,
configuring logging and telemetry, and turning errors into one line on stderr
and an exit code:

====  ==========================================================
0     success
1     the operation ran and failed (verification failed, ...)
2     usage error or bad input (one line: what, where, a hint)
3     internal error (a bug: the traceback is shown with --debug)
====  ==========================================================
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, NoReturn, get_args, get_origin

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from shared_core.config import CoreSettings
from shared_core.errors import CoreError, ExitCode, ValidationError
from shared_core.logging import configure_logging, get_logger

__all__ = [
    "CliApp",
    "CommandFunc",
    "Context",
    "InputFileError",
    "ProgressTask",
    "UsageError",
    "read_input",
    "read_input_text",
    "render_data",
]

_S = typing.TypeVar("_S", bound=CoreSettings)


class UsageError(ValidationError):
    """The command line itself is wrong (unknown flag, missing argument)."""


class InputFileError(ValidationError):
    """A file named on the command line cannot be read the way the command needs it."""


def read_input(
    path: str | os.PathLike[str],
    *,
    what: str = "input",
    error: type[CoreError] = InputFileError,
    hint: str | None = None,
) -> bytes:
    """The bytes of a file the user named, or ``error`` saying why not (``-`` is stdin).

    Every command that takes a path needs the same four answers (missing, a directory, not
    readable, gone while reading) in one line with the path; ``error`` lets a system raise its
    own error class so callers catch one type.
    """
    name = os.fspath(path)
    if name == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(name).read_bytes()
    except FileNotFoundError:
        raise error(
            f"{what} {name}: no such file", hint=hint or "check the path", path=name
        ) from None
    except IsADirectoryError:
        raise error(
            f"{what} {name}: is a directory", hint=hint or "pass a file", path=name
        ) from None
    except PermissionError:
        raise error(
            f"{what} {name}: permission denied", hint=hint or "check the file's mode", path=name
        ) from None
    except OSError as exc:
        raise error(
            f"{what} {name}: cannot read: {exc.strerror or exc}",
            hint=hint or "check the path",
            path=name,
        ) from None


def read_input_text(
    path: str | os.PathLike[str],
    *,
    what: str = "input",
    error: type[CoreError] = InputFileError,
    hint: str | None = None,
    decode_hint: str = "pass a UTF-8 text file",
) -> str:
    """Like :func:`read_input`, decoded as UTF-8; other bytes are bad input, never a crash.

    The error names the offset of the first undecodable byte, which is what a user needs to
    find a stray binary file or a Latin-1 export.
    """
    data = read_input(path, what=what, error=error, hint=hint)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        name = os.fspath(path)
        raise error(
            f"{what} {name}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})",
            hint=decode_hint,
            path=name,
        ) from None


class _Parser(argparse.ArgumentParser):
    """argparse, but errors raise instead of printing usage and exiting."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message, hint=f"run '{self.prog} --help' for usage")


class ProgressTask:
    """A handle on one progress bar; a no-op when stderr is not a terminal."""

    def __init__(self, progress: Progress | None, task_id: Any) -> None:
        self._progress = progress
        self._task_id = task_id

    def advance(self, amount: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task_id, amount)

    def update(self, *, total: float | None = None, description: str | None = None) -> None:
        if self._progress is not None:
            self._progress.update(self._task_id, total=total, description=description)


def render_data(data: Any) -> str:
    """Plain-text rendering of nested data for people (``--json`` gives JSON)."""
    lines: list[str] = []

    def walk(value: Any, indent: int, key: str | None) -> None:
        pad = "  " * indent
        label = f"{key}: " if key is not None else ""
        if isinstance(value, dict):
            if key is not None:
                lines.append(f"{pad}{key}:")
                indent += 1
            for k, v in value.items():
                walk(v, indent, str(k))
        elif isinstance(value, list) and any(isinstance(v, dict | list) for v in value):
            lines.append(f"{pad}{label}".rstrip())
            for item in value:
                walk(item, indent + 1, "-")
        elif isinstance(value, list):
            lines.append(f"{pad}{label}{', '.join(str(v) for v in value)}")
        else:
            lines.append(f"{pad}{label}{value}")

    walk(data, 0, None)
    return "\n".join(lines)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    return str(value)


@dataclass
class Context:
    """What a command receives: settings, output helpers and a logger."""

    app: CliApp
    settings: CoreSettings
    json_output: bool
    debug: bool
    overrides: dict[str, Any] = field(default_factory=dict)
    config_file: str | None = None
    stdout: IO[str] = field(default_factory=lambda: sys.stdout)
    stderr: IO[str] = field(default_factory=lambda: sys.stderr)

    @property
    def log(self) -> Any:
        return get_logger(self.app.prog)

    def settings_as(self, cls: type[_S]) -> _S:
        """The settings typed as the system's own class, which the app was built with."""
        if not isinstance(self.settings, cls):
            raise CoreError(
                f"settings are {type(self.settings).__name__}, not {cls.__name__}",
                hint="this is a bug: build the CliApp with settings_cls=" + cls.__name__,
            )
        return self.settings

    def emit(self, data: Any, human: str | None = None) -> None:
        """Write a result: JSON with ``--json``, else ``human`` or a plain rendering."""
        if self.json_output:
            self.stdout.write(json.dumps(data, default=_json_default, sort_keys=True) + "\n")
        elif human is not None:
            self.stdout.write(human if human.endswith("\n") else human + "\n")
        else:
            self.stdout.write(render_data(data) + "\n")
        self.stdout.flush()

    def echo(self, text: str) -> None:
        """Human output that ``--json`` suppresses (tables, headings)."""
        if not self.json_output:
            self.stdout.write(text + "\n")

    @contextmanager
    def progress(self, description: str, total: float | None = None) -> Iterator[ProgressTask]:
        """A rich progress bar on a terminal; silent when stderr is piped or with ``--json``."""
        if self.json_output or not self.stderr.isatty():
            yield ProgressTask(None, None)
            return
        console = Console(file=self.stderr)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
        ) as bar:
            yield ProgressTask(bar, bar.add_task(description, total=total))


CommandFunc = Callable[[Context, argparse.Namespace], int | None]


@dataclass
class _Command:
    name: str
    func: CommandFunc
    help: str
    setup: Callable[[argparse.ArgumentParser], object] | None
    aliases: tuple[str, ...]


_COMMON = ("log_level", "log_format")


def _scalar_choices(annotation: Any) -> tuple[bool, list[str] | None]:
    """Whether a settings field can be a flag, and its choices if it is a Literal."""
    origin = get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) != 1:
            return False, None
        return _scalar_choices(args[0])
    if origin is Literal:
        return True, [str(a) for a in get_args(annotation)]
    if annotation in (str, int, float, bool, Path):
        return True, None
    return False, None


class CliApp:
    """One system's command line.

    Args:
        prog: the command's name as users type it.
        version: the distribution's version, printed by ``--version``.
        settings_cls: the system's :class:`CoreSettings` subclass; one flag is
            derived per scalar field.
        description: one paragraph for ``--help``.
    """

    def __init__(
        self,
        prog: str,
        version: str,
        settings_cls: type[CoreSettings],
        description: str,
    ) -> None:
        self.prog = prog
        self.version = version
        self.settings_cls = settings_cls
        self.description = description
        self._commands: dict[str, _Command] = {}
        self.command(
            "config", help="show the effective configuration and where each value came from"
        )(_show_config)

    def command(
        self,
        name: str,
        *,
        help: str,
        setup: Callable[[argparse.ArgumentParser], object] | None = None,
        aliases: Sequence[str] = (),
    ) -> Callable[[CommandFunc], CommandFunc]:
        """Register a sub-command; ``setup`` adds its arguments to its parser."""

        def register(func: CommandFunc) -> CommandFunc:
            self._commands[name] = _Command(name, func, help, setup, tuple(aliases))
            return func

        return register

    def build_parser(self) -> argparse.ArgumentParser:
        parser = _Parser(
            prog=self.prog,
            description=self.description,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        parser.add_argument("--version", action="version", version=f"{self.prog} {self.version}")
        parser.add_argument(
            "--config",
            metavar="FILE",
            help=f"TOML settings file (default: {self.settings_cls.default_config_file()} if present)",
        )
        parser.set_defaults(config=None)
        parser.add_argument("--json", action="store_true", help="print results as JSON")
        parser.add_argument(
            "--debug", action="store_true", help="show tracebacks for internal errors"
        )
        settings_group = parser.add_argument_group(
            "settings",
            f"override {self.settings_cls.system} settings (env: {self.settings_cls.env_prefix()}*)",
        )
        setting_flags: list[tuple[str, str, list[str] | None]] = []
        for name, info in self.settings_cls.model_fields.items():
            ok, choices = _scalar_choices(info.annotation)
            if not ok:
                continue
            flag = "--" + name.replace("_", "-")
            setting_flags.append((flag, name, choices))
            settings_group.add_argument(
                flag,
                dest=f"setting__{name}",
                metavar=None if choices else name.upper(),
                choices=choices,
                default=None,
                help=(info.description or name) + f" (default: {info.default})",
            )
        subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
        for command in self._commands.values():
            sub = subparsers.add_parser(
                command.name, help=command.help, description=command.help, aliases=command.aliases
            )
            # Users type `tool cmd --json` as often as `tool --json cmd`; accept both.
            # SUPPRESS keeps the sub-command from resetting a flag given before it.
            sub.add_argument(
                "--json",
                action="store_true",
                default=argparse.SUPPRESS,
                help="print results as JSON",
            )
            sub.add_argument(
                "--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS
            )
            if command.setup is not None:
                command.setup(sub)
            # Settings flags are accepted after the command too (`tool serve --port 1`),
            # unless the command defines an option of the same name itself.
            taken = sub._option_string_actions  # argparse keeps no public view of this
            for flag, name, choices in setting_flags:
                if flag not in taken:
                    sub.add_argument(
                        flag,
                        dest=f"setting__{name}",
                        metavar=None if choices else name.upper(),
                        choices=choices,
                        default=argparse.SUPPRESS,
                        help=argparse.SUPPRESS,
                    )
            sub.set_defaults(_command=command.name)
        parser.epilog = f"default config file: {self.settings_cls.default_config_file()}"
        return parser

    def main(
        self,
        argv: Sequence[str] | None = None,
        *,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> int:
        """Run the CLI and return its exit code; never raises, never calls ``sys.exit``."""
        out = stdout if stdout is not None else sys.stdout
        err = stderr if stderr is not None else sys.stderr
        args_list = list(sys.argv[1:] if argv is None else argv)
        debug = "--debug" in args_list
        json_errors = "--json" in args_list  # before or after the sub-command
        try:
            parser = self.build_parser()
            try:
                args = parser.parse_args(args_list)
            except SystemExit as exc:  # --help and --version exit through argparse
                return int(exc.code or 0)
            overrides = {
                key.removeprefix("setting__"): value
                for key, value in vars(args).items()
                if key.startswith("setting__") and value is not None
            }
            settings = self.settings_cls.load(args.config, overrides)
            configure_logging(settings.log_level, settings.log_format, stream=err)
            if settings.otlp_endpoint or settings.metrics_port is not None:
                from shared_core.telemetry import setup_from_settings

                setup_from_settings(self.prog, self.version, settings)
            command_name = getattr(args, "_command", None)
            if command_name is None:
                parser.print_help(out)
                return ExitCode.USAGE
            ctx = Context(self, settings, args.json, args.debug, overrides, args.config, out, err)
            result = self._commands[command_name].func(ctx, args)
            return ExitCode.OK if result is None else int(result)
        except CoreError as exc:
            self._report(exc, err, json_errors, debug)
            return exc.exit_code
        except KeyboardInterrupt:
            err.write(f"{self.prog}: interrupted\n")
            return 130
        except BrokenPipeError:
            return ExitCode.FAILED
        except Exception as exc:  # the boundary: anything else is our bug
            if debug:
                traceback.print_exc(file=err)
            err.write(
                f"{self.prog}: internal error: {type(exc).__name__}: {exc}; "
                "hint: rerun with --debug for a traceback and report it\n"
            )
            return ExitCode.INTERNAL

    def _report(self, exc: CoreError, err: IO[str], json_errors: bool, debug: bool) -> None:
        if debug:
            traceback.print_exception(exc, file=err)
        if json_errors:
            err.write(exc.to_json() + "\n")
        else:
            err.write(f"{self.prog}: error: {exc.one_line()}\n")

    def run(self) -> NoReturn:
        """Entry point for ``[project.scripts]`` and ``python -m``."""
        sys.exit(self.main())


def _show_config(ctx: Context, _args: argparse.Namespace) -> int:
    settings = ctx.settings
    overrides = ctx.overrides
    path = Path(ctx.config_file) if ctx.config_file else None
    if path is None and settings.default_config_file().is_file():
        path = settings.default_config_file()
    values = settings.model_dump(mode="json")
    sources = {key: type(settings)._source_of(key, path, overrides) for key in values}
    if ctx.json_output:
        ctx.emit({"system": settings.system, "values": values, "sources": sources})
    else:
        width = max((len(k) for k in values), default=0)
        lines = [f"{k.ljust(width)} = {json.dumps(v)}  # {sources[k]}" for k, v in values.items()]
        ctx.emit(values, human="\n".join(lines))
    return ExitCode.OK
