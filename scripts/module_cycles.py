#!/usr/bin/env python3
"""Reports pairs of sibling modules that reference each other (in either crate's `src/`).

A module "references" another when any of its files (its whole subtree) names a path into the
other's subtree through `crate::`, `super::` or `self::` (grouped `use` lists expanded). Comment
lines are ignored (doc links are not imports); `super::` inside an inline `mod … {` block
(`mod tests`) is resolved from that inline module. A parent and its own child are not a pair:
a child using its parent's items is how private submodules work in Rust.

Where a crate's `lib.rs` lists its top-level modules in its docs (`//! - \`name\`: ...`), it also
checks the claim made there, that dependencies point down the list: every top-level reference
that points up (or names a module the list leaves out) is reported, marked when only tests make it.

Usage: scripts/module_cycles.py [crate-src-dir ...]   (default: server/src app/src)
Exit status 1 when a pair or an upward reference is found.
"""
import os
import re
import sys


def module_of(src, path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("lib", "main") and len(rel) == 1:
        return ()
    if rel[-1] == "mod":
        rel = rel[:-1]
    return tuple(rel)


def expand(prefix, body):
    """`a::{b, c::{d, e}}` → ['a::b', 'a::c::d', 'a::c::e'] (prefix given without the braces)."""
    out, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        cur += ch
    if cur.strip():
        out.append(cur.strip())
    paths = []
    for item in out:
        m = re.match(r"^([\w:]*?)(::)?\{(.*)\}$", item, re.S)
        if m:
            inner_prefix = prefix + "::" + m.group(1) if m.group(1) else prefix
            paths += expand(inner_prefix, m.group(3))
        else:
            paths.append(prefix + "::" + item if item not in ("self", "*") else prefix)
    return paths


PATH = re.compile(r"\b((?:crate|super|self)(?:::(?:super|\w+))*)(::\{)?")


def references(src, path, modules):
    me = module_of(src, path)
    text = open(path, encoding="utf-8").read()
    lines = []
    for line in text.splitlines():
        s = line.strip()
        lines.append("" if s.startswith("//") else line)
    # Inline modules: the line index where each `mod name {` opens, with its brace depth.
    refs = set()
    inline_stack = []  # (name, depth at which it opened)
    depth = 0
    code = "\n".join(lines)
    i = 0
    line_starts = []
    for idx, line in enumerate(lines):
        m = re.match(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+)\s*\{", line)
        if m:
            inline_stack.append((m.group(1), depth))
        depth += line.count("{") - line.count("}")
        while inline_stack and depth <= inline_stack[-1][1]:
            inline_stack.pop()
        here = me + tuple(n for n, _ in inline_stack)
        in_test = me[-1:] == ("tests",) or any(n == "tests" for n, _ in inline_stack)
        for pm in PATH.finditer(line):
            raw = pm.group(1)
            group = None
            if pm.group(2):
                # A grouped use: take the balanced braces from here (may span lines).
                start = sum(len(l) + 1 for l in lines[:idx]) + pm.end()
                level, j = 1, start
                while j < len(code) and level:
                    level += {"{": 1, "}": -1}.get(code[j], 0)
                    j += 1
                group = code[start : j - 1]
            full = expand(raw, group) if group is not None else [raw]
            for p in full:
                parts = [x.strip() for x in p.split("::") if x.strip()]
                if parts[0] == "crate":
                    base, rest = (), parts[1:]
                else:
                    base = here
                    rest = parts
                    while rest and rest[0] in ("super", "self"):
                        if rest[0] == "super":
                            base = base[:-1]
                        rest = rest[1:]
                # Deepest known module the path names.
                target = base
                for part in rest:
                    if target + (part,) in modules:
                        target = target + (part,)
                    else:
                        break
                refs.add((target, in_test))
    return me, refs


def check(src):
    files = []
    for root, _, names in os.walk(src):
        files += [os.path.join(root, n) for n in names if n.endswith(".rs")]
    modules = {module_of(src, f) for f in files}
    edges = {}
    for f in files:
        me, refs = references(src, f, modules)
        for r, _ in refs:
            edges.setdefault(me, set()).add(r)

    def subtree_refs(a, b):
        """Does anything in a's subtree name anything in b's subtree?"""
        return any(
            m[: len(a)] == a and any(t[: len(b)] == b for t in ts) for m, ts in edges.items()
        )

    pairs = []
    nodes = sorted(modules)
    for a in nodes:
        for b in nodes:
            if a >= b or not a or not b or a[:-1] != b[:-1]:
                continue  # siblings only, each pair once
            if subtree_refs(a, b) and subtree_refs(b, a):
                pairs.append(("::".join(a), "::".join(b)))
    return pairs


def layers(src):
    """The top-level modules in the order `lib.rs`'s module list gives them (`//! - \`name\``)."""
    lib = os.path.join(src, "lib.rs")
    if not os.path.exists(lib):
        return None
    return re.findall(r"^//! - `(\w+)`", open(lib, encoding="utf-8").read(), re.M)


def check_layers(src):
    """Top-level references that point up `lib.rs`'s list (or name a module it leaves out)."""
    order = layers(src)
    if not order:
        return []
    files = []
    for root, _, names in os.walk(src):
        files += [os.path.join(root, n) for n in names if n.endswith(".rs")]
    modules = {module_of(src, f) for f in files}
    found = set()
    for f in files:
        me, refs = references(src, f, modules)
        for target, in_test in refs:
            if not me or not target or me[0] == target[0]:
                continue
            a, b = me[0], target[0]
            if a not in order or b not in order:
                found.add((a, b, "names a module missing from", in_test))
            elif order.index(a) > order.index(b):
                found.add((a, b, "points up", in_test))
    # Report a test-only edge only when no non-test code has the same edge.
    real = {(a, b) for a, b, _, t in found if not t}
    return sorted((a, b, why, t) for a, b, why, t in found if not t or (a, b) not in real)


def main():
    srcs = sys.argv[1:] or ["server/src", "app/src"]
    found = False
    for src in srcs:
        pairs = check(src)
        if pairs:
            found = True
            for a, b in pairs:
                print(f"{src}: {a} <-> {b}")
        else:
            print(f"{src}: no two sibling modules reference each other")
        for a, b, why, in_test in check_layers(src):
            found = True
            print(f"{src}: {a} -> {b}: {why} the lib.rs module list" + (" (tests only)" if in_test else ""))
        if layers(src):
            print(f"{src}: layering checked against lib.rs: {', '.join(layers(src))}")
    sys.exit(1 if found else 0)


if __name__ == "__main__":
    main()
