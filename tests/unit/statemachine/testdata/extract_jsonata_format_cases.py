#!/usr/bin/env python3
"""Extracts the JSONata reference cases of the formatting functions into plain call lists.

Usage: extract_jsonata_format_cases.py SHARED/jsonata/cases.jsonl > jsonata_format_cases.jsonl

Each output line is {"id", "calls": [{"fn", "args"}], "expected"}: the calls run in order, and an argument
"$prev" stands for the previous call's result. Arguments that are JSONata `undefined` are written as
{"$undefined": true}. Expressions outside the small grammar below (literals, data fields, `*` and `/` of numbers,
`~>` chains into $fromMillis(), `$ts :=` sequences) are skipped and listed on stderr, as are cases whose
result depends on the current time.
"""
import json
import re
import sys

GROUPS = {
    "function-formatNumber", "function-formatInteger", "function-parseInteger", "function-fromMillis",
    "function-tomillis", "function-formatBase", "function-string",
}
FUNCTIONS = {"formatNumber", "formatInteger", "parseInteger", "fromMillis", "toMillis", "formatBase", "string"}
UNDEFINED = {"$undefined": True}


class Skip(Exception):
    pass


class Parser:
    def __init__(self, text, data):
        self.text, self.pos, self.data = text, 0, data

    def ws(self):
        while self.pos < len(self.text) and self.text[self.pos] in " \t\n":
            self.pos += 1

    def peek(self, s):
        self.ws()
        return self.text.startswith(s, self.pos)

    def eat(self, s):
        if not self.peek(s):
            raise Skip(f"expected {s!r} at {self.pos}")
        self.pos += len(s)

    def string(self):
        quote = self.text[self.pos]
        self.pos += 1
        out = []
        while self.text[self.pos] != quote:
            ch = self.text[self.pos]
            if ch == "\\":
                out.append(json.loads('"' + self.text[self.pos:self.pos + 2] + '"'))
                self.pos += 2
                continue
            out.append(ch)
            self.pos += 1
        self.pos += 1
        return "".join(out)

    def product(self):
        value = self.primary()
        while self.peek("*") or self.peek("/"):
            op = self.text[self.pos]
            self.eat(op)
            right = self.primary()
            if not isinstance(value, float) or not isinstance(right, float):
                raise Skip("non-numeric product")
            if op == "/" and right == 0:
                raise Skip("division by zero")
            value = value * right if op == "*" else value / right
        return value

    def primary(self):
        self.ws()
        m = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?").match(self.text, self.pos)
        if m:
            self.pos = m.end()
            return float(m.group(0))
        ch = self.text[self.pos]
        if ch in "\"'":
            return self.string()
        if ch == "(":
            self.eat("(")
            if self.peek(")"):
                self.eat(")")
                return UNDEFINED
            value = self.product()
            self.eat(")")
            return value
        if ch == "{":
            self.eat("{")
            obj = {}
            while not self.peek("}"):
                self.ws()
                key = self.string()
                self.eat(":")
                obj[key] = self.product()
                if self.peek(","):
                    self.eat(",")
            self.eat("}")
            return obj
        m = re.compile(r"[A-Za-z_]\w*").match(self.text, self.pos)
        if m:
            self.pos = m.end()
            name = m.group(0)
            if name in ("true", "false", "null"):
                raise Skip("boolean/null literal")
            if isinstance(self.data, dict) and name in self.data:
                v = self.data[name]
                return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
            return UNDEFINED
        if self.text.startswith("$prev", self.pos):
            self.pos += 5
            return "$prev"
        raise Skip(f"unsupported at {self.pos}")

    def call(self):
        self.eat("$")
        m = re.compile(r"\w+").match(self.text, self.pos)
        if not m or m.group(0) not in FUNCTIONS:
            raise Skip("not a formatting function")
        self.pos = m.end()
        self.eat("(")
        args = []
        while not self.peek(")"):
            args.append(self.product())
            if self.peek(","):
                self.eat(",")
        self.eat(")")
        return {"fn": m.group(0), "args": args}


def parse_calls(expr, data):
    expr = expr.strip()
    m = re.fullmatch(r"\(\$ts := (.*); \$fromMillis\(\$ts, (.*)\)\s*\)", expr, re.S)
    if m:
        expr = m.group(1) + " ~> $fromMillis($prev, " + m.group(2) + ")"
    calls = []
    for part in expr.split(" ~> "):
        part = part.strip().replace("$fromMillis()", "$fromMillis($prev)")
        p = Parser(part, data)
        calls.append(p.call())
        p.ws()
        if p.pos != len(part):
            raise Skip("trailing text")
    return calls


def main():
    for line in open(sys.argv[1], encoding="utf-8"):
        case = json.loads(line)
        if case["group"] not in GROUPS or not case.get("in_jsonata_2_0_6", True) or case.get("bindings"):
            continue
        try:
            calls = parse_calls(case["expr"], case.get("data"))
        except (Skip, IndexError) as e:
            print(f"skipped {case['id']}: {e}", file=sys.stderr)
            continue
        print(json.dumps({"id": case["id"], "calls": calls, "expected": case["expected"]}, ensure_ascii=False))


if __name__ == "__main__":
    main()
