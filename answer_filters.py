"""Jinja filters and globals that render template answers in the form each file needs.

The rules live in the generated project's scripts/ (answers.py, cluster_facts.py)
so that the project's own tools share them. They are looked up from the current
directory each time, not imported once: cookiecutter keeps an extension module
for the whole process, while cruft renders two revisions of the template in one
process, and each must be rendered with its own rules. Cookiecutter renders
files from inside the project template and hooks from the template root.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

from jinja2 import Environment, pass_context
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment, modifies_known_mutable, safe_range

PROJECT_TEMPLATE_DIR = "{{cookiecutter.project_slug}}"
OFFLINE_ENV = "SLURM_TEMPLATE_OFFLINE"
FILTER_NAMES = (
    "memory_mb",
    "runtime_minutes",
    "snakemake_runtime",
    "slurm_time",
    "walltime_warning_seconds",
    "yaml_quote",
    "shell_quote",
)


def template_scripts_dir() -> str:
    """Absolute path of scripts/ in the project template being rendered."""
    cwd = Path.cwd()
    for candidate in (cwd / "scripts", cwd / PROJECT_TEMPLATE_DIR / "scripts"):
        if (candidate / "answers.py").is_file():
            return str(candidate)
    raise RuntimeError(f"answer rules not found from {cwd}: expected {PROJECT_TEMPLATE_DIR}/scripts/answers.py")


_loaded: dict[tuple[str, int], ModuleType] = {}


def load_rules(name: str) -> ModuleType:
    path = os.path.join(template_scripts_dir(), f"{name}.py")
    key = (path, os.stat(path).st_mtime_ns)
    if key not in _loaded:
        spec = importlib.util.spec_from_file_location(f"template_rules_{name}", path)
        module = importlib.util.module_from_spec(spec)
        # dataclasses look their module up in sys.modules while it executes.
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        _loaded[key] = module
    return _loaded[key]


def _filter(name: str):
    def apply(value):
        return load_rules("answers").RENDER_FILTERS[name](value)

    apply.__name__ = name
    return apply


# One probe of the cluster per generated project: the hooks and every file of a
# bake share the same context dict, and a controller that is down costs a
# timeout per probe.
_facts_by_context: list[tuple[dict, dict]] = []


@pass_context
def cluster_facts(context) -> dict:
    answers = context["cookiecutter"]
    for seen, facts in _facts_by_context:
        if seen is answers:
            return facts
    module = load_rules("cluster_facts")
    if os.environ.get(OFFLINE_ENV):
        facts = module.ClusterFacts(reachable=False, problem=f"{OFFLINE_ENV} is set").to_dict()
    else:
        facts = module.gather().to_dict()
    _facts_by_context[:] = _facts_by_context[-7:] + [(answers, facts)]
    return facts


@pass_context
def status_command(context) -> str:
    """The status command the profile names; 'auto' resolved against the cluster."""
    module = load_rules("cluster_facts")
    facts = module.ClusterFacts.from_dict(cluster_facts(context))
    return module.resolve_status_command(context["cookiecutter"]["status_command"], facts)


# The parts of Jinja's sandbox that decide what a template may touch.
SANDBOX_METHODS = ("getattr", "getitem", "call", "is_safe_callable",
                   "unsafe_undefined", "wrap_str_format", "call_binop", "call_unop")


def is_safe_attribute(environment, obj, attr, value) -> bool:
    """Jinja's immutable sandbox: no Python internals, and no changing of lists and
    dicts, so an answer cannot rewrite the other answers or the template settings."""
    return (SandboxedEnvironment.is_safe_attribute(environment, obj, attr, value)
            and not modifies_known_mutable(obj, attr))


def sandbox(environment: Environment) -> None:
    """Turn cookiecutter's environment into Jinja's sandbox.

    Cookiecutter renders answers given on its command line (--no-input key=value)
    as templates, so an answer such as {{ cycler.__init__.__globals__.os... }}
    would run code before any hook could refuse it, or {{ cookiecutter.update(...) }}
    would rewrite other answers. In the sandbox, Python internals and changes to
    the answers are out of reach and rendering stops with a SecurityError.
    """
    environment.sandboxed = True
    environment.intercepted_binops = SandboxedEnvironment.intercepted_binops
    environment.intercepted_unops = SandboxedEnvironment.intercepted_unops
    environment.binop_table = SandboxedEnvironment.default_binop_table.copy()
    environment.unop_table = SandboxedEnvironment.default_unop_table.copy()
    environment.globals["range"] = safe_range
    for name in SANDBOX_METHODS:
        setattr(environment, name, getattr(SandboxedEnvironment, name).__get__(environment))
    environment.is_safe_attribute = is_safe_attribute.__get__(environment)


class AnswerFilters(Extension):
    def __init__(self, environment: Environment) -> None:
        super().__init__(environment)
        sandbox(environment)
        environment.filters.update({name: _filter(name) for name in FILTER_NAMES})
        environment.globals.update(
            template_scripts_dir=template_scripts_dir,
            cluster_facts=cluster_facts,
            status_command=status_command,
        )
