"""``Model``: variables, parameters, equations and constraints, reduced and turned into code.

A model is declared in Python or read from TOML::

    name = "circle meets line"
    variables = ["x", "y"]
    parameters = { r = 1 }          # a value, or "" for a free parameter
    equations = ["x^2 + y^2 = r^2", "y = 2*x"]
    constraints = ["x >= 0"]
    outputs = ["x"]

and then

* :meth:`Model.bind` substitutes parameter values (exact);
* :meth:`Model.eliminate` removes variables by elimination ideals: the lex
  Gröbner basis with the eliminated variables first, keeping the elements
  free of them (rational equations are brought to lowest terms and cleared
  of denominators, so ``y = (x^2-1)/(x-1)`` becomes ``y = x + 1``: the
  removable singularity is removed, as ``simplify`` does);
* :meth:`Model.reduce` eliminates every variable that is not an output and
  simplifies what is left (equality saturation);
* :meth:`Model.solve` solves the bound model exactly and keeps the
  solutions that satisfy the constraints;
* :meth:`Model.jacobian`, :meth:`Model.lambdify` and :meth:`Model.to_c`
  differentiate it and generate Python/NumPy or C code for its residuals.

Constraints that mention an eliminated variable cannot be stated after the
elimination; they are kept in :attr:`Model.dropped` so nothing is lost
silently.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from symbolic_reduction_modeler._calculus import jacobian
from symbolic_reduction_modeler._ccode import CFunction, c_function
from symbolic_reduction_modeler._codegen import Lambdified, lambdify
from symbolic_reduction_modeler._expr import Eq, Expr, Number, Symbol, sympify
from symbolic_reduction_modeler._groebner import groebner
from symbolic_reduction_modeler._parse import parse
from symbolic_reduction_modeler._poly import _as_fraction, _generators, cancel, expand
from symbolic_reduction_modeler._rewrite import Limits
from symbolic_reduction_modeler._simplify import simplify
from symbolic_reduction_modeler._solve import RootOf, Solution, solve
from symbolic_reduction_modeler.errors import SymbolicError, SymbolicInputError, SymbolicMathError

__all__ = ["Constraint", "Model"]

RELATIONS = (">=", "<=", "!=", ">", "<")
_RELATION = re.compile(r"(>=|<=|!=|>|<)")
_TOML_KEYS = frozenset({"name", "variables", "parameters", "equations", "constraints", "outputs"})


@dataclass(frozen=True)
class Constraint:
    """``expr relation 0``, e.g. ``x - 1 >= 0``."""

    expr: Expr
    relation: str

    def holds(self, values: Mapping[Symbol, float], tolerance: float = 1e-9) -> bool:
        value = self.expr.evalf(dict(values))
        if self.relation == ">=":
            return value >= -tolerance
        if self.relation == "<=":
            return value <= tolerance
        if self.relation == ">":
            return value > tolerance
        if self.relation == "<":
            return value < -tolerance
        return abs(value) > tolerance

    def __str__(self) -> str:
        return f"{self.expr} {self.relation} 0"


@dataclass
class Model:
    """A named system: declare with the methods, then reduce, solve or generate code."""

    name: str = "model"
    variables: list[Symbol] = field(default_factory=list)
    parameters: list[Symbol] = field(default_factory=list)
    values: dict[Symbol, Expr] = field(default_factory=dict)
    equations: list[Eq] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    outputs: list[Symbol] = field(default_factory=list)
    dropped: list[Constraint] = field(default_factory=list)

    # -- declaring -----------------------------------------------------------
    def _known(self) -> dict[str, Symbol]:
        return {s.name: s for s in [*self.variables, *self.parameters]}

    def variable(self, name: str, **assumptions: bool) -> Symbol:
        return self._declare(name, self.variables, assumptions)

    def parameter(self, name: str, value: object = None, **assumptions: bool) -> Symbol:
        sym = self._declare(name, self.parameters, assumptions)
        if value is not None:
            self.values[sym] = self._expr(value, f"the value of {name}")
            if self.values[sym].free_symbols:
                raise SymbolicInputError(f"the value of parameter {name} must be a number")
        return sym

    def _declare(self, name: str, into: list[Symbol], assumptions: dict[str, bool]) -> Symbol:
        if not isinstance(name, str) or not name.isidentifier():
            raise SymbolicInputError(f"{name!r} is not a valid symbol name")
        if name in self._known():
            raise SymbolicInputError(f"{name!r} is declared twice")
        sym = Symbol.of(name, **assumptions)
        into.append(sym)
        return sym

    def _expr(self, value: object, where: str) -> Expr:
        """An expression over the declared symbols (text is parsed, names resolved)."""
        expr = parse(value) if isinstance(value, str) else sympify(value)
        known = self._known()
        mapping: dict[Expr, Expr] = {}
        for sym in expr.free_symbols:
            target = known.get(sym.name)
            if target is None:
                raise SymbolicInputError(
                    f"{where} uses {sym.name!r}, which is neither a variable nor a parameter",
                    hint="declare it under variables or parameters",
                )
            if target is not sym:
                mapping[sym] = target
        return expr.subs(mapping) if mapping else expr

    def equation(self, lhs: object, rhs: object = 0) -> Eq:
        where = f"equation {len(self.equations) + 1}"
        eq = Eq(self._expr(lhs, where), self._expr(rhs, where))
        self.equations.append(eq)
        return eq

    def constraint(self, lhs: object, relation: str, rhs: object = 0) -> Constraint:
        if relation not in RELATIONS:
            raise SymbolicInputError(f"unknown relation {relation!r}", hint=" ".join(RELATIONS))
        where = f"constraint {len(self.constraints) + 1}"
        c = Constraint(self._expr(lhs, where) - self._expr(rhs, where), relation)
        self.constraints.append(c)
        return c

    def output(self, *names: str | Symbol) -> None:
        known = {s.name: s for s in self.variables}
        for n in names:
            key = n.name if isinstance(n, Symbol) else n
            if key not in known:
                raise SymbolicInputError(f"output {key!r} is not a variable of the model")
            if known[key] not in self.outputs:
                self.outputs.append(known[key])

    # -- reading -------------------------------------------------------------
    @classmethod
    def from_toml(cls, text: str) -> Model:
        """A model from TOML text (see the module docstring for the keys)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise SymbolicInputError(f"model file is not valid TOML: {exc}") from None
        except (TypeError, ValueError) as exc:
            raise SymbolicInputError(f"model file could not be read: {exc}") from None
        unknown = set(data) - _TOML_KEYS
        if unknown:
            raise SymbolicInputError(
                f"unknown key(s) in model file: {', '.join(sorted(unknown))}",
                hint=f"use {', '.join(sorted(_TOML_KEYS))}",
            )
        name = data.get("name", "model")
        if not isinstance(name, str):
            raise SymbolicInputError("'name' must be a string")
        model = cls(name)
        for var in _string_list(data, "variables"):
            model.variable(var)
        params = data.get("parameters", {})
        if isinstance(params, list):
            params = dict.fromkeys(_string_list(data, "parameters"), "")
        if not isinstance(params, dict):
            raise SymbolicInputError("'parameters' must be a table (name = value) or a list")
        for pname, value in params.items():
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise SymbolicInputError(
                    f'parameter {pname!r}: give an integer or an exact number as text, e.g. "1/3"',
                    hint='floats are not exact: write "0.1" in quotes',
                )
            model.parameter(pname, None if value == "" else value)
        for text_eq in _string_list(data, "equations"):
            sides = text_eq.split("=")
            if len(sides) > 2:
                raise SymbolicInputError(f"equation {text_eq!r} has more than one '='")
            model.equation(sides[0], sides[1] if len(sides) == 2 else "0")
        for text_c in _string_list(data, "constraints"):
            parts = _RELATION.split(text_c)
            if len(parts) != 3:
                raise SymbolicInputError(
                    f"constraint {text_c!r} needs exactly one of {' '.join(RELATIONS)}"
                )
            model.constraint(parts[0], parts[1], parts[2])
        model.output(*_string_list(data, "outputs"))
        return model

    # -- transforming ------------------------------------------------------
    @property
    def residuals(self) -> list[Expr]:
        """``lhs - rhs`` of every equation: the model holds where all are 0."""
        return [eq.as_expr() for eq in self.equations]

    def _copy(self, equations: list[Eq], **changes: Any) -> Model:
        out = Model(
            self.name,
            list(self.variables),
            list(self.parameters),
            dict(self.values),
            equations,
            list(self.constraints),
            list(self.outputs),
            list(self.dropped),
        )
        for key, value in changes.items():
            setattr(out, key, value)
        return out

    def substitute(self, mapping: Mapping[Symbol, object]) -> Model:
        """Replace symbols by expressions in every equation and constraint."""
        table: dict[Expr, Expr] = {k: sympify(v) for k, v in mapping.items()}
        eqs = [Eq(eq.lhs.subs(table), eq.rhs.subs(table)) for eq in self.equations]
        cons = [Constraint(c.expr.subs(table), c.relation) for c in self.constraints]
        return self._copy(eqs, constraints=cons)

    def bind(self, **values: object) -> Model:
        """Substitute parameter values: those given here, then those declared with the model."""
        params = {p.name: p for p in self.parameters}
        mapping: dict[Symbol, object] = dict(self.values)
        for key, value in values.items():
            if key not in params:
                raise SymbolicInputError(f"{key!r} is not a parameter of the model")
            mapping[params[key]] = sympify(value)
        bound = self.substitute(mapping)
        bound.parameters = [p for p in self.parameters if p not in mapping]
        bound.values = {}
        return bound

    def simplify(self, limits: Limits | None = None) -> Model:
        """Every equation as ``simplified residual = 0``."""
        limits = limits or Limits(seconds=0.5)
        eqs = [Eq(simplify(r, limits=limits), Number.of(0)) for r in self.residuals]
        return self._copy([eq for eq in eqs if eq.lhs != 0])

    def eliminate(self, symbols: Sequence[Symbol | str]) -> Model:
        """The model with ``symbols`` eliminated (elimination ideal of the polynomial equations)."""
        by_name = {s.name: s for s in self.variables}
        gone: list[Symbol] = []
        for s in symbols:
            key = s.name if isinstance(s, Symbol) else s
            if key not in by_name:
                raise SymbolicInputError(f"can only eliminate variables; {key!r} is not one")
            gone.append(by_name[key])
        if not gone:
            return self._copy(list(self.equations))
        polys = []
        for i, r in enumerate(self.residuals):
            try:
                numerator, _ = _as_fraction(cancel(r))  # lowest terms: no spurious factors
                polys.append(expand(numerator))
            except SymbolicError as exc:
                raise SymbolicMathError(
                    f"equation {i + 1} is not polynomial: {exc}",
                    hint="elimination works on polynomial (or rational) equations",
                ) from None
        rest = [v for v in self.variables if v not in gone] + self.parameters
        gens = gone + rest
        for i, p in enumerate(polys):
            for atom in _generators(p):
                if atom not in gens:
                    raise SymbolicMathError(
                        f"equation {i + 1} is not polynomial: it contains {atom}",
                        hint="elimination works on polynomial (or rational) equations",
                    )
        basis = groebner(polys, gens, "lex")
        kept = [e for e in basis.exprs if not (e.free_symbols & set(gone))]
        if kept == [Number.of(1)]:
            raise SymbolicMathError("the equations are inconsistent (1 is in the ideal)")
        cons = [c for c in self.constraints if not (c.expr.free_symbols & set(gone))]
        dropped = [c for c in self.constraints if c.expr.free_symbols & set(gone)]
        return self._copy(
            [Eq(e, Number.of(0)) for e in kept],
            variables=[v for v in self.variables if v not in gone],
            outputs=[o for o in self.outputs if o not in gone],
            constraints=cons,
            dropped=[*self.dropped, *dropped],
        )

    def reduce(self, limits: Limits | None = None) -> Model:
        """Eliminate every non-output variable (if outputs are declared), then simplify."""
        model = self
        if self.outputs:
            model = self.eliminate([v for v in self.variables if v not in self.outputs])
        return model.simplify(limits)

    def solve(self) -> list[Solution]:
        """Exact solutions for the variables (parameters bound first) that meet the constraints."""
        bound = self.bind()
        if bound.parameters:
            raise SymbolicInputError(
                f"parameter(s) {', '.join(p.name for p in bound.parameters)} have no value",
                hint="give values in the model or with bind(name=value)",
            )
        solutions = solve(bound.equations, bound.variables)
        return [s for s in solutions if bound._satisfies(s)]

    def _satisfies(self, solution: Solution) -> bool:
        if not self.constraints:
            return True
        values: dict[Symbol, float] = {}
        for var, value in solution.items():
            if isinstance(value, RootOf):
                values[var] = value.evalf()
            elif isinstance(value, Number):
                values[var] = float(value.value)
            else:  # a parametric solution: constraints cannot be decided here
                return True
        try:
            return all(c.holds(values) for c in self.constraints)
        except (SymbolicError, KeyError, TypeError, ValueError):
            return True  # a constraint over free unknowns: keep the solution

    # -- calculus and code -----------------------------------------------------
    def jacobian(self) -> list[list[Expr]]:
        """d residual_i / d variable_j."""
        return jacobian(self.residuals, self.variables)

    def lambdify(self, backend: str = "python") -> Lambdified:
        """The residuals as a function of (variables..., parameters...) returning a list."""
        from symbolic_reduction_modeler._codegen import to_python_source

        args = [*self.variables, *self.parameters]
        if backend not in ("python", "numpy"):
            raise SymbolicInputError(f"unknown backend {backend!r}", hint="python or numpy")
        for r in self.residuals:  # validates names and free symbols
            lambdify(args, r, backend)
        module = "np" if backend == "numpy" else "math"
        body = ", ".join(to_python_source(r, module) for r in self.residuals)
        source = f"def residuals({', '.join(a.name for a in args)}):\n    return [{body}]\n"
        namespace: dict[str, Any] = {"math": math}
        if backend == "numpy":
            import numpy as np

            namespace["np"] = np
        exec(compile(source, "<model>", "exec"), namespace)  # noqa: S102  # generated from the tree
        return Lambdified(namespace["residuals"], source)

    def to_c(self, name: str = "residuals", with_jacobian: bool = False) -> CFunction:
        """C source: ``out`` gets the residuals, then (optionally) the Jacobian row by row."""
        exprs = list(self.residuals)
        if with_jacobian:
            exprs += [d for row in self.jacobian() for d in row]
        return c_function(exprs, [*self.variables, *self.parameters], name)

    def __str__(self) -> str:
        lines = [f"model {self.name}"]
        lines.append(f"  variables: {', '.join(v.name for v in self.variables) or '-'}")
        if self.parameters:
            shown = [
                f"{p.name} = {self.values[p]}" if p in self.values else p.name
                for p in self.parameters
            ]
            lines.append(f"  parameters: {', '.join(shown)}")
        lines.extend(f"  {eq.lhs} = {eq.rhs}" for eq in self.equations)
        lines.extend(f"  subject to {c}" for c in self.constraints)
        if self.outputs:
            lines.append(f"  outputs: {', '.join(o.name for o in self.outputs)}")
        lines.extend(f"  dropped (mentions an eliminated variable): {c}" for c in self.dropped)
        return "\n".join(lines)


def _string_list(data: Mapping[str, Any], key: str) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SymbolicInputError(f"{key!r} must be a list of strings")
    return value
