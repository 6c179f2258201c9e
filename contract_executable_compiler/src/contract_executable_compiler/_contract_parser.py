"""Parser for contract source files, built on the CEL expression parser.

Grammar (``expr`` is a CEL expression)::

    contract   = "contract" IDENT ["version" INT] "{" decl* "}"
    decl       = "party" IDENT ":" ("signatory" | "observer") ";"
               | "state" IDENT ":" type "=" expr ";"
               | "record" IDENT "{" [field {"," field}] "}"
               | "enum" IDENT "{" IDENT {"," IDENT} "}"
               | "event" IDENT "(" [field {"," field}] ")" ";"
               | "choice" IDENT "(" [field {"," field}] ")" "by" IDENT {"," IDENT}
                     {"ensure" ("pre" | "post") expr ";"} block
               | "obligation" IDENT ":" IDENT "must" IDENT "within" expr
                     "after" IDENT ["otherwise" block] ";"
               | "migrate" "from" INT "(" [field {"," field}] ")" block
    field      = IDENT ":" type
    type       = IDENT ["<" type {"," type} ">"]
    block      = "{" stmt* "}"
    stmt       = IDENT "=" expr ";" | "let" IDENT "=" expr ";"
               | "emit" IDENT "(" [expr {"," expr}] ")" ";"
               | "if" expr block ["else" (block | if-stmt)]
               | "close" ";" | "fail" STRING ";"

Recovery: a bad declaration or statement is reported and skipped up to the
next ``;`` or ``}``, so one run reports every independent error.
"""

from __future__ import annotations

from typing import Final

from contract_executable_compiler._ast import ErrorExpr, Expr
from contract_executable_compiler._contract_ast import (
    Assign,
    ChoiceDecl,
    Close,
    ContractDecl,
    Emit,
    EnumDecl,
    EventDecl,
    Fail,
    If,
    Let,
    MigrationDecl,
    ObligationDecl,
    Param,
    PartyDecl,
    RecordDecl,
    StateDecl,
    Stmt,
    TypeRef,
)
from contract_executable_compiler._diagnostics import Diagnostic
from contract_executable_compiler._parser import MAX_HEIGHT, ExprParser, _Bail, tree_height

__all__ = ["parse_contract"]

_DECL_WORDS: Final = (
    "party", "state", "record", "enum", "event", "choice", "obligation", "migrate",
)  # fmt: skip


class ContractParser(ExprParser):
    """Recursive descent over declarations; CEL expressions go to :class:`ExprParser`."""

    def word(self, value: str) -> bool:
        """Whether the current token is the identifier ``value``."""
        t = self.tok
        return t.kind == "ident" and t.value == value

    def expect_word(self, value: str) -> bool:
        """Consume the keyword ``value`` or report it missing."""
        if self.word(value):
            self.advance()
            return True
        t = self.tok
        found = "end of input" if t.kind == "eof" else repr(self.text[t.start : t.end])
        self.error(f"expected '{value}', found {found}", t.start, max(t.end, t.start + 1))
        return False

    def ident(self, what: str) -> str:
        """Consume an identifier naming ``what``; returns "" (after a diagnostic) otherwise."""
        t = self.tok
        if t.kind == "ident":
            self.advance()
            return str(t.value)
        found = "end of input" if t.kind == "eof" else repr(self.text[t.start : t.end])
        self.error(f"expected {what}, found {found}", t.start, max(t.end, t.start + 1))
        return ""

    def skip_to(self, *kinds: str) -> None:
        """Recovery: skip tokens up to (and past) one of ``kinds`` or a declaration keyword."""
        depth = 0
        while self.tok.kind != "eof":
            k = self.tok.kind
            if depth == 0 and self.tok.kind == "ident" and self.tok.value in _DECL_WORDS:
                return
            if k == "{":
                depth += 1
            elif k == "}":
                if depth == 0:
                    return
                depth -= 1
            elif depth == 0 and k in kinds:
                self.advance()
                return
            self.advance()

    def expression(self, *, no_struct: bool = False) -> Expr:
        """A CEL expression, bounded in height like standalone expressions."""
        saved = self.no_struct
        self.no_struct = no_struct
        first = self.pos
        try:
            e = self.parse_expr()
        finally:
            self.no_struct = saved
        # A tree cannot be higher than its token count; only long expressions need measuring.
        if self.pos - first > MAX_HEIGHT and tree_height(e) > MAX_HEIGHT:
            self.error(
                f"expression tree is more than {MAX_HEIGHT} levels high",
                e.start,
                e.end,
                code="E0007",
                help="split long operator chains with `let`",
            )
            return ErrorExpr(e.start, e.end)
        return e

    def type_ref(self) -> TypeRef:
        """``IDENT ["<" type {"," type} ">"]``."""
        t = self.tok
        name = self.ident("a type name")
        args: list[TypeRef] = []
        end = t.end
        if self.tok.kind == "<":
            self.advance()
            args.append(self.type_ref())
            while self.accept(","):
                args.append(self.type_ref())
            close = self.expect(">", "'>' closing the type arguments")
            end = close.end if close else self.tok.start
        return TypeRef(name, args, t.start, end)

    def fields(self, close: str) -> list[Param]:
        """``[IDENT ":" type {"," IDENT ":" type}]`` up to ``close`` (consumed)."""
        out: list[Param] = []
        while self.tok.kind not in (close, "eof"):
            t = self.tok
            name = self.ident("a field name")
            if not name:
                self.skip_to(close)
                return out
            self.expect(":", "':' before the field type")
            ty = self.type_ref()
            out.append(Param(name, ty, t.start, ty.end))
            if not self.accept(","):
                break
        self.expect(close, repr(close))
        return out

    # ---------------------------------------------------------------- statements
    def block(self) -> list[Stmt]:
        """``"{" stmt* "}"``."""
        if self.expect("{", "'{' opening a block") is None:
            self.skip_to(";")
            return []
        out: list[Stmt] = []
        while self.tok.kind not in ("}", "eof"):
            if (
                self.tok.kind == "ident"
                and self.tok.value in _DECL_WORDS
                and self.peek().kind == "ident"
            ):
                t = self.tok
                self.error(
                    f"expected '}}' closing the block before {t.value!r}",
                    t.start,
                    t.end,
                    label="a declaration cannot appear inside a block",
                    help="close the previous block with '}'",
                )
                return out
            before = self.pos
            stmt = self.statement()
            if stmt is not None:
                out.append(stmt)
            if self.pos == before:
                self.advance()
        self.expect("}", "'}' closing the block")
        return out

    def statement(self) -> Stmt | None:
        """One statement, or None after reporting a syntax error."""
        t = self.tok
        if t.kind != "ident":
            found = "end of input" if t.kind == "eof" else repr(self.text[t.start : t.end])
            self.error(f"expected a statement, found {found}", t.start, max(t.end, t.start + 1))
            self.skip_to(";")
            return None
        word = t.value
        if word == "let":
            self.advance()
            name = self.ident("a local name")
            self.expect("=", "'=' after the local name")
            value = self.expression()
            end = self._semi()
            return Let(name, value, t.start, end)
        if word == "emit":
            self.advance()
            event = self.ident("an event name")
            args: list[Expr] = []
            if self.expect("(", "'(' after the event name"):
                args, _ = self._args(")")
            end = self._semi()
            return Emit(event, args, t.start, end)
        if word == "if":
            return self._if()
        if word == "close":
            self.advance()
            return Close(t.start, self._semi())
        if word == "fail":
            self.advance()
            msg = self.tok
            if msg.kind == "string":
                self.advance()
                return Fail(str(msg.value), t.start, self._semi())
            self.error("`fail` needs a string reason", msg.start, max(msg.end, msg.start + 1))
            self.skip_to(";")
            return None
        if self.peek().kind == "=":
            self.advance()
            self.advance()
            value = self.expression()
            return Assign(str(word), value, t.start, self._semi())
        self.error(
            f"expected a statement, found {word!r}",
            t.start,
            t.end,
            help='statements are `field = expr;`, `let x = expr;`, `emit E(...);`, `if`, `close;`, `fail "...";`',
        )
        self.skip_to(";")
        return None

    def _if(self) -> If:
        t = self.advance()
        cond = self.expression(no_struct=True)
        then = self.block()
        orelse: list[Stmt] = []
        if self.word("else"):
            self.advance()
            orelse = [self._if()] if self.word("if") else self.block()
        return If(cond, then, orelse, t.start, self.tokens[self.pos - 1].end)

    def _semi(self) -> int:
        t = self.expect(";", "';'")
        if t is None:
            self.skip_to(";")
            return self.tokens[self.pos - 1].end
        return t.end

    # ---------------------------------------------------------------- declarations
    def contract(self) -> ContractDecl:
        """The whole file."""
        start = self.tok.start
        self.expect_word("contract")
        name = self.ident("the contract name")
        version = 1
        if self.word("version"):
            self.advance()
            v = self.tok
            if v.kind == "int":
                self.advance()
                version = int(v.value)
            else:
                self.error("expected a version number", v.start, max(v.end, v.start + 1))
        c = ContractDecl(name, version, start=start)
        self.expect("{", "'{' opening the contract body")
        while self.tok.kind not in ("}", "eof"):
            before = self.pos
            self.declaration(c)
            if self.pos == before:
                self.advance()
        self.expect("}", "'}' closing the contract")
        if self.tok.kind != "eof":
            t = self.tok
            self.error("unexpected text after the contract", t.start, max(t.end, t.start + 1))
        c.end = self.tok.end
        return c

    def declaration(self, c: ContractDecl) -> None:
        """One declaration, appended to ``c``."""
        t = self.tok
        word = t.value if t.kind == "ident" else None
        if word == "party":
            self.advance()
            name = self.ident("a party name")
            self.expect(":", "':' before the party's role")
            role_tok = self.tok
            role = self.ident("'signatory' or 'observer'")
            if role and role not in ("signatory", "observer"):
                self.error(
                    f"a party is a 'signatory' or an 'observer', not {role!r}",
                    role_tok.start,
                    role_tok.end,
                )
            c.parties.append(PartyDecl(name, role, t.start, self._semi()))
        elif word == "state":
            self.advance()
            name = self.ident("a state field name")
            self.expect(":", "':' before the field type")
            ty = self.type_ref()
            self.expect("=", "'=' and an initial value (every state field starts defined)")
            init = self.expression()
            c.states.append(StateDecl(name, ty, init, t.start, self._semi()))
        elif word == "record":
            self.advance()
            name = self.ident("a record name")
            self.expect("{", "'{' opening the record fields")
            fields = self.fields("}")
            c.records.append(RecordDecl(name, fields, t.start, self.tokens[self.pos - 1].end))
        elif word == "enum":
            self.advance()
            name = self.ident("an enum name")
            self.expect("{", "'{' opening the enum members")
            members: list[str] = []
            while self.tok.kind not in ("}", "eof"):
                member = self.ident("an enum member")
                if not member:
                    self.skip_to("}")
                    break
                members.append(member)
                if not self.accept(","):
                    break
            self.expect("}", "'}' closing the enum")
            c.enums.append(EnumDecl(name, members, t.start, self.tokens[self.pos - 1].end))
        elif word == "event":
            self.advance()
            name = self.ident("an event name")
            self.expect("(", "'(' opening the event fields")
            fields = self.fields(")")
            c.events.append(EventDecl(name, fields, t.start, self._semi()))
        elif word == "choice":
            c.choices.append(self._choice())
        elif word == "obligation":
            c.obligations.append(self._obligation())
        elif word == "migrate":
            migration = self._migration()
            if migration is not None:
                c.migrations.append(migration)
        else:
            found = "end of input" if t.kind == "eof" else repr(self.text[t.start : t.end])
            self.error(
                f"expected a declaration, found {found}",
                t.start,
                max(t.end, t.start + 1),
                help="declarations start with party, state, record, enum, event, choice, "
                "obligation or migrate",
            )
            self.advance()
            self.skip_to(";")

    def _choice(self) -> ChoiceDecl:
        t = self.advance()
        name = self.ident("a choice name")
        self.expect("(", "'(' opening the parameters")
        params = self.fields(")")
        controllers: list[str] = []
        spans: list[tuple[int, int]] = []
        if self.expect_word("by"):
            while True:
                ct = self.tok
                controllers.append(self.ident("a controlling party"))
                spans.append((ct.start, ct.end))
                if not self.accept(","):
                    break
        pre: list[Expr] = []
        post: list[Expr] = []
        while self.word("ensure"):
            self.advance()
            which = self.tok
            kind = self.ident("'pre' or 'post'")
            if kind not in ("pre", "post"):
                self.error(
                    "an ensure clause is `ensure pre EXPR;` or `ensure post EXPR;`",
                    which.start,
                    max(which.end, which.start + 1),
                    code="E0005",
                )
            e = self.expression()
            (post if kind == "post" else pre).append(e)
            self._semi()
        body = self.block()
        return ChoiceDecl(
            name,
            params,
            controllers,
            pre,
            post,
            body,
            t.start,
            self.tokens[self.pos - 1].end,
            spans,
        )

    def _migration(self) -> MigrationDecl | None:
        t = self.advance()
        self.expect_word("from")
        v = self.tok
        if v.kind != "int":
            self.error(
                "expected the version number this migration reads",
                v.start,
                max(v.end, v.start + 1),
                help="write `migrate from 1 (field: type, ...) { ... }`",
            )
            self.skip_to("}")
            return None
        self.advance()
        self.expect("(", "'(' opening the old version's state fields")
        fields = self.fields(")")
        body = self.block()
        return MigrationDecl(int(v.value), fields, body, t.start, self.tokens[self.pos - 1].end)

    def _obligation(self) -> ObligationDecl:
        t = self.advance()
        name = self.ident("an obligation name")
        self.expect(":", "':' before the obliged party")
        party = self.ident("the obliged party")
        self.expect_word("must")
        choice = self.ident("the choice that discharges the obligation")
        deadline: Expr | None = None
        if self.word("within"):
            self.advance()
            deadline = self.expression()
        else:
            at = self.tok
            self.error(
                f"obligation {name!r} has no deadline",
                t.start,
                at.start,
                code="E0203",
                help='add `within duration("...")`: every obligation needs a deadline',
                suggestion=f'{self.text[t.start : at.start].rstrip()} within duration("24h")',
            )
        after = "start"
        if self.expect_word("after"):
            after = self.ident("the activating choice or `start`") or "start"
        breach: list[Stmt] = []
        if self.word("otherwise"):
            self.advance()
            breach = self.block()
        end = self._semi()
        return ObligationDecl(name, party, choice, deadline, after, breach, t.start, end)


def parse_contract(
    text: str, comments: list[tuple[int, str]] | None = None
) -> tuple[ContractDecl, list[Diagnostic]]:
    """Parse a contract source; diagnostics are empty when it parsed cleanly.

    ``comments``, when given, receives the source's ``//`` comments.
    """
    p = ContractParser(text)
    if comments is not None:
        comments.extend(p.comments)
    try:
        c = p.contract()
    except _Bail:
        c = ContractDecl("", 1, end=len(text))
    p.diags.sort(key=lambda d: (d.start, d.code))
    return c, p.diags
