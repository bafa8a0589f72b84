#!/usr/bin/env python3
"""Runs the README's examples against a running local stack, top to bottom, as one bash session,
so the README cannot drift from the API.

Every ```bash block of the README runs, in order, except a block preceded by
`<!-- walkthrough: skip (why) -->` (set-up and deployment commands). Inside a block, a command
whose first line carries `# [not run by the walkthrough: why]` is skipped and named. Variables set
by one example (TOKEN=..., ORDER=...) are there for the next, as for a person pasting them.

Each `curl` is checked: the status the README shows right after it (`"status":422` in a problem, or
a comment `# 204`) or, when it shows none, a 2xx. Any other command must succeed. The README's
`127.0.0.1:3000` and `.local/` are the stack's under test (--base, --local).

Usage: walkthrough.py README.md --base http://127.0.0.1:PORT --local DIR
Exit status: 0 when every example ran as the README says; 1 otherwise, naming each README line.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

SKIP_BLOCK = re.compile(r"<!--\s*walkthrough:\s*skip\b(.*?)-->")
SKIP_COMMAND = re.compile(r"#\s*\[not run by the walkthrough:\s*([^\]]*)\]")
STATUS_IN_PROBLEM = re.compile(r'"status":\s*([1-5]\d\d)\b')
STATUS_AFTER_HASH = re.compile(r"\s*([1-5]\d\d)\b")
STATUS_LEAD = re.compile(r"\s*#\s*([1-5]\d\d)\b")

PRELUDE = r"""
set -o pipefail
shopt -s expand_aliases
fail() { printf '%s\n' "$*" >> "$WALK_FAILURES"; printf 'WALKTHROUGH FAILURE: %s\n' "$*" >&2; }
curl() {
  local args=() w=0 a out code
  for a in "$@"; do
    if [ "$w" = 1 ]; then args+=("${a}__STATUS__%{http_code}"); w=2; continue; fi
    [ "$a" = -w ] && w=1
    args+=("$a")
  done
  [ "$w" = 0 ] && args+=(-w '__STATUS__%{http_code}')
  out=$(command curl -sS --connect-timeout 5 --max-time 120 "${args[@]}") || { fail "README line $LINE: curl could not connect: $*"; return 1; }
  code=${out##*__STATUS__}
  out=${out%__STATUS__*}
  printf '%s\n' "$out"
  case "$EXPECT" in
    2xx) [[ "$code" == 2?? ]] || fail "README line $LINE: expected a 2xx, got $code: ${out:0:300}" ;;
    *) [ "$code" = "$EXPECT" ] || fail "README line $LINE: expected $EXPECT, got $code: ${out:0:300}" ;;
  esac
  echo "$LINE $code" >> "$WALK_STATUSES"
}
"""


def blocks(lines):
    """(first line number, lines) of every ```bash block not marked to be skipped (the marker is the
    line before the fence, blank lines apart)."""
    out, skip, i = [], None, 0
    while i < len(lines):
        s = lines[i].strip()
        m = SKIP_BLOCK.search(s)
        if m:
            skip = m.group(1).strip(" ()") or "marked"
        elif s == "```bash":
            start, body = i + 2, []
            i += 1
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            if skip is None:
                out.append((start, body))
            else:
                print(f"walkthrough: block at README line {start - 1} skipped ({skip})")
            skip = None
        elif s:
            skip = None
        i += 1
    return out


def open_quotes(text):
    """Whether `text` ends inside a quote (shell rules, roughly: '', "", backslash, comments)."""
    single = double = False
    i = 0
    while i < len(text):
        c = text[i]
        if single:
            single = c != "'"
        elif c == "\\":
            i += 1
        elif c == '"':
            double = not double
        elif c == "'" and not double:
            single = True
        elif c == "#" and not double and (i == 0 or text[i - 1] in " \t\n"):
            while i < len(text) and text[i] != "\n":
                i += 1
            continue
        i += 1
    return single or double


def commands(start, body):
    """(README line, command text, following comment lines) of a block."""
    out, i = [], 0
    while i < len(body):
        line = body[i]
        if not line.strip() or line.lstrip().startswith("#"):
            i += 1
            continue
        first, text = start + i, line
        while (text.rstrip().endswith(("\\", "|", "&&", "||")) or open_quotes(text)) and i + 1 < len(body):
            i += 1
            text += "\n" + body[i]
        i += 1
        comments = []
        while i < len(body) and body[i].lstrip().startswith("#"):
            comments.append(body[i])
            i += 1
        out.append((first, text, comments))
    return out


def expected(text, comments):
    last = text.rstrip().split("\n")[-1]
    m = STATUS_AFTER_HASH.match(last.split(" #", 1)[1]) if " #" in last else None
    if m:
        return m.group(1)
    for c in comments:
        m = STATUS_IN_PROBLEM.search(c) or STATUS_LEAD.match(c)
        if m:
            return m.group(1)
    return "2xx"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("readme")
    ap.add_argument("--base", required=True)
    ap.add_argument("--local", required=True)
    args = ap.parse_args()
    host = re.sub(r"^https?://", "", args.base).rstrip("/")
    lines = open(args.readme, encoding="utf-8").read().split("\n")
    script = [PRELUDE]
    skipped = []
    for start, body in blocks(lines):
        for line, text, comments in commands(start, body):
            m = SKIP_COMMAND.search(text.split("\n")[0])
            if m:
                skipped.append((line, m.group(1).strip()))
                continue
            exp = expected(text, comments)
            run = text.replace("127.0.0.1:3000", host).replace(".local/", args.local.rstrip("/") + "/")
            run = re.sub(r"(?<![\w./-])curl ", f"EXPECT={exp} LINE={line} curl ", run)
            script.append(f"LINE={line}\n{run}\n" + f'[ $? -eq 0 ] || fail "README line {line}: the command failed"\n')
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WALK_FAILURES=f"{tmp}/failures", WALK_STATUSES=f"{tmp}/statuses")
        path = f"{tmp}/walkthrough.sh"
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(script))
        done = subprocess.run(["bash", path], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        failures = open(env["WALK_FAILURES"]).read().splitlines() if os.path.exists(env["WALK_FAILURES"]) else []
        statuses = open(env["WALK_STATUSES"]).read().splitlines() if os.path.exists(env["WALK_STATUSES"]) else []
    for line, why in skipped:
        print(f"walkthrough: README line {line} not run ({why})")
    print(f"walkthrough: {len(statuses)} requests made, {len(failures)} failures")
    for f in failures:
        print(f"  {f}")
    if failures or done.returncode not in (0,):
        if done.returncode:
            print(done.stderr[-2000:])
        sys.exit(1)


if __name__ == "__main__":
    main()
