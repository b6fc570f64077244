"""Every handler (a function a router registers) declares the types of its parameters and its result."""
import ast
from pathlib import Path

ROUTE_DECORATORS = {"command", "text", "any_text", "event", "schedule", "outer_middleware"}


def _routed(fn: ast.AsyncFunctionDef | ast.FunctionDef) -> bool:
    for d in fn.decorator_list:
        target = d.func if isinstance(d, ast.Call) else d
        if isinstance(target, ast.Attribute) and target.attr in ROUTE_DECORATORS:
            return True
    return False


def test_every_handler_is_annotated():
    handlers = Path(__file__).resolve().parent.parent / "handlers"
    missing, seen = [], 0
    for path in sorted(handlers.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and _routed(node):
                seen += 1
                args = node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                bare = [a.arg for a in args if a.annotation is None]
                if bare or node.returns is None:
                    missing.append(f"{path.relative_to(handlers.parent)}:{node.lineno} {node.name} {bare}"
                                   f"{' (no return type)' if node.returns is None else ''}")
    assert seen > 30, "the scan found the handlers"
    assert not missing, "\n".join(missing)
