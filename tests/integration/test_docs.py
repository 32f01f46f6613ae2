"""The README and docs/ stay true to the tree and the binary: the README is short and current
(≤ 250 lines, no history), every relative link in README.md, docs/ and the module READMEs
resolves, docs/architecture.md's module map has exactly one row per module under src/adsx/,
every command line in the README's sh blocks names a real subcommand or job, only flags its
--help lists, and is run by some test (or the demo), and every subcommand `adsx --help` lists is
documented. Needs no service."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest
from conftest import ADSX_BIN, SOURCE_DIR, run_adsx

README = SOURCE_DIR / "README.md"
DOCS = sorted((SOURCE_DIR / "docs").glob("*.md"))
MODULE_READMES = sorted((SOURCE_DIR / "src" / "adsx").glob("*/README.md"))
HISTORY = ("yesterday", "earlier run", "the day before", "upgrading from", "last week", "a run ago")


def sh_lines(text: str) -> list[str]:
    """Command lines of the ```sh blocks, comments cut, continuations joined."""
    lines, block = [], re.findall(r"```sh\n(.*?)```", text, re.S)
    for b in block:
        joined = b.replace("\\\n", " ")
        for line in joined.splitlines():
            line = re.sub(r"\s+#.*$", "", line).strip()
            if line and not line.startswith("#"):
                lines.append(line)
    return lines


def test_readme_is_short_and_current():
    text = README.read_text()
    assert len(text.splitlines()) <= 250, "README.md is the user's guide: move detail to docs/"
    for word in HISTORY:
        assert word not in text.lower(), f"README.md carries history ('{word}'): docs/ holds it"


@pytest.mark.parametrize(
    "doc", [README, *DOCS, *MODULE_READMES], ids=lambda p: str(p.relative_to(SOURCE_DIR))
)
def test_every_relative_link_resolves(doc):
    text = re.sub(r"```.*?```", "", doc.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue  # a URL (not fetched: CI has no network) or an anchor in the page
        path = (doc.parent / target.split("#")[0]).resolve()
        if not path.is_relative_to(SOURCE_DIR):
            continue  # beside the repository (../shared), not part of a clone
        assert path.exists(), f"{doc.relative_to(SOURCE_DIR)} links to {target}, which is gone"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_each_doc_opens_with_what_it_covers(doc):
    first = doc.read_text().split("\n\n")[1]
    assert first.startswith("What this covers:"), f"{doc.name} should open with what it covers"


def test_module_map_has_one_row_per_module():
    text = (SOURCE_DIR / "docs" / "architecture.md").read_text()
    rows = re.findall(r"^\| `src/adsx/([a-z_]+)/` \|[^|]+\| ([^|]+) \|$", text, re.M)
    mapped = [m for m, _ in rows]
    modules = sorted(p.parent.name for p in (SOURCE_DIR / "src" / "adsx").glob("*/CMakeLists.txt"))
    assert sorted(mapped) == modules, "docs/architecture.md's module map and src/adsx/ differ"
    assert len(mapped) == len(set(mapped))
    for module, links in rows:
        for dep in re.split(r",\s*", links.strip()):
            assert dep == "nothing of ours" or dep in modules, f"{module} links to unknown {dep}"


def help_of(args: list[str]) -> str:
    r = subprocess.run(args + ["--help"], capture_output=True, text=True, timeout=120, check=False,
                       cwd=SOURCE_DIR)  # fmt: skip
    assert r.returncode == 0, f"{' '.join(args)} --help: exit {r.returncode}: {r.stderr[-500:]}"
    return r.stdout


def command_lines() -> list[str]:
    out = []
    for line in sh_lines(README.read_text()):
        line = line.replace("build/release/apps/adsx/adsx", "adsx").split(" | ")[0]
        if line.startswith(("adsx ", ".venv/bin/python -m ")):
            out.append(line)
    return out


@pytest.mark.parametrize("line", command_lines())
def test_readme_commands_use_real_subcommands_and_flags(line):
    tokens = shlex.split(line)
    if tokens[0] == "adsx":
        path = [ADSX_BIN]
        for t in tokens[1:]:
            if t.startswith("-"):
                break
            path.append(t)
        text = help_of(path)
    else:
        text = help_of([sys.executable, "-m", tokens[2]])
        tokens = tokens[3:]
    for t in tokens:
        if t.startswith("-") and len(t) > 1 and t != "-":
            flag = t.split("=")[0]
            assert re.search(rf"(^|[\s,\[]){re.escape(flag)}([\s,=\]]|$)", text, re.M), (
                f"`{line}`: {flag} is not in its --help"
            )


def exercised(line: str, sources: str) -> bool:
    """Whether a test (or the demo) runs this README command: an adsx call naming its subcommands
    in order, or the Python job's module."""
    tokens = shlex.split(line)
    if tokens[0] != "adsx":
        return tokens[2] in sources
    path = []
    for t in tokens[1:]:
        if t.startswith("-"):
            break
        if re.fullmatch(r"[a-z]+", t):
            path.append(t)
    words = path[:2]
    if words and words[0] in ("stream", "serve", "generate"):
        words = words[:1]  # run through helpers (Service, stream_env) as the first word
    pattern = r"[^\n]*".join(f'"{w}"' for w in words)
    return re.search(pattern, sources) is not None or f'adsx" {" ".join(words)}' in sources


@pytest.mark.parametrize("line", command_lines())
def test_every_readme_command_is_run_by_a_test(line):
    sources = (
        "\n".join(
            p.read_text()
            for p in [*SOURCE_DIR.glob("tests/**/*.py"), *SOURCE_DIR.glob("python/tests/*.py")]
        )
        + (SOURCE_DIR / "deploy" / "demo.sh").read_text()
    )
    assert exercised(line, sources), f"no test runs `{line}`"


def test_every_subcommand_is_in_the_readme():
    r = run_adsx("--help")
    assert r.returncode == 0
    listed = re.findall(r"^\s{2}([a-z]+)\s", r.stdout.split("Subcommands:")[-1], re.M)
    assert {"generate", "stream", "serve", "experiment"} <= set(listed), r.stdout
    readme = README.read_text()
    for sub in listed:
        assert f"adsx {sub}" in readme, f"`adsx {sub}` is in adsx --help but not in README.md"
