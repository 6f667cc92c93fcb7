"""The size rule of the lint gate: no function over 40 lines and no file over 300 in the domain library.

Lines are counted as ``ruff format`` leaves them, a function from its ``def`` to its last line
(decorators excluded, docstring included). Prints each offender as ``path:line name: N lines`` and
exits 1 if there is any.
"""

import ast
import sys
from pathlib import Path

MAX_FUNCTION_LINES = 40
MAX_FILE_LINES = 300


def offenders(root: Path) -> list[str]:
    """Every function and file under ``root`` over its limit, one line each."""
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        lines = len(source.splitlines())
        if lines > MAX_FILE_LINES:
            found.append(f"{path}: {lines} lines (limit {MAX_FILE_LINES}; split the module along a seam)")
        for node in ast.walk(ast.parse(source, filename=str(path))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES:
                    found.append(
                        f"{path}:{node.lineno} {node.name}: {length} lines "
                        f"(limit {MAX_FUNCTION_LINES}; split it into named steps)"
                    )
    return found


if __name__ == "__main__":
    found = offenders(Path(sys.argv[1] if len(sys.argv) > 1 else "momentum"))
    print("\n".join(found) or "sizes: every function <= 40 lines, every file <= 300")
    sys.exit(1 if found else 0)
