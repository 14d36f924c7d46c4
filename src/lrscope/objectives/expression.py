"""Formulas typed by a person: a whitelisted parser, exact symbolic derivatives, NumPy evaluation.

``formula("x**2 + 10*y**2")`` turns text into a small expression tree (numbers, variables, + - * / ** and a fixed set
of functions), differentiates it exactly, and evaluates value and gradient on a ``(K, d)`` batch. The text is read with
:func:`ast.parse` and every node is checked against a whitelist; nothing is ever passed to ``eval``, ``exec`` or a
symbolic library's string parser, so ``__import__('os')`` or ``().__class__`` are refused, not run.
"""

from __future__ import annotations

import ast
import io
import keyword
import math
import re
import tokenize
import warnings

import numpy as np

from .base import Objective, as_batch, as_point

MAX_LENGTH = 500          # characters of formula text
MAX_NODES = 400           # syntax-tree nodes
MAX_DEPTH = 40            # nesting depth
MAX_VARIABLES = 20
MAX_EXPONENT = 1000.0     # |p| in x**p for a constant p
MAX_NUMBER = 1e300


def _sigmoid(u):
    return 0.5 * (1.0 + np.tanh(0.5 * u))


# name -> (NumPy function, derivative as a function of the argument expression)
FUNCTIONS = {
    "sin": (np.sin, lambda u: call("cos", u)),
    "cos": (np.cos, lambda u: neg(call("sin", u))),
    "tan": (np.tan, lambda u: add(Const(1.0), power(call("tan", u), Const(2.0)))),
    "exp": (np.exp, lambda u: call("exp", u)),
    "log": (np.log, lambda u: divide(Const(1.0), u)),
    "sqrt": (np.sqrt, lambda u: divide(Const(0.5), call("sqrt", u))),
    "abs": (np.abs, lambda u: call("sign", u)),
    "sign": (np.sign, lambda u: Const(0.0)),
    "tanh": (np.tanh, lambda u: sub(Const(1.0), power(call("tanh", u), Const(2.0)))),
    "sinh": (np.sinh, lambda u: call("cosh", u)),
    "cosh": (np.cosh, lambda u: call("sinh", u)),
    "atan": (np.arctan, lambda u: divide(Const(1.0), add(Const(1.0), power(u, Const(2.0))))),
    "sigmoid": (_sigmoid, lambda u: mul(call("sigmoid", u), sub(Const(1.0), call("sigmoid", u)))),
    "softplus": (lambda u: np.logaddexp(0.0, u), lambda u: call("sigmoid", u)),
}
ALIASES = {"ln": "log", "arctan": "atan"}
CONSTANTS = {"pi": math.pi, "e": math.e}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


# --------------------------------------------------------------------------------------------------------------
# The expression tree. Nodes are immutable; smart constructors (add, mul, ...) fold constants and drop 0 and 1.
# --------------------------------------------------------------------------------------------------------------
class Expr:
    """A node of a formula: evaluate with :meth:`evaluate`, differentiate with :meth:`diff`."""

    precedence = 100

    def evaluate(self, env):
        raise NotImplementedError

    def diff(self, index: int) -> "Expr":
        raise NotImplementedError

    def text(self, names) -> str:
        raise NotImplementedError

    def _wrap(self, child: "Expr", names, strict: bool = False) -> str:
        s = child.text(names)
        if child.precedence < self.precedence or (strict and child.precedence == self.precedence):
            return f"({s})"
        return s


class Const(Expr):
    def __init__(self, value: float):
        self.value = float(value)

    @property
    def precedence(self):
        return 100 if self.value >= 0 else 3

    def evaluate(self, env):
        return np.float64(self.value)        # NumPy semantics: 1/0 is inf (data), never ZeroDivisionError

    def diff(self, index):
        return Const(0.0)

    def text(self, names):
        v = self.value
        return str(int(v)) if v.is_integer() and abs(v) < 1e15 else repr(v)


class Var(Expr):
    def __init__(self, index: int):
        self.index = index

    def evaluate(self, env):
        return env[self.index]

    def diff(self, index):
        return Const(1.0 if index == self.index else 0.0)

    def text(self, names):
        return names[self.index]


class Add(Expr):
    precedence = 1

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self, env):
        return self.a.evaluate(env) + self.b.evaluate(env)

    def diff(self, index):
        return add(self.a.diff(index), self.b.diff(index))

    def text(self, names):
        return f"{self._wrap(self.a, names)} + {self._wrap(self.b, names)}"


class Sub(Expr):
    precedence = 1

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self, env):
        return self.a.evaluate(env) - self.b.evaluate(env)

    def diff(self, index):
        return sub(self.a.diff(index), self.b.diff(index))

    def text(self, names):
        return f"{self._wrap(self.a, names)} - {self._wrap(self.b, names, strict=True)}"


class Mul(Expr):
    precedence = 2

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self, env):
        return self.a.evaluate(env) * self.b.evaluate(env)

    def diff(self, index):
        return add(mul(self.a.diff(index), self.b), mul(self.a, self.b.diff(index)))

    def text(self, names):
        return f"{self._wrap(self.a, names)}*{self._wrap(self.b, names)}"


class Div(Expr):
    precedence = 2

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self, env):
        return self.a.evaluate(env) / self.b.evaluate(env)

    def diff(self, index):
        # (a/b)' = a'/b - a*b'/b^2
        return sub(divide(self.a.diff(index), self.b),
                   divide(mul(self.a, self.b.diff(index)), power(self.b, Const(2.0))))

    def text(self, names):
        return f"{self._wrap(self.a, names)}/{self._wrap(self.b, names, strict=True)}"


class Neg(Expr):
    precedence = 3

    def __init__(self, a):
        self.a = a

    def evaluate(self, env):
        return -self.a.evaluate(env)

    def diff(self, index):
        return neg(self.a.diff(index))

    def text(self, names):
        return f"-{self._wrap(self.a, names)}"


class Pow(Expr):
    precedence = 4

    def __init__(self, a, b):
        self.a, self.b = a, b

    def evaluate(self, env):
        return self.a.evaluate(env) ** self.b.evaluate(env)

    def diff(self, index):
        a, b = self.a, self.b
        da, db = a.diff(index), b.diff(index)
        if isinstance(b, Const):            # (a^p)' = p a^(p-1) a'
            return mul(mul(b, power(a, Const(b.value - 1.0))), da)
        # (a^b)' = a^b (b' log a + b a'/a)
        return mul(self, add(mul(db, call("log", a)), divide(mul(b, da), a)))

    def text(self, names):
        return f"{self._wrap(self.a, names, strict=True)}**{self._wrap(self.b, names)}"


class Call(Expr):
    def __init__(self, name: str, arg: Expr):
        self.name, self.arg = name, arg
        self.fn = FUNCTIONS[name][0]

    def evaluate(self, env):
        return self.fn(self.arg.evaluate(env))

    def diff(self, index):
        return mul(FUNCTIONS[self.name][1](self.arg), self.arg.diff(index))

    def text(self, names):
        return f"{self.name}({self.arg.text(names)})"


def _is(e: Expr, value: float) -> bool:
    return isinstance(e, Const) and e.value == value


def add(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value + b.value)
    if _is(a, 0.0):
        return b
    if _is(b, 0.0):
        return a
    if isinstance(b, Neg):
        return sub(a, b.a)
    return Add(a, b)


def sub(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value - b.value)
    if _is(b, 0.0):
        return a
    if _is(a, 0.0):
        return neg(b)
    return Sub(a, b)


def mul(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        return Const(a.value * b.value)
    if _is(a, 0.0) or _is(b, 0.0):
        return Const(0.0)
    if _is(a, 1.0):
        return b
    if _is(b, 1.0):
        return a
    if _is(a, -1.0):
        return neg(b)
    if _is(b, -1.0):
        return neg(a)
    if isinstance(a, Neg):
        return neg(mul(a.a, b))
    if isinstance(b, Neg):
        return neg(mul(a, b.a))
    if isinstance(b, Const):            # constants first: 2*x, not x*2
        return mul(b, a)
    if isinstance(a, Const) and isinstance(b, Mul) and isinstance(b.a, Const):
        return mul(Const(a.value * b.a.value), b.b)
    return Mul(a, b)


def divide(a: Expr, b: Expr) -> Expr:
    if isinstance(a, Const) and isinstance(b, Const):
        if b.value == 0.0:
            raise ValueError("formula: division by zero in a constant")
        return Const(a.value / b.value)
    if _is(a, 0.0):
        return Const(0.0)
    if _is(b, 1.0):
        return a
    return Div(a, b)


def neg(a: Expr) -> Expr:
    if isinstance(a, Const):
        return Const(-a.value)
    if isinstance(a, Neg):
        return a.a
    return Neg(a)


def power(a: Expr, b: Expr) -> Expr:
    if isinstance(b, Const):
        if abs(b.value) > MAX_EXPONENT:
            raise ValueError(f"formula: exponent {b.value:g} is too large (|exponent| <= {MAX_EXPONENT:g})")
        if b.value == 0.0:
            return Const(1.0)
        if b.value == 1.0:
            return a
        if isinstance(a, Const):
            return _folded(a.value, b.value)
    return Pow(a, b)


def _folded(base: float, exponent: float) -> Const:
    try:
        value = math.pow(base, exponent)
    except (OverflowError, ValueError, ZeroDivisionError):
        value = math.nan
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"formula: {base:g}**{exponent:g} is not a finite number")
    return Const(value)


def call(name: str, arg: Expr) -> Expr:
    if isinstance(arg, Const) and name != "sign":
        with np.errstate(all="ignore"):
            value = float(FUNCTIONS[name][0](arg.value))
        if not math.isfinite(value):
            raise ValueError(f"formula: {name}({arg.value:g}) is not a finite number")
        return Const(value)
    return Call(name, arg)


# --------------------------------------------------------------------------------------------------------------
# Parsing through a whitelist
# --------------------------------------------------------------------------------------------------------------
_ALLOWED = "numbers, variables, + - * / ** ^, parentheses and the functions " + ", ".join(sorted(FUNCTIONS))

_REFUSED = {
    ast.Attribute: "attribute access ('.name')",
    ast.Subscript: "indexing ('[...]')",
    ast.Lambda: "lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "'if ... else'",
    ast.List: "a list",
    ast.Tuple: "a tuple",
    ast.Dict: "a dict",
    ast.Set: "a set",
    ast.NamedExpr: "assignment (':=')",
    ast.JoinedStr: "a string",
    ast.Starred: "'*' unpacking",
}
_BINOPS = {ast.Add: add, ast.Sub: sub, ast.Mult: mul, ast.Div: divide, ast.Pow: power}


def _scan_names(tree: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id not in names:
            names.append(node.id)
    return names


class _Builder:
    """Turn a checked Python syntax tree into an :class:`Expr`, refusing every node outside the whitelist."""

    def __init__(self, variables: tuple[str, ...]):
        self.index = {name: i for i, name in enumerate(variables)}

    def build(self, node: ast.AST, depth: int = 0) -> Expr:
        if depth > MAX_DEPTH:
            raise ValueError(f"formula: nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Expression):
            return self.build(node.body, depth + 1)
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ValueError(f"formula: {type(v).__name__} literal {v!r} is not allowed; only numbers")
            if isinstance(v, int) and abs(v) > 10**300 or not math.isfinite(float(v)) or abs(float(v)) > MAX_NUMBER:
                raise ValueError(f"formula: number {str(v)[:20]} is too large (|number| <= {MAX_NUMBER:g})")
            return Const(float(v))
        if isinstance(node, ast.Name):
            if node.id in CONSTANTS:
                return Const(CONSTANTS[node.id])
            if node.id in FUNCTIONS or node.id in ALIASES:
                raise ValueError(f"formula: function '{node.id}' must be called, e.g. {node.id}(x)")
            return Var(self.index[node.id])
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                raise ValueError(f"formula: operator '{_op_symbol(node.op)}' is not allowed; allowed: {_ALLOWED}")
            return op(self.build(node.left, depth + 1), self.build(node.right, depth + 1))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return neg(self.build(node.operand, depth + 1))
            if isinstance(node.op, ast.UAdd):
                return self.build(node.operand, depth + 1)
            raise ValueError(f"formula: operator '{_op_symbol(node.op)}' is not allowed; allowed: {_ALLOWED}")
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name):
                raise ValueError("formula: only calls of named functions are allowed, e.g. sin(x)")
            name = ALIASES.get(node.func.id, node.func.id)
            if name not in FUNCTIONS:
                raise ValueError(f"formula: unknown function '{node.func.id}' (to multiply, write "
                                 f"{node.func.id}*(...)); allowed: {', '.join(sorted(FUNCTIONS))}")
            if node.keywords or len(node.args) != 1:
                raise ValueError(f"formula: {node.func.id}() takes exactly one argument")
            return call(name, self.build(node.args[0], depth + 1))
        what = _REFUSED.get(type(node), f"'{type(node).__name__}' syntax")
        raise ValueError(f"formula: {what} is not allowed; allowed: {_ALLOWED}")


_NODE_TYPES = (ast.Expression, ast.Constant, ast.Name, ast.Load, ast.BinOp, ast.UnaryOp, ast.Call,
               ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow, ast.USub, ast.UAdd)


def _check_node_types(tree: ast.AST) -> None:
    """Refuse any syntax outside the whitelist before looking at names or values."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.operator, ast.unaryop)) and not isinstance(node, _NODE_TYPES):
            raise ValueError(f"formula: operator '{_op_symbol(node)}' is not allowed; allowed: {_ALLOWED}")
        if not isinstance(node, _NODE_TYPES + (ast.operator, ast.unaryop)):
            what = _REFUSED.get(type(node), f"'{type(node).__name__}' syntax")
            raise ValueError(f"formula: {what} is not allowed; allowed: {_ALLOWED}")


def _op_symbol(op: ast.AST) -> str:
    return {ast.BitXor: "^", ast.BitAnd: "&", ast.BitOr: "|", ast.Mod: "%", ast.FloorDiv: "//",
            ast.LShift: "<<", ast.RShift: ">>", ast.MatMult: "@", ast.Invert: "~", ast.Not: "not"}.get(type(op), "?")


def implicit_products(text: str) -> str:
    """``text`` with the products a calculator reads without a sign written out: ``3x`` → ``3*x``, ``2(x+1)`` →
    ``2*(x+1)``, ``(x-1)(y+2)`` → ``(x-1)*(y+2)``, ``2 x`` → ``2*x`` -- a ``*`` between a number, a variable or a
    closing parenthesis and a number, a name or an opening parenthesis that follows it. A name before ``(`` stays
    a call (``sin(x)``; ``x(y+1)`` is refused with a hint), two numbers stay apart (``2 3`` is a typo), and keywords
    are left alone. Only Python's tokenizer reads the text (nothing is run); text it cannot read is returned as it
    is, for the parser to say what is wrong."""
    if "\n" in text or "\r" in text:
        return text
    try:
        tokens = [t for t in tokenize.generate_tokens(io.StringIO(text).readline)
                  if t.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.ENDMARKER, tokenize.INDENT,
                                    tokenize.DEDENT)]
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return text

    def value(t):          # a number, a variable or ')' -- what a product can start with
        if t.type == tokenize.NUMBER or t.string == ")":
            return True
        return (t.type == tokenize.NAME and not keyword.iskeyword(t.string) and t.string not in FUNCTIONS
                and t.string not in ALIASES)

    def factor(t, before):  # a number, a name or '(' -- what it can go on with (never two numbers)
        if t.type == tokenize.NUMBER:
            return before.type != tokenize.NUMBER
        return t.string == "(" and before.type != tokenize.NAME or (t.type == tokenize.NAME
                                                                    and not keyword.iskeyword(t.string))

    at = [b.start[1] for a, b in zip(tokens, tokens[1:]) if value(a) and factor(b, a)]
    for column in reversed(at):
        text = text[:column] + "*" + text[column:]
    return text


def _syntax_tree(written: str) -> ast.Expression:
    """Python's syntax tree of a formula as written (``^`` for power, products without their sign); a syntax
    error names the column of the text as typed."""
    with warnings.catch_warnings():          # e.g. "invalid decimal literal" for "2x" from the tokenizer
        warnings.simplefilter("ignore")
        try:
            return ast.parse(implicit_products(written).replace("^", "**"), mode="eval")
        except SyntaxError:
            pass
        except (RecursionError, MemoryError, ValueError):
            raise ValueError("formula: too complex to parse") from None
        try:
            ast.parse(written.replace("^", "**"), mode="eval")
            offset = None
        except SyntaxError as exc:
            offset = exc.offset
        except (RecursionError, MemoryError, ValueError):
            offset = None
    column = f" at column {offset}" if offset else ""
    raise ValueError(f"formula: invalid syntax{column}: {written[:60]!r}")


def parse(text: str, variables=None) -> tuple[Expr, tuple[str, ...]]:
    """Parse ``text`` into an expression and its variable names (sorted, unless ``variables`` gives the order).

    ``^`` means power and a product may be written without its sign (``3x^2``, ``2(x+1)``), as on paper
    (:func:`implicit_products`). Raises ``ValueError`` saying what is not allowed for anything outside the
    whitelist: attribute access, unknown functions, dunder names, lambdas, huge numbers or exponents, overlong text.
    """
    if not isinstance(text, str):
        raise TypeError(f"formula: expected a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"formula: too long ({len(text)} characters; at most {MAX_LENGTH})")
    if not text.strip():
        raise ValueError("formula: empty; type an expression such as x**2 + 10*y**2")
    if "__" in text:
        raise ValueError("formula: names with '__' are not allowed")
    tree = _syntax_tree(text.strip())
    if sum(1 for _ in ast.walk(tree)) > MAX_NODES:
        raise ValueError(f"formula: too complex (more than {MAX_NODES} syntax nodes)")

    _check_node_types(tree)
    call_names = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    found = [n for n in _scan_names(tree) if n not in call_names and n not in CONSTANTS]
    for name in found:
        if not _NAME.match(name):
            raise ValueError(f"formula: variable name {name!r} is not allowed")
    if variables is None:
        variables = tuple(sorted(n for n in found if n not in FUNCTIONS and n not in ALIASES))
    else:
        variables = tuple(variables)
        for name in variables:
            if not isinstance(name, str) or not _NAME.match(name) or name in FUNCTIONS or name in CONSTANTS:
                raise ValueError(f"variables: {name!r} is not a valid variable name")
        missing = [n for n in found if n not in variables and n not in FUNCTIONS and n not in ALIASES]
        if missing:
            raise ValueError(f"formula: unknown variable(s) {', '.join(missing)}; variables are {', '.join(variables)}")
    if len(variables) > MAX_VARIABLES:
        raise ValueError(f"formula: too many variables ({len(variables)}; at most {MAX_VARIABLES})")
    try:
        expr = _Builder(variables).build(tree)
    except RecursionError:
        raise ValueError("formula: too complex to parse") from None
    if not variables:
        raise ValueError("formula: has no variables to optimise (e.g. x**2)")
    return expr, variables


DEFAULT_STARTS = (1.0, -1.2, 2.0, -0.5, 0.5, 3.0)    # a typed formula's start, when none is given: the first
# of these (every variable the same) where the gradient does not vanish
HESSIAN_NODES = 200_000      # second derivatives larger than this (in expression nodes) are not built


def _size(expr: Expr, limit: int) -> int:
    """Nodes in ``expr``, counted up to just past ``limit`` (a large tree is not walked to the end)."""
    count, stack = 0, [expr]
    while stack and count <= limit:
        node = stack.pop()
        count += 1
        for value in vars(node).values():
            if isinstance(value, Expr):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(v for v in value if isinstance(v, Expr))
    return count


class FormulaObjective(Objective):
    """An objective from a typed formula, with exact symbolic gradient and Hessian."""

    def __init__(self, text: str, x0=None, variables=None, name: str | None = None,
                 minimum: float | None = None, minimizer=None):
        self.expr, self.variables = parse(text, variables)
        self.text = text.strip()
        self.name = name or self.expr.text(self.variables)
        d = len(self.variables)
        self.gradient_exprs = [self.expr.diff(i) for i in range(d)]
        self.x0 = np.ones(d)                     # the dimension is read off x0
        self.x0 = self._default_start() if x0 is None else as_point(x0, d, "x0")
        self._hessian_exprs = None
        self.minimum = minimum
        self.minimizer = None if minimizer is None else np.asarray(minimizer, dtype=np.float64)

    def _default_start(self) -> np.ndarray:
        """All ones -- or, where the gradient vanishes there (a typed Rosenbrock's minimum is (1, 1): every rate
        would 'converge at step 0') or the loss is not finite, the first of ``DEFAULT_STARTS`` (each variable the
        same) where it does not. A loss that is flat everywhere keeps all ones; its verdict says the start is a
        stationary point."""
        points = np.repeat(np.asarray(DEFAULT_STARTS)[:, None], len(self.variables), axis=1)
        with np.errstate(all="ignore"):
            f, g = self.value_and_grad(points)
            good = (np.isfinite(f) & np.all(np.isfinite(g), axis=1)
                    & (np.max(np.abs(g), axis=1) > 1e-8 * (1 + np.abs(f))))
        return points[int(np.argmax(good))] if good.any() else points[0]

    @property
    def gradient_text(self) -> list[str]:
        """The partial derivatives, as text (e.g. ``['2*x', '20*y']``)."""
        return [g.text(self.variables) for g in self.gradient_exprs]

    def _evaluate(self, expr: Expr, columns, k: int) -> np.ndarray:
        return np.broadcast_to(np.asarray(expr.evaluate(columns), dtype=np.float64), (k,))

    def value_and_grad(self, params, rows=None):
        params = as_batch(params, self.dim)
        k = params.shape[0]
        columns = [params[:, i] for i in range(self.dim)]
        with np.errstate(all="ignore"):
            value = np.array(self._evaluate(self.expr, columns, k))
            grad = np.empty_like(params)
            for i, g in enumerate(self.gradient_exprs):
                grad[:, i] = self._evaluate(g, columns, k)
        return value, grad

    def _hessian_table(self):
        """The second derivatives as expressions, or None when they would be too large to be worth it (more than
        ``HESSIAN_NODES`` nodes in all: twenty nested sigmoids of a product of twenty variables make 26 million,
        12 s of work); the theory then measures curvature from gradient differences instead."""
        if self._hessian_exprs is None:
            table, nodes = [], 0
            for g in self.gradient_exprs:
                row = []
                for j in range(self.dim):
                    h = g.diff(j)
                    nodes += _size(h, HESSIAN_NODES - nodes)
                    if nodes > HESSIAN_NODES:
                        self._hessian_exprs = False
                        return None
                    row.append(h)
                table.append(row)
            self._hessian_exprs = table
        return self._hessian_exprs or None

    def constant_hessian(self):
        """The Hessian when every second derivative is a constant (a quadratic formula such as x**2 + 10*y**2)."""
        table = self._hessian_table()
        if table is not None and all(isinstance(h, Const) for row in table for h in row):
            return np.array([[h.value for h in row] for row in table])
        return None

    def hessian(self, point):
        """The exact Hessian at ``point``; None when its expressions are too large (see ``_hessian_table``)."""
        table = self._hessian_table()
        if table is None:
            return None
        columns = [np.atleast_1d(v) for v in np.asarray(point, dtype=np.float64)]
        with np.errstate(all="ignore"):
            return np.array([[float(self._evaluate(h, columns, 1)[0]) for h in row] for row in table])


def formula(text: str, x0=None, variables=None) -> FormulaObjective:
    """An objective from a formula typed as text, e.g. ``formula("x**2 + 10*y**2", x0=[1, 1])``.

    Variables are the names that appear (sorted alphabetically unless ``variables`` gives the order); ``x0`` is the
    start point, one number per variable (default: all ones, or where the gradient vanishes there, the first of
    ``DEFAULT_STARTS`` where it does not). Gradients and Hessians are exact (symbolic).
    """
    return FormulaObjective(text, x0=x0, variables=variables)
