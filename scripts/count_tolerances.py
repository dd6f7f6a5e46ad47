#!/usr/bin/env python3
"""Count literal tolerances in test asserts.

A literal tolerance: a float literal in scientific notation with a negative
exponent (1e-12, 2.5e-7, 1e-15f64) inside the arguments of an assert macro
(assert!, assert_eq!, assert_ne!, prop_assert!*, assert_abs_diff_eq!,
assert_relative_eq!, debug_assert!*), comments and string literals removed.
Usage: count.py [-v] [files...]  (default: tests/**/*.rs)
"""
import re, sys, glob
verbose = '-v' in sys.argv
files = [a for a in sys.argv[1:] if a != '-v'] or sorted(glob.glob('tests/**/*.rs', recursive=True))
LIT = re.compile(r'(?<![\w.])\d+(?:\.\d+)?e-\d+(?:_?f(?:32|64))?(?![\w.])')
MAC = re.compile(r'\b(?:debug_)?(?:prop_)?assert(?:_eq|_ne|_abs_diff_eq|_relative_eq|_ulps_eq)?!\s*[\(\[\{]')
def strip(src):
    """Blank out comments, string and char literals (keeping line numbers)."""
    out, i, n = [], 0, len(src)
    while i < n:
        c = src[i]
        if src.startswith('//', i):
            j = src.find('\n', i); j = n if j < 0 else j
            out.append(' ' * (j - i)); i = j
        elif src.startswith('/*', i):
            j = src.find('*/', i) + 2
            out.append(re.sub(r'[^\n]', ' ', src[i:j])); i = j
        elif c == 'r' and re.match(r'r#*"', src[i:]) and (i == 0 or not (src[i-1].isalnum() or src[i-1] == '_')):
            m = re.match(r'r(#*)"', src[i:]); end = '"' + m.group(1)
            j = src.find(end, i + len(m.group(0))) + len(end)
            out.append(re.sub(r'[^\n]', ' ', src[i:j])); i = j
        elif c == '"':
            j = i + 1
            while src[j] != '"':
                j += 2 if src[j] == '\\' else 1
            j += 1
            out.append(re.sub(r'[^\n]', ' ', src[i:j])); i = j
        elif c == "'" and re.match(r"'(\\.[^']*|[^\\'])'", src[i:]):
            m = re.match(r"'(\\.[^']*|[^\\'])'", src[i:]); out.append(' ' * len(m.group(0))); i += len(m.group(0))
        else:
            out.append(c); i += 1
    return ''.join(out)
total = 0
for f in files:
    s = strip(open(f).read())
    cnt = 0
    for m in MAC.finditer(s):
        depth, j = 0, m.end() - 1
        while True:
            ch = s[j]
            if ch in '([{': depth += 1
            elif ch in ')]}':
                depth -= 1
                if depth == 0: break
            j += 1
        for l in LIT.finditer(s[m.end():j]):
            cnt += 1
            if verbose:
                line = s.count('\n', 0, m.end() + l.start()) + 1
                print(f'{f}:{line}: {l.group(0)}')
    if cnt and not verbose: print(f'{cnt:4d} {f}')
    total += cnt
print(f'total {total}')
