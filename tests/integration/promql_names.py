"""promql_names.py - owns: pulling metric names and label names out of PromQL expressions and out
of Prometheus text pages, for the dashboard and alert tests. Not a PromQL parser (promtool checks
syntax); a tokenizer that knows where names stand: `metric{label="v"}`, `by (a, b)`,
`on (a)`, `label_replace(v, "dst", ...)`, and which identifiers are functions or keywords.
"""
import re

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan", "atan2"}
GROUPING = {"by", "without", "on", "ignoring", "group_left", "group_right"}
AGGREGATIONS = {"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values",
                "bottomk", "topk", "quantile", "limitk", "limit_ratio"}

_TOKEN = re.compile(r"""
    (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`)
  | (?P<range>\[[^\]]*\])
  | (?P<num>(?<![A-Za-z0-9_:])\d+(?:\.\d+)?(?:[eE][+-]?\d+)?(?:ms|s|m|h|d|w|y)?)
  | (?P<ident>[A-Za-z_:][A-Za-z0-9_:]*)
  | (?P<op>=~|!~|!=|==|>=|<=|[{}(),=<>+\-*/%^])
  | (?P<ws>\s+)
""", re.X)


def tokens(expr):
    pos, out = 0, []
    while pos < len(expr):
        m = _TOKEN.match(expr, pos)
        if m is None:
            raise ValueError(f"cannot tokenize at {expr[pos:pos + 20]!r} in {expr!r}")
        pos = m.end()
        kind = m.lastgroup
        if kind != "ws":
            out.append((kind, m.group(kind)))
    return out


class Names:
    """selectors: [(metric or None, {label names in its matchers})];
    grouping: label names in by/without/on/ignoring/group_* lists;
    introduced: labels created by label_replace."""

    def __init__(self, expr):
        self.selectors, self.grouping, self.introduced = [], set(), set()
        t = tokens(expr)
        i = 0
        while i < len(t):
            kind, val = t[i]
            nxt = t[i + 1][1] if i + 1 < len(t) else None
            if kind == "ident" and val in GROUPING and nxt == "(":
                j = i + 2
                while t[j][1] != ")":
                    if t[j][0] == "ident":
                        self.grouping.add(t[j][1])
                    j += 1
                i = j + 1
                continue
            if kind == "ident" and val == "label_replace" and nxt == "(":
                self._label_replace(t, i + 2)
            if kind == "ident" and val == "offset":
                i += 2
                continue
            if kind == "ident" and (nxt == "(" or val in KEYWORDS or
                                    (val in AGGREGATIONS and nxt in ("by", "without"))):
                i += 1
                continue
            if kind == "ident" or (kind == "op" and val == "{"):
                name = val if kind == "ident" else None
                labels = set()
                j = i + 1 if kind == "ident" else i
                if j < len(t) and t[j][1] == "{":
                    j += 1
                    while t[j][1] != "}":
                        if t[j][0] == "ident" and t[j + 1][1] in ("=", "!=", "=~", "!~"):
                            labels.add(t[j][1])
                        j += 1
                    j += 1
                self.selectors.append((name, labels))
                i = j
                continue
            i += 1

    def _label_replace(self, t, j):
        depth, args, cur = 0, [], []
        while j < len(t):
            v = t[j][1]
            if v == "(":
                depth += 1
            elif v == ")":
                if depth == 0:
                    break
                depth -= 1
            if v == "," and depth == 0:
                args.append(cur)
                cur = []
            else:
                cur.append(t[j])
            j += 1
        args.append(cur)
        if len(args) >= 2 and len(args[1]) == 1 and args[1][0][0] == "str":
            self.introduced.add(args[1][0][1][1:-1])


_SAMPLE = re.compile(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$")
_LABEL = re.compile(r'([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse_series(text):
    """'name{a="b",...}' (promtool input_series) -> (name, {label: value})."""
    m = re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?$", text.strip())
    if m is None:
        raise ValueError(f"not a series: {text!r}")
    return m.group(1), dict(_LABEL.findall(m.group(2) or ""))


def parse_page(text):
    """A text 0.0.4 page -> ({family: type}, {sample name: set of label names})."""
    families, samples = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, typ = line.split(" ", 3)
            families[name] = typ
        elif line and not line.startswith("#"):
            m = _SAMPLE.match(line)
            if m is None:
                raise ValueError(f"not a sample line: {line!r}")
            samples.setdefault(m.group(1), set()).update(k for k, _ in
                                                         _LABEL.findall(m.group(2) or ""))
    return families, samples
