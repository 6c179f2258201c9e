"""A computer algebra engine for algebraic reduction, fast on a FLINT core.

Start with :func:`parse` or :func:`symbols`, then :func:`expand`,
:func:`factor`, :func:`gcd`, :func:`cancel`, :func:`groebner` /
:func:`reduce`, :func:`solve`, :func:`diff` and :func:`lambdify`.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("symbolic_reduction_modeler")
except PackageNotFoundError:  # running from a source tree without installing
    __version__ = "0.0.0"

from symbolic_reduction_modeler._calculus import diff, gradient, jacobian
from symbolic_reduction_modeler._ccode import CFunction, c_function
from symbolic_reduction_modeler._codegen import Lambdified, evaluate, lambdify, to_python_source
from symbolic_reduction_modeler._egraph import AST_SIZE, EGraph, weighted_cost
from symbolic_reduction_modeler._expr import (
    Add,
    Eq,
    Expr,
    Func,
    Mul,
    Number,
    Pow,
    Symbol,
    abs_,
    cos,
    exp,
    log,
    sin,
    sqrt,
    symbols,
    sympify,
    tan,
)
from symbolic_reduction_modeler._groebner import GroebnerBasis, groebner, reduce
from symbolic_reduction_modeler._model import Constraint, Model
from symbolic_reduction_modeler._parse import parse
from symbolic_reduction_modeler._poly import (
    ORDERS,
    Order,
    PolyRing,
    apart,
    cancel,
    expand,
    factor,
    gcd,
    poly_div,
    resultant,
)
from symbolic_reduction_modeler._printing import latex, to_str
from symbolic_reduction_modeler._rewrite import DEFAULT_RULES, Limits, Rule, SaturationReport
from symbolic_reduction_modeler._series import Series, series
from symbolic_reduction_modeler._simplify import Simplified, simplify, simplify_report
from symbolic_reduction_modeler._solve import RootOf, Solution, solve
from symbolic_reduction_modeler.config import SymbolicSettings
from symbolic_reduction_modeler.errors import (
    SymbolicError,
    SymbolicInputError,
    SymbolicMathError,
    SymbolicSyntaxError,
)

__all__ = [
    "AST_SIZE",
    "DEFAULT_RULES",
    "ORDERS",
    "Add",
    "CFunction",
    "Constraint",
    "EGraph",
    "Eq",
    "Expr",
    "Func",
    "GroebnerBasis",
    "Lambdified",
    "Limits",
    "Model",
    "Mul",
    "Number",
    "Order",
    "PolyRing",
    "Pow",
    "RootOf",
    "Rule",
    "SaturationReport",
    "Series",
    "Simplified",
    "Solution",
    "Symbol",
    "SymbolicError",
    "SymbolicInputError",
    "SymbolicMathError",
    "SymbolicSettings",
    "SymbolicSyntaxError",
    "__version__",
    "abs_",
    "apart",
    "c_function",
    "cancel",
    "cos",
    "diff",
    "evaluate",
    "exp",
    "expand",
    "factor",
    "gcd",
    "gradient",
    "groebner",
    "jacobian",
    "lambdify",
    "latex",
    "log",
    "parse",
    "poly_div",
    "reduce",
    "resultant",
    "series",
    "simplify",
    "simplify_report",
    "sin",
    "solve",
    "sqrt",
    "symbols",
    "sympify",
    "tan",
    "to_python_source",
    "to_str",
    "weighted_cost",
]
